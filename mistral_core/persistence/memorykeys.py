"""API keys in memory: the twin of :mod:`.sqlkeys`.

Keys are few: a lookup scans them, which keeps rollback trivial.
"""

from __future__ import annotations

from mistral_core.model import ApiKey, Query
from mistral_core.persistence.columns import API_KEYS
from mistral_core.persistence.keys import KEYS_COUNTER, duplicate, missing
from mistral_core.persistence.memorybase import Entry, MemoryBase

_NAME = API_KEYS.index_of("name")
_HASH = API_KEYS.index_of("secret_hash")
_OLDEST_FIRST = Query(sort=(("created_at", "asc"),))


class MemoryKeys(MemoryBase):
    """The API key methods of :class:`~mistral_core.persistence.memory.MemoryStore`
    (:class:`~mistral_core.auth.ports.KeyStore`)."""

    def _key_entry(self, column: int, value: str) -> Entry | None:
        for entry in self._rows[API_KEYS.name].values():
            if entry[1][column] == value:
                return entry
        return None

    def create_api_key(self, key: ApiKey) -> None:
        """Store a new key; DuplicateError if its name (or its secret's hash, or its id) is taken."""
        row = self._codecs[API_KEYS.name].insert_row(key, self._clock.now)
        with self._lock:
            rows = self._rows[API_KEYS.name]
            if self._key_entry(_NAME, key.name) is not None:
                raise duplicate(key, "name")
            if self._key_entry(_HASH, key.secret_hash) is not None:
                raise duplicate(key, "secret")
            if key.id in rows:
                raise duplicate(key, "id")
            self._put(rows, key.id, (next(self._seq), row))

    def get_api_key(self, name: str) -> ApiKey:
        """The key called ``name``; NotFoundError if none."""
        with self._lock:
            entry = self._key_entry(_NAME, name)
        if entry is None:
            raise missing(name)
        found: ApiKey = self._codecs[API_KEYS.name].record(entry[1])
        return found

    def find_api_key(self, secret_hash: str) -> ApiKey | None:
        """The key whose secret has this hash, or None."""
        with self._lock:
            entry = self._key_entry(_HASH, secret_hash)
        if entry is None:
            return None
        found: ApiKey = self._codecs[API_KEYS.name].record(entry[1])
        return found

    def list_api_keys(self) -> list[ApiKey]:
        """Every key, oldest first."""
        keys: list[ApiKey] = self._list(API_KEYS, _OLDEST_FIRST)
        return keys

    def revoke_api_key(self, name: str) -> ApiKey:
        """Revoke the key (once: a second revocation changes nothing) and bump the keys' version."""
        with self.atomic():
            entry = self._key_entry(_NAME, name)
            if entry is None:
                raise missing(name)
            key: ApiKey = self._codecs[API_KEYS.name].record(entry[1])
            if key.revoked_at is None:
                now = self._clock.now()
                self._write(API_KEYS, entry, ("revoked_at", "updated_at"), (now, now))
                self._put(self._counters, KEYS_COUNTER, self._counters.get(KEYS_COUNTER, 0) + 1)
            return self.get_api_key(name)

    def touch_api_key(self, key_id: str) -> None:
        """Set ``last_used_at`` to now (an unknown id is ignored)."""
        with self._lock:
            entry = self._rows[API_KEYS.name].get(key_id)
            if entry is not None:
                self._write(API_KEYS, entry, ("last_used_at",), (self._clock.now(),))

    def keys_version(self) -> int:
        """How many times a key was revoked (0: never)."""
        with self._lock:
            return int(self._counters.get(KEYS_COUNTER, 0))
