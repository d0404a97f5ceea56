"""API keys, what both stores share: the counter's name and the errors' messages."""

from __future__ import annotations

from mistral_core.errors import DuplicateError, NotFoundError
from mistral_core.model import ApiKey

#: The counter (``counters`` table) bumped whenever a key is revoked.
KEYS_COUNTER = "keys"


def duplicate(key: ApiKey, what: str) -> DuplicateError:
    """The error of creating ``key`` when its ``what`` (``name``, ``id``, ``secret``) is taken."""
    if what == "name":
        return DuplicateError(f"ApiKey '{key.name}' already exists (revoked keys keep their names)")
    return DuplicateError(f"ApiKey with this {what} already exists")


def missing(name: str) -> NotFoundError:
    """The error of looking up a key that does not exist."""
    return NotFoundError(f"ApiKey not found [name={name}]")
