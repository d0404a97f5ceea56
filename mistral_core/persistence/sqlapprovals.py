"""Approval responses and server secrets in SQL: ``approval_responses`` and ``server_secrets``."""

from __future__ import annotations

from collections.abc import Callable

from mistral_core.errors import StoreError
from mistral_core.model import ApprovalResponse, ServerSecret
from mistral_core.persistence.approvals import answered
from mistral_core.persistence.columns import APPROVAL_RESPONSES, SERVER_SECRETS
from mistral_core.persistence.dialects import IntegrityFailure
from mistral_core.persistence.sqlbase import SqlBase
from mistral_core.persistence.sqlquery import quote, select_list


class SqlApprovals(SqlBase):
    """The approval methods of :class:`~mistral_core.persistence.sql.SqlStore`
    (:class:`~mistral_core.approvals.ports.ApprovalStore`)."""

    def _statement_texts(self) -> dict[str, str]:
        sql = super()._statement_texts()
        responses = quote(APPROVAL_RESPONSES.name)
        sql["responses of"] = (
            f'SELECT {select_list(APPROVAL_RESPONSES)} FROM {responses} WHERE "action_execution_id" = ? '
            'ORDER BY "seq"'
        )
        secrets = quote(SERVER_SECRETS.name)
        names = ", ".join(quote(name) for name in SERVER_SECRETS.names)
        sql["secret"] = f'SELECT {select_list(SERVER_SECRETS)} FROM {secrets} WHERE "id" = ?'
        sql["keep secret"] = (
            f"INSERT INTO {secrets} ({names}) VALUES ({', '.join('?' for _ in SERVER_SECRETS.names)}) "
            'ON CONFLICT ("id") DO NOTHING'
        )
        return sql

    def add_approval_response(self, response: ApprovalResponse) -> None:
        """Keep an answer; DuplicateError if this responder answered this wait already."""
        row = self._codecs[APPROVAL_RESPONSES.name].insert_row(response, self._clock.now)
        with self._writing():
            try:
                self._execute(self._sql[f"insert {APPROVAL_RESPONSES.name}"], row)
            except IntegrityFailure as exc:
                raise answered(response) from exc

    def approval_responses_of(self, action_ex_id: str) -> list[ApprovalResponse]:
        """The answers to one wait, in the order they were kept."""
        codec = self._codecs[APPROVAL_RESPONSES.name]
        return [codec.record(row) for row in self._all(self._sql["responses of"], (action_ex_id,))]

    def server_secret(self, name: str, make: Callable[[], str]) -> str:
        """The secret called ``name``, made by ``make()`` and kept the first time it is asked for
        (two processes asking at once keep the same one: the first insert wins)."""
        row = self._one(self._sql["secret"], (name,))
        if row is None:
            made = self._codecs[SERVER_SECRETS.name].insert_row(ServerSecret(name, make()), self._clock.now)
            with self._writing():
                self._execute(self._sql["keep secret"], made)
            row = self._one(self._sql["secret"], (name,))
            if row is None:  # pragma: no cover - the insert above or another one is committed
                raise StoreError(f"server secret {name!r} could not be kept")
        secret: ServerSecret = self._codecs[SERVER_SECRETS.name].record(row)
        return secret.value
