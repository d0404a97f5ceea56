"""API keys in SQL: the ``api_keys`` table and the ``keys`` counter.

:meth:`SqlKeys.find_api_key` runs on every request a server has not cached the key of: one
prepared statement over the unique index of ``secret_hash``.
"""

from __future__ import annotations

from mistral_core.model import ApiKey, Query
from mistral_core.persistence.columns import API_KEYS
from mistral_core.persistence.dialects import IntegrityFailure
from mistral_core.persistence.keys import KEYS_COUNTER, duplicate, missing
from mistral_core.persistence.sqlbase import SqlBase
from mistral_core.persistence.sqlquery import quote, select_list

_OLDEST_FIRST = Query(sort=(("created_at", "asc"),))


class SqlKeys(SqlBase):
    """The API key methods of :class:`~mistral_core.persistence.sql.SqlStore`
    (:class:`~mistral_core.auth.ports.KeyStore`)."""

    def _statement_texts(self) -> dict[str, str]:
        sql = super()._statement_texts()
        table, columns = quote(API_KEYS.name), select_list(API_KEYS)
        sql["key by name"] = f'SELECT {columns} FROM {table} WHERE "name" = ?'
        sql["key by hash"] = f'SELECT {columns} FROM {table} WHERE "secret_hash" = ?'
        sql["revoke key"] = (
            f'UPDATE {table} SET "revoked_at" = ?, "updated_at" = ? WHERE "name" = ? AND "revoked_at" IS NULL'
        )
        sql["touch key"] = f'UPDATE {table} SET "last_used_at" = ? WHERE "id" = ?'
        sql["keys version"] = f'SELECT "value" FROM "counters" WHERE "name" = \'{KEYS_COUNTER}\''
        sql["bump keys version"] = (
            f'INSERT INTO "counters" ("name", "value") VALUES (\'{KEYS_COUNTER}\', 1) '
            'ON CONFLICT ("name") DO UPDATE SET "value" = "counters"."value" + 1'
        )
        return sql

    def _now_param(self) -> object:
        """Now, as this backend stores a time."""
        return self._dialect.param(API_KEYS.columns[API_KEYS.index_of("created_at")], self._clock.now())

    def create_api_key(self, key: ApiKey) -> None:
        """Store a new key; DuplicateError if its name (or its secret's hash, or its id) is taken."""
        row = self._codecs[API_KEYS.name].insert_row(key, self._clock.now)
        with self._writing():
            if self._one(self._sql["key by name"], (key.name,)) is not None:
                raise duplicate(key, "name")
            try:
                self._execute(self._sql[f"insert {API_KEYS.name}"], row)
            except IntegrityFailure as exc:  # a race on the name, or a taken hash or id
                taken = self._one(self._sql["key by name"], (key.name,)) is not None
                raise duplicate(key, "name" if taken else "secret") from exc

    def get_api_key(self, name: str) -> ApiKey:
        """The key called ``name``; NotFoundError if none."""
        row = self._one(self._sql["key by name"], (name,))
        if row is None:
            raise missing(name)
        key: ApiKey = self._codecs[API_KEYS.name].record(row)
        return key

    def find_api_key(self, secret_hash: str) -> ApiKey | None:
        """The key whose secret has this hash, or None."""
        row = self._one(self._sql["key by hash"], (secret_hash,))
        if row is None:
            return None
        key: ApiKey = self._codecs[API_KEYS.name].record(row)
        return key

    def list_api_keys(self) -> list[ApiKey]:
        """Every key, oldest first."""
        keys: list[ApiKey] = self._list(API_KEYS, _OLDEST_FIRST)
        return keys

    def revoke_api_key(self, name: str) -> ApiKey:
        """Revoke the key (once: a second revocation changes nothing) and bump the keys' version."""
        now = self._now_param()
        with self.atomic():
            if self._write(self._sql["revoke key"], (now, now, name)):
                self._write(self._sql["bump keys version"], ())
            return self.get_api_key(name)

    def touch_api_key(self, key_id: str) -> None:
        """Set ``last_used_at`` to now (an unknown id is ignored). One statement, committed at once."""
        with self._writing():
            self._write(self._sql["touch key"], (self._now_param(), key_id))

    def keys_version(self) -> int:
        """How many times a key was revoked (0: never). One indexed row: cheap to ask."""
        row = self._one(self._sql["keys version"], ())
        return 0 if row is None else int(row[0])
