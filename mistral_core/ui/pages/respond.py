"""``/ui/respond/{action_ex_id}?exp=...&sig=...``: the page of one wait.

``GET`` shows the approval (title, description, the form, one button per option, the answers so
far, or how it ended) and changes nothing: a mail scanner fetching the link approves nothing.
Only the page's ``POST`` answers, with the page's CSRF token (an HMAC of the wait, the link's
expiry and the viewer: a form of another site cannot carry it, and the browser-origin guard
refuses cross-site writes before they reach here). After a POST the browser is sent back to the
page (303), which shows the answer kept.
"""

from __future__ import annotations

from typing import Any

import falcon

from mistral_core.approvals.links import LinkExpired
from mistral_core.approvals.request import form_errors
from mistral_core.approvals.service import FormInvalid, Responder, Wait
from mistral_core.auth.identity import Identity
from mistral_core.errors import ConflictError, Forbidden, InputError, MistralError
from mistral_core.ui.context import UiContext
from mistral_core.ui.forms import choice_label, fields_of, posted_texts, values_of
from mistral_core.ui.pages.common import posted
from mistral_core.ui.render import page, see_other
from mistral_core.ui.session import login_url

CSRF = "csrf"
#: The key of the error of the responder's name (not a field of the form: no schema property has it).
NAME_ERROR = "@name"


class RespondPage:
    """The page of one wait (its signed URL is its credential)."""

    def __init__(self, ctx: UiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, action_ex_id: str) -> None:
        """Show the wait; change nothing."""
        exp = self._check(req, action_ex_id)
        wait = self._ctx.human.approvals.wait(action_ex_id)
        self._show(req, resp, wait, exp)

    def on_post(self, req: falcon.Request, resp: falcon.Response, action_ex_id: str) -> None:
        """Answer the wait: 303 back to the page, or the page again with what was wrong."""
        exp = self._check(req, action_ex_id)
        approvals = self._ctx.human.approvals
        wait = approvals.wait(action_ex_id)
        form = posted(req)
        viewer = self._ctx.viewer(req)
        token = form.get(CSRF, "")
        if len(token) > 64 or not self._ctx.human.signer.valid(
            token, CSRF, *_bound(action_ex_id, exp, viewer)
        ):
            raise Forbidden("This form is out of date or was not sent from its page: reload the page")
        if viewer is None:
            raise Forbidden("Sign in to answer")
        fields = fields_of(wait.request.form)
        values, errors = values_of(fields, form)
        for name, why in form_errors(wait.request, values).items():
            errors.setdefault(name, why)
        if not self._ctx.auth_on and not form.get("name", "").strip():
            errors[NAME_ERROR] = "Enter your name (your answer is recorded under it)"
        problem: MistralError | None = None
        if not errors:
            try:
                approvals.respond(
                    action_ex_id,
                    _responder(self._ctx, viewer, form, req.remote_addr),
                    form.get("decision", ""),
                    values,
                )
            except FormInvalid as exc:
                errors = exc.errors
            except (ConflictError, Forbidden, InputError) as exc:
                problem = exc
        if errors or problem is not None:
            status = (
                409 if isinstance(problem, ConflictError) else 403 if isinstance(problem, Forbidden) else 400
            )
            wait = approvals.wait(action_ex_id)
            self._show(req, resp, wait, exp, status, errors, problem, posted_texts(fields, form), form)
            return
        see_other(resp, req.relative_uri)

    def _check(self, req: falcon.Request, action_ex_id: str) -> int:
        return self._ctx.human.links.check(action_ex_id, req.get_param("exp"), req.get_param("sig"))

    def _show(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        wait: Wait,
        exp: int,
        status: int = 200,
        errors: dict[str, str] | None = None,
        problem: MistralError | None = None,
        texts: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> None:
        viewer = self._ctx.viewer(req)
        request = wait.request
        answered = (
            viewer is not None
            and self._ctx.auth_on
            and any(r.responder == viewer.name for r in wait.responses)
        )
        may = viewer is not None and _responder(self._ctx, viewer, {}, req.remote_addr).may_answer(request)
        page(
            resp,
            "respond.html",
            status,
            title=request.title,
            wait=wait,
            request=request,
            fields=fields_of(request.form),
            choice_label=choice_label,
            texts=texts or {},
            errors=errors or {},
            problem=problem.message if problem is not None else None,
            viewer=viewer,
            auth_on=self._ctx.auth_on,
            can_answer=wait.open and may and not answered,
            answered=answered,
            refused=wait.open and viewer is not None and not may,
            sign_in=login_url(req.relative_uri) if viewer is None else None,
            action=req.relative_uri,
            csrf=self._ctx.human.signer.sign(CSRF, *_bound(wait.action_ex.id, exp, viewer)),
            typed_name=(form or {}).get("name", ""),
            ended=_ended(wait),
        )


def _bound(action_ex_id: str, exp: int, viewer: Identity | None) -> tuple[str, str, str]:
    """What the CSRF token of a page is bound to: the wait, the link's expiry, the viewer."""
    return action_ex_id, str(exp), viewer.name if viewer is not None else ""


def _responder(ctx: UiContext, viewer: Identity, form: dict[str, str], remote_addr: str) -> Responder:
    if ctx.auth_on:
        role = viewer.role.name.lower()
        return Responder(viewer.name, viewer.via, role, viewer.groups, checked=True, remote_addr=remote_addr)
    return Responder(form.get("name", "").strip(), "name", remote_addr=remote_addr)


def _ended(wait: Wait) -> dict[str, Any] | None:
    """How a wait that is over ended (None: it is open)."""
    if wait.open:
        return None
    result = wait.result
    if result is not None:
        return {"decision": result.get("decision"), "responders": result.get("responders") or []}
    return {"state": wait.action_ex.state.value, "info": wait.action_ex.state_info or ""}


__all__ = ["LinkExpired", "RespondPage"]
