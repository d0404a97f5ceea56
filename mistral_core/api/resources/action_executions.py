"""``/v2/action_executions``: list, get, the result push, its history and the callback token.

The push is ``PUT /v2/action_executions/<id>``; ``POST`` and the seed's spelling
``/v2/action-executions/<id>`` are accepted too. Every push is recorded in the action
execution's history (``GET /v2/action_executions/<id>/history``) with who sent it and from
where. ``DELETE /v2/action_executions/<id>/token`` revokes the action's callback token.

What a callback token (its own action execution's) may do here, besides what the policy says:
read its action execution while it is not finished; push a result (``SUCCESS``, ``ERROR``,
``CANCELLED``), never pause or resume it. Once the action execution has finished, only the push
of the same result again is answered 200 (a different one gets 409, as anyone's would).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import (
    NOT_JSON,
    optional_string,
    parse_json,
    read_body,
    read_json_object,
    write_json,
)
from mistral_core.api.projects import check_visible, viewer_of
from mistral_core.api.resources.common import list_view, page_document, projected
from mistral_core.auth.identity import Identity, Role
from mistral_core.auth.middleware import identity_of
from mistral_core.errors import Forbidden, InputError
from mistral_core.model import ActionExecution, PushOrigin, State
from mistral_core.model.states import PUTTABLE_ACTION_STATES, RESULT_STATES, is_action_finished

LISTING = q.Listing(
    fields=ser.ACTION_EXECUTION.names,
    columns={
        "id": q.text,
        "workflow_name": q.text,
        "workflow_namespace": q.text,
        "task_name": q.text,
        "task_execution_id": q.text,
        "state": q.state,
        "state_info": q.text,
        "tags": q.tag_list,
        "name": q.text,
        "description": q.text,
        "project_id": q.text,
        "accepted": q.boolean,
        "created_at": q.timestamp,
        "updated_at": q.timestamp,
    },
    flags=frozenset({"include_output"}),
)

_PUTTABLE = {state.value: state for state in PUTTABLE_ACTION_STATES}
_EXPECTED_STATES = f"Error. Expected one of {[state.value for state in PUTTABLE_ACTION_STATES]}, actual: "


def listed_view(listed: q.ListRequest) -> ser.View[ActionExecution]:
    """The default view of a list of action executions (``include_output=true`` adds ``output``)."""
    return ser.ACTION_EXECUTION if listed.flag("include_output") else ser.ACTION_EXECUTION_LISTED


def parse_update(body: Mapping[str, Any]) -> tuple[State, Any]:
    """``(state, output)`` of a ``PUT /v2/action_executions/<id>`` body.

    ``state`` must be one of SUCCESS, ERROR, CANCELLED, PAUSED, RUNNING (case-sensitive).
    ``output`` may be any JSON value; a string that holds a JSON object is taken as
    that object (as Mistral does); any other string stays a string. Without ``output`` (or with
    ``null``) a SUCCESS stores ``{}``, and an ERROR without one (or with ``{}``) the error
    ``"Unknown error"``, as Mistral 23 stores them.

    Raises:
        InputError: a missing or unknown state (Mistral's message).
    """
    raw_state = body.get("state")
    state = _PUTTABLE.get(raw_state) if isinstance(raw_state, str) else None
    if state is None:
        raise InputError(_EXPECTED_STATES + ("Unset" if raw_state is None else str(raw_state)))
    output = _output(body.get("output"))
    if state is State.SUCCESS and output is None:
        output = {}
    elif state is State.ERROR and output in (None, {}):
        output = "Unknown error"
    return state, output


def origin_of(req: falcon.Request, identity: Identity) -> PushOrigin:
    """Who sent a push (``Identity.by``) and from where (the connection's peer address)."""
    return PushOrigin(identity.by, req.remote_addr)


def _json_object(body: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A field that is an object or a JSON string of one (as the CLI sends it); ``{}`` if absent."""
    value = body.get(name)
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = parse_json(value, f"'{name}' must be a JSON object")
    if not isinstance(value, dict):
        raise InputError(f"'{name}' must be a JSON object, not {type(value).__name__}")
    return value


def _flag(params: Mapping[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise InputError(f"params.{name} must be true or false, not {value!r}")
    return value


def _output(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = parse_json(value, "not JSON")
        except InputError:  # not a JSON object we could store: the string itself is the output
            return value
        if isinstance(parsed, dict):
            return parsed
    return value


class ActionExecutionCollection:
    """``GET /v2/action_executions``, and ``POST`` to run an action outside any workflow."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/action_executions")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List action executions (without ``output`` unless ``include_output=true``)."""
        listed = LISTING.parse(req.params, self._url, viewer_of(req))
        view = list_view(listed, listed_view(listed), ser.ACTION_EXECUTION)
        action_exs = self._ctx.engine.store.list_action_executions(projected(listed.query, view))
        write_json(resp, page_document("action_executions", action_exs, listed, view, view))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Run an action (``mistral run-action``): 201 with the action execution and its output."""
        body = read_json_object(req, self._ctx.max_body_bytes)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InputError("'name' (the action to run) is required and must be a string")
        params = _json_object(body, "params")
        action_ex = self._ctx.engine.action_runs.run(
            name,
            _json_object(body, "input"),
            save_result=_flag(params, "save_result"),
            run_sync=params.get("run_sync") if isinstance(params.get("run_sync"), bool) else None,
            description=optional_string(body, "description") or "",
            project=viewer_of(req).project,
        )
        write_json(resp, ser.ACTION_EXECUTION.render(action_ex), falcon.HTTP_201)


class ActionExecutionItem:
    """``GET``, ``PUT``, ``POST`` and ``DELETE /v2/action_executions/{id}`` (and
    ``/v2/action-executions/{id}``)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, action_ex_id: str) -> None:
        """One action execution, with its ``output`` (403 to its callback token once it finished); a
        waiting approval shows operators the signed link of its page: ``"links": {"respond": URL}``."""
        action_ex = self._ctx.engine.store.get_action_execution(action_ex_id, viewer_of(req))
        identity = identity_of(req)
        if identity.is_callback and is_action_finished(action_ex.state):
            raise Forbidden(
                f"Action execution {action_ex_id} is {action_ex.state.value}: its callback token may "
                "only push the same result again"
            )
        document = ser.ACTION_EXECUTION.render(action_ex)
        human = self._ctx.human
        if (
            human is not None
            and action_ex.state is State.RUNNING
            and identity.role >= Role.OPERATOR
            and not identity.is_callback
            and human.approvals.is_human_wait(action_ex)
        ):
            document["links"] = {"respond": human.links.url(action_ex)}
        write_json(resp, document)

    def on_put(self, req: falcon.Request, resp: falcon.Response, action_ex_id: str) -> None:
        """Deliver a result (SUCCESS/ERROR/CANCELLED) or pause/resume (PAUSED/RUNNING): 200."""
        identity = identity_of(req)
        origin = origin_of(req, identity)
        state, output = parse_update(read_json_object(req, self._ctx.max_body_bytes))
        engine = self._ctx.engine
        check_visible(viewer_of(req), engine.store.get_action_execution, action_ex_id)
        if state in RESULT_STATES:
            action_ex = engine.results.complete(action_ex_id, state, output, origin)
        elif identity.is_callback:
            reason = f"A callback token pushes its action's result only; it cannot set it {state.value}"
            engine.history.reject(action_ex_id, state, origin, reason)
            raise Forbidden(reason)
        else:
            action_ex = engine.results.set_state(action_ex_id, state, origin)
        write_json(resp, ser.ACTION_EXECUTION.render(action_ex))

    on_post = on_put

    def on_delete(self, req: falcon.Request, resp: falcon.Response, action_ex_id: str) -> None:
        """Delete a finished action execution run outside any workflow (``mistral
        action-execution-delete``): 204; 403 unless the setting allow_action_execution_deletion is on."""
        if not self._ctx.options.allow_action_execution_deletion:
            raise Forbidden("Action execution deletion is not allowed.")
        engine = self._ctx.engine
        check_visible(viewer_of(req), engine.store.get_action_execution, action_ex_id)
        engine.action_runs.delete(action_ex_id)
        resp.status = falcon.HTTP_204


class ActionExecutionHeartbeat:
    """``POST /v2/action_executions/{id}/heartbeat`` (and ``/v2/action-executions/{id}/heartbeat``)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response, action_ex_id: str) -> None:
        """A RUNNING async action's third party is alive: progress, ``extend_by``; 200 with the action."""
        heartbeats = self._ctx.engine.heartbeats
        check_visible(viewer_of(req), self._ctx.engine.store.get_action_execution, action_ex_id)
        raw = read_body(req, self._ctx.max_body_bytes)
        heartbeat = heartbeats.check(parse_json(raw, NOT_JSON) if raw.strip() else {})
        write_json(resp, ser.ACTION_EXECUTION.render(heartbeats.beat(action_ex_id, heartbeat)))


class ActionExecutionHistory:
    """``GET /v2/action_executions/{id}/history``: every push and state change asked of it."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, action_ex_id: str) -> None:
        """``{"history": [...]}``, oldest entry first (404 for an unknown action execution)."""
        check_visible(viewer_of(req), self._ctx.engine.store.get_action_execution, action_ex_id)
        _, entries = self._ctx.engine.history.of(action_ex_id)
        write_json(resp, {"history": ser.HISTORY_ENTRY.render_all(entries)})


class ActionExecutionToken:
    """``DELETE /v2/action_executions/{id}/token``: revoke the action's callback token."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_delete(self, req: falcon.Request, resp: falcon.Response, action_ex_id: str) -> None:
        """204: the token is refused from now on (also when it had expired, or there was none)."""
        check_visible(viewer_of(req), self._ctx.engine.store.get_action_execution, action_ex_id)
        self._ctx.engine.callback_tokens.revoke(action_ex_id, identity_of(req).by)
        resp.status = falcon.HTTP_204
