"""What authentication needs from storage: :class:`KeyStore`.

Kept beside the authenticators rather than in :mod:`mistral_core.engine.ports`: the engine never
reads keys. Both stores (:class:`~mistral_core.persistence.MemoryStore` and
:class:`~mistral_core.persistence.SqlStore`) provide it, tested by one contract suite
(``tests/contract/test_api_keys.py``).
"""

from __future__ import annotations

from typing import Protocol

from mistral_core.model import ApiKey


class KeyStore(Protocol):
    """Durable storage of API keys (the secrets' hashes only).

    Every method may raise :class:`~mistral_core.errors.StoreError` when the database fails.
    """

    def create_api_key(self, key: ApiKey) -> None:
        """Store a new key.

        Raises:
            DuplicateError: the name (or, by a freak, the secret's hash) is taken, by a revoked key too.
        """
        ...

    def get_api_key(self, name: str) -> ApiKey:
        """The key called ``name``.

        Raises:
            NotFoundError: ``ApiKey not found [name=...]``.
        """
        ...

    def find_api_key(self, secret_hash: str) -> ApiKey | None:
        """The key whose secret has this hash (revoked or not), or None. One indexed lookup."""
        ...

    def list_api_keys(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        ...

    def revoke_api_key(self, name: str) -> ApiKey:
        """Revoke the key called ``name`` (already revoked: left as it is) and bump
        :meth:`keys_version`, in one transaction; the key as it is now.

        Raises:
            NotFoundError: no key has that name.
        """
        ...

    def touch_api_key(self, key_id: str) -> None:
        """Record that the key was used now (``last_used_at``; nothing else changes)."""
        ...

    def keys_version(self) -> int:
        """A number that changes whenever a key is revoked (0: never): one indexed row, cheap."""
        ...
