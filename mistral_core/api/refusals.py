"""Pushes refused at the door (401, 403) still enter the history of the action execution.

The authentication middleware tells :class:`PushRefusals` of every request it refuses; a
refused ``PUT``/``POST /v2/action_executions/<id>`` (either spelling) is recorded as
``rejected`` in that action execution's history when the caller is known: an identity whose
role or scope does not allow the push (a reader's key, the callback token of another action
execution), or this action execution's own callback token once expired or revoked. A secret
nobody knows proves nothing about who sent it: such refusals are not recorded (the table would
grow with every stranger's request).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon

from mistral_core.api.media import read_json_object
from mistral_core.auth.callbacks import CALLBACK_NAME, CallbackTokenRefused
from mistral_core.auth.identity import Identity
from mistral_core.errors import Forbidden, InputError, Unauthenticated
from mistral_core.model import PushOrigin
from mistral_core.model.states import PUTTABLE_ACTION_STATES
from mistral_core.services.engine import Engine

#: The routes and methods that push an action execution's result or state.
PUSH_ROUTES = frozenset(
    (path, method)
    for path in ("/v2/action_executions/{action_ex_id}", "/v2/action-executions/{action_ex_id}")
    for method in ("PUT", "POST")
)
_STATES = frozenset(state.value for state in PUTTABLE_ACTION_STATES)


class PushRefusals:
    """Records refused pushes (a :class:`~mistral_core.auth.middleware.RefusalListener`).

    Args:
        engine: whose history is written.
        max_body_bytes: the largest body read to find the state the push asked for.
    """

    def __init__(self, engine: Engine, max_body_bytes: int) -> None:
        self._engine = engine
        self._max_body_bytes = max_body_bytes

    def __call__(
        self,
        req: falcon.Request,
        params: Mapping[str, Any],
        identity: Identity | None,
        error: Unauthenticated | Forbidden,
    ) -> None:
        """Record the refusal if it is a push by a known caller."""
        action_ex_id = params.get("action_ex_id")
        if (req.uri_template, req.method) not in PUSH_ROUTES or not isinstance(action_ex_id, str):
            return
        if identity is not None:
            by = identity.by
        elif isinstance(error, CallbackTokenRefused) and error.action_execution_id == action_ex_id:
            by = CALLBACK_NAME
        else:
            return
        origin = PushOrigin(by, req.remote_addr)
        self._engine.history.reject(action_ex_id, self._asked_state(req), origin, error.message)

    def _asked_state(self, req: falcon.Request) -> str | None:
        """The state the refused push asked for, if its body names a known one."""
        try:
            state = read_json_object(req, self._max_body_bytes).get("state")
        except (InputError, falcon.HTTPError):
            return None
        return state if isinstance(state, str) and state in _STATES else None
