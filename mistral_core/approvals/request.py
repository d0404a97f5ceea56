"""What an approval asks, and how its answers decide it. Pure: no I/O.

An approval's input (``std.approval``): ``title``, ``description`` (Markdown), ``form`` (a JSON
Schema of an object, optional), ``options`` (default ``["approve", "reject"]``), ``assignees``
(key names, roles or OIDC subjects and groups; empty: any operator), ``required_approvals``
(default 1).

The *approving* option is ``"approve"`` when it is one of the options, else the first option.
Answers are taken in the order they were kept: the first answer with any other option decides at
once; the approving option decides when ``required_approvals`` distinct responders chose it. The
result is ``{"decision", "values", "responders": [{"by", "at", "decision"}]}``: ``values`` are the
deciding answer's form values, ``responders`` every answer up to the deciding one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema
import jsonschema.exceptions

from mistral_core.errors import InputError
from mistral_core.lang import schemas
from mistral_core.model import ApprovalResponse

DEFAULT_OPTIONS = ("approve", "reject")
APPROVE = "approve"
#: Bounds of what one approval may ask (a page must stay a page).
MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_OPTIONS = 10
MAX_OPTION = 40
MAX_ASSIGNEES = 100
MAX_APPROVALS = 100
#: The longest message of one field's error shown on the page.
MAX_ERROR = 200


@dataclasses.dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """An approval's input, checked."""

    title: str
    description: str = ""
    form: Mapping[str, Any] | None = None
    options: tuple[str, ...] = DEFAULT_OPTIONS
    assignees: tuple[str, ...] = ()
    required_approvals: int = 1

    @property
    def approving(self) -> str:
        """The option that needs the quorum: ``approve`` if offered, else the first."""
        return APPROVE if APPROVE in self.options else self.options[0]


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """How a wait was decided: the option, the deciding answer's values, the answers up to it."""

    decision: str
    values: Mapping[str, Any]
    responders: tuple[ApprovalResponse, ...]

    def result(self) -> dict[str, Any]:
        """The action's result."""
        return {
            "decision": self.decision,
            "values": dict(self.values),
            "responders": [
                {"by": r.responder, "at": _iso(r), "decision": r.decision} for r in self.responders
            ],
        }


def _iso(response: ApprovalResponse) -> str | None:
    at = response.created_at
    return None if at is None else at.isoformat(timespec="microseconds") + "Z"


def parse(given: Mapping[str, Any]) -> ApprovalRequest:
    """The request an approval's input makes.

    Raises:
        InputError: a field missing, of the wrong type or out of bounds (one line naming it).
    """
    unknown = sorted(set(given) - {f.name for f in dataclasses.fields(ApprovalRequest)})
    if unknown:
        raise InputError(f"std.approval takes no {', '.join(map(repr, unknown))}")
    return ApprovalRequest(
        title=_text(given.get("title"), "title", MAX_TITLE, required=True),
        description=_text(given.get("description"), "description", MAX_DESCRIPTION),
        form=_form(given.get("form")),
        options=_names(given.get("options"), "options", MAX_OPTIONS, DEFAULT_OPTIONS),
        assignees=_names(given.get("assignees"), "assignees", MAX_ASSIGNEES, ()),
        required_approvals=_count(given.get("required_approvals", 1)),
    )


def _text(value: Any, name: str, limit: int, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InputError(f"std.approval: '{name}' must be {'non-empty ' if required else ''}text")
    if len(value) > limit:
        raise InputError(f"std.approval: '{name}' is longer than {limit} characters")
    return value


def _names(value: Any, name: str, limit: int, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return default
    if (
        not isinstance(value, list | tuple)
        or not all(isinstance(v, str) and v.strip() and len(v) <= MAX_OPTION * 4 for v in value)
        or len(value) > limit
    ):
        raise InputError(f"std.approval: '{name}' must be a list of at most {limit} non-empty strings")
    names = tuple(dict.fromkeys(v.strip() for v in value))
    if name == "options":
        if not names:
            raise InputError("std.approval: 'options' must name at least one option")
        if any(len(v) > MAX_OPTION for v in names):
            raise InputError(f"std.approval: an option is longer than {MAX_OPTION} characters")
    return names


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_APPROVALS:
        raise InputError(
            f"std.approval: 'required_approvals' must be a whole number from 1 to {MAX_APPROVALS}"
        )
    return value


def _form(value: Any) -> Mapping[str, Any] | None:
    if value is None or value == {}:
        return None
    if not isinstance(value, Mapping):
        raise InputError("std.approval: 'form' must be a JSON Schema (an object)")
    problem = schemas.schema_problem(value)
    if problem is not None:
        raise InputError(f"std.approval: 'form' is {_short(problem)}")
    if value.get("type", "object") != "object":
        raise InputError("std.approval: 'form' must describe an object (type: object)")
    return value


def form_errors(request: ApprovalRequest, values: Mapping[str, Any]) -> dict[str, str]:
    """Why ``values`` do not fit the form: ``{field: message}`` (``""``: the form as a whole).

    Empty when they fit (or there is no form).
    """
    if not request.form:
        return {}
    validator = schemas.validator(request.form)
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(dict(values)), key=lambda e: list(e.absolute_path)):
        field = _field_of(error)
        errors.setdefault(
            field,
            "This field is required" if field and error.validator == "required" else _short(error.message),
        )
    return errors


def _field_of(error: jsonschema.exceptions.ValidationError) -> str:
    """The top-level field an error is about (a missing required property names itself)."""
    if error.absolute_path:
        return str(error.absolute_path[0])
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            return str(missing[0])
    return ""


def _short(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= MAX_ERROR else line[: MAX_ERROR - 3] + "..."


def decide(request: ApprovalRequest, responses: Sequence[ApprovalResponse]) -> Decision | None:
    """The decision the answers (in the order kept) make, or None while they make none."""
    # Every answer before the deciding one chose the approving option: the position counts them.
    for position, response in enumerate(responses, 1):
        if response.decision != request.approving or position >= request.required_approvals:
            return Decision(response.decision, response.values, tuple(responses[:position]))
    return None


def may_answer(request: ApprovalRequest, name: str, role: str, groups: Sequence[str], operator: bool) -> bool:
    """Whether an identity may answer: named among the assignees (by name, role or group), or, when
    there are none, any operator (``operator``: its role is operator or admin)."""
    if not request.assignees:
        return operator
    return bool({name, role, *groups} & set(request.assignees))
