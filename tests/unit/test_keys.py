"""API keys: made with a secret shown once, authenticated from a cache, revoked within a bound."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from mistral_core.auth.credentials import KEY_PREFIX, digest
from mistral_core.auth.identity import DEFAULT_PROJECT, Identity, Role
from mistral_core.auth.keys import REVALIDATE_SECONDS, TOUCH_SECONDS, KeyAuthenticator, create_key
from mistral_core.auth.wiring import build_authenticators, check_exposure, is_loopback
from mistral_core.config import Settings
from mistral_core.errors import DuplicateError, InputError, StoreUnavailable, Unauthenticated
from mistral_core.persistence import MemoryStore


class Clock:
    """Monotonic seconds a test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore(MemoryStore):
    """The in-memory store, counting the reads authentication makes."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = {"find": 0, "version": 0, "touch": 0}
        self.touch_fails = False

    def find_api_key(self, secret_hash: str) -> Any:
        self.reads["find"] += 1
        return super().find_api_key(secret_hash)

    def keys_version(self) -> int:
        self.reads["version"] += 1
        return super().keys_version()

    def touch_api_key(self, key_id: str) -> None:
        self.reads["touch"] += 1
        if self.touch_fails:
            raise StoreUnavailable("disk full")
        super().touch_api_key(key_id)


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keys(store: CountingStore, clock: Clock) -> KeyAuthenticator:
    return KeyAuthenticator(store, clock=clock)


# -- making keys ----------------------------------------------------------------------------------


def test_a_key_is_made_with_a_fresh_secret_of_which_only_the_hash_is_kept(store: CountingStore) -> None:
    key, secret = create_key(store, "ci", "Operator", "team-a")

    assert secret.startswith(KEY_PREFIX) and len(secret) == len(KEY_PREFIX) + 43  # 256 bits
    assert (key.name, key.role, key.project_id) == ("ci", "operator", "team-a")
    assert key.secret_hash == digest(secret) and secret not in repr(store.get_api_key("ci"))
    other, other_secret = create_key(store, "cd", "reader")
    assert other.project_id == DEFAULT_PROJECT and other_secret != secret


@pytest.mark.parametrize(
    ("name", "role", "project", "message"),
    [
        ("", "admin", None, "key name '' is not valid"),
        ("a b", "admin", None, "key name 'a b' is not valid"),
        ("x" * 65, "admin", None, "is not valid"),
        ("ci", "root", None, "unknown role 'root'"),
        ("ci", "admin", "a/b", "project 'a/b' is not valid"),
    ],
)
def test_a_bad_name_role_or_project_is_refused(
    store: CountingStore, name: str, role: str, project: str | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        create_key(store, name, role, project)
    assert store.list_api_keys() == []


def test_a_name_is_taken_for_good(store: CountingStore) -> None:
    create_key(store, "ci", "admin")
    store.revoke_api_key("ci")
    with pytest.raises(DuplicateError):
        create_key(store, "ci", "admin")


# -- authenticating ---------------------------------------------------------------------------------


def test_a_key_proves_its_identity_and_is_then_served_from_memory(
    store: CountingStore, keys: KeyAuthenticator
) -> None:
    _, secret = create_key(store, "ci", "operator", "team-a")

    first = keys.authenticate(secret)
    for _ in range(100):
        assert keys.authenticate(secret) == first
    assert first == Identity(name="ci", role=Role.OPERATOR, project="team-a", via="key")
    assert store.reads == {"find": 1, "version": 1, "touch": 1}


def test_other_kinds_of_secrets_are_not_its_business(keys: KeyAuthenticator, store: CountingStore) -> None:
    for secret in ("mcb_abc", "eyJh.eyJz.sig", "secret"):
        assert keys.authenticate(secret) is None
    assert store.reads["find"] == 0


def test_an_unknown_key_is_refused_each_time_from_the_store(
    keys: KeyAuthenticator, store: CountingStore
) -> None:
    for _ in range(3):
        with pytest.raises(Unauthenticated, match="no key has this secret"):
            keys.authenticate(KEY_PREFIX + "x" * 43)
    assert store.reads["find"] == 3  # nothing is cached for a secret that proves nothing


def test_a_revoked_key_stops_working_within_the_bound(
    store: CountingStore, keys: KeyAuthenticator, clock: Clock
) -> None:
    _, secret = create_key(store, "ci", "admin")
    _, kept = create_key(store, "cd", "reader")
    keys.authenticate(secret)
    keys.authenticate(kept)

    store.revoke_api_key("ci")  # as `mistral-core keys revoke` does, from another process
    clock.now += REVALIDATE_SECONDS * 0.5
    assert keys.authenticate(secret).name == "ci"  # still cached: at most the bound
    clock.now += REVALIDATE_SECONDS * 0.5

    with pytest.raises(Unauthenticated, match="The API key ci was revoked"):
        keys.authenticate(secret)
    assert keys.authenticate(kept).name == "cd"


def test_the_version_is_read_at_most_once_per_bound(
    store: CountingStore, keys: KeyAuthenticator, clock: Clock
) -> None:
    _, secret = create_key(store, "ci", "admin")
    for _ in range(50):
        keys.authenticate(secret)
        clock.now += REVALIDATE_SECONDS / 10
    assert store.reads["version"] == 5


def test_use_is_recorded_once_a_minute_and_a_failure_to_record_it_costs_nothing(
    store: CountingStore, keys: KeyAuthenticator, clock: Clock
) -> None:
    key, secret = create_key(store, "ci", "admin")
    keys.authenticate(secret)
    assert store.get_api_key("ci").last_used_at is not None
    clock.now += TOUCH_SECONDS / 2
    keys.authenticate(secret)
    assert store.reads["touch"] == 1

    store.touch_fails = True
    clock.now += TOUCH_SECONDS
    assert keys.authenticate(secret).name == key.name
    assert store.reads["touch"] == 2


# -- turning it on --------------------------------------------------------------------------------


def test_the_auth_setting_is_a_list_of_known_kinds() -> None:
    assert Settings.load({}, environ={}).auth == ()
    assert Settings.load({}, environ={"MISTRAL_CORE_AUTH": "keys"}).auth == ("keys",)
    assert Settings.load({"auth": "keys, oidc"}, environ={}).auth == ("keys", "oidc")
    with pytest.raises(InputError, match="setting auth takes keys, oidc, not 'passwords'"):
        Settings.load({"auth": "keys,passwords"}, environ={})


def test_keys_in_the_setting_give_a_key_authenticator(store: CountingStore) -> None:
    assert build_authenticators(Settings(), store) == []
    made = build_authenticators(Settings(auth=("keys", "keys")), store)
    assert [type(a) for a in made] == [KeyAuthenticator]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.0.2.10", False),
        ("no-such-host.invalid", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host, resolve=True) is loopback


def test_without_auth_only_loopback_is_served_unless_told_otherwise(caplog: pytest.LogCaptureFixture) -> None:
    check_exposure(Settings(host="127.0.0.1"))
    with pytest.raises(InputError, match=r"refusing to listen on '0.0.0.0' with authentication off"):
        check_exposure(Settings(host="0.0.0.0"))
    with caplog.at_level(logging.WARNING):
        check_exposure(Settings(host="0.0.0.0", insecure_no_auth=True))
    assert ["authentication is off on 0.0.0.0" in r.getMessage() for r in caplog.records] == [True]


@pytest.mark.parametrize(
    ("host", "public_url", "warned"),
    [
        ("0.0.0.0", "https://mistral.example.com", False),
        ("127.0.0.1", "", False),
        ("127.0.0.1", "http://localhost:8989", False),
        ("0.0.0.0", "", True),
        ("127.0.0.1", "http://mistral.example.com", True),
    ],
)
def test_with_auth_a_public_url_that_is_not_https_is_warned_about(
    host: str, public_url: str, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        check_exposure(Settings(host=host, public_url=public_url, auth=("keys",)))
    lines = [r.getMessage() for r in caplog.records if "is not https" in r.getMessage()]
    assert len(lines) == (1 if warned else 0)
