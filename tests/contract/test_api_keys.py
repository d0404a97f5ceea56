"""API keys in every store: unique names, found by the hash of their secret, revoked once, counted."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from typing import Any

import pytest

from mistral_core.auth.credentials import KEY_PREFIX, digest, mint
from mistral_core.auth.ports import KeyStore
from mistral_core.errors import DuplicateError, NotFoundError
from mistral_core.model import ApiKey


def key(name: str = "ci", **fields: Any) -> ApiKey:
    """A key record of a fresh secret."""
    base = ApiKey(id=str(uuid.uuid4()), name=name, role="operator", secret_hash=digest(mint(KEY_PREFIX)))
    return dataclasses.replace(base, **fields)


def test_a_key_is_stored_and_found_by_name_and_by_the_hash_of_its_secret(store: KeyStore) -> None:
    made = key(project_id="team-a")
    store.create_api_key(made)

    by_name = store.get_api_key("ci")
    assert by_name == dataclasses.replace(made, created_at=by_name.created_at)
    assert isinstance(by_name.created_at, dt.datetime)
    assert store.find_api_key(made.secret_hash) == by_name
    assert store.find_api_key(digest("mck_unknown")) is None
    assert not by_name.revoked and by_name.last_used_at is None


def test_names_are_unique(store: KeyStore) -> None:
    store.create_api_key(key("ci"))

    with pytest.raises(DuplicateError, match="ApiKey 'ci' already exists"):
        store.create_api_key(key("ci", role="admin"))
    assert [k.role for k in store.list_api_keys()] == ["operator"]


def test_a_secret_hash_belongs_to_one_key(store: KeyStore) -> None:
    first = key("first")
    store.create_api_key(first)

    with pytest.raises(DuplicateError):
        store.create_api_key(key("second", secret_hash=first.secret_hash))
    assert [k.name for k in store.list_api_keys()] == ["first"]


def test_an_unknown_name_is_not_found(store: KeyStore) -> None:
    with pytest.raises(NotFoundError, match=r"ApiKey not found \[name=nobody\]"):
        store.get_api_key("nobody")
    with pytest.raises(NotFoundError, match=r"ApiKey not found \[name=nobody\]"):
        store.revoke_api_key("nobody")


def test_keys_are_listed_oldest_first_revoked_ones_included(store: KeyStore) -> None:
    for name in ("b", "a", "c"):
        store.create_api_key(key(name))
        time.sleep(0.002)
    store.revoke_api_key("a")

    listed = store.list_api_keys()
    assert [(k.name, k.revoked) for k in listed] == [("b", False), ("a", True), ("c", False)]


def test_revoking_marks_the_key_once_and_bumps_the_version(store: KeyStore) -> None:
    store.create_api_key(key("ci"))
    store.create_api_key(key("other"))
    before = store.keys_version()

    revoked = store.revoke_api_key("ci")
    assert revoked.revoked and isinstance(revoked.revoked_at, dt.datetime)
    assert store.keys_version() == before + 1
    again = store.revoke_api_key("ci")
    assert again.revoked_at == revoked.revoked_at
    assert store.keys_version() == before + 1
    assert store.find_api_key(revoked.secret_hash) == again
    assert not store.get_api_key("other").revoked


def test_creating_a_key_leaves_the_version_alone(store: KeyStore) -> None:
    before = store.keys_version()
    store.create_api_key(key("ci"))
    assert store.keys_version() == before


def test_touching_records_the_last_use_only(store: KeyStore) -> None:
    made = key("ci")
    store.create_api_key(made)
    before = store.get_api_key("ci")

    store.touch_api_key(made.id)
    store.touch_api_key("no-such-id")

    after = store.get_api_key("ci")
    assert isinstance(after.last_used_at, dt.datetime)
    assert dataclasses.replace(after, last_used_at=None) == before
