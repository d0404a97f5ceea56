"""Every endpoint of the API, walked from the route table for every role, through a real
``mistral-core serve --auth keys`` and real HTTP: 401 without a valid key, 403 beyond the role,
and otherwise an answer from the resource (never 401/403, never 5xx), exactly as the policy says.

Bodies and ids are minimal (``{}``, ``nope``): what matters is that authentication and
authorization answer before the resource does. A route added to the table is walked at once.
"""

from __future__ import annotations

import collections
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mistral_core.api.routes import endpoints
from mistral_core.auth.identity import Role
from mistral_core.auth.keys import REVALIDATE_SECONDS
from mistral_core.auth.policy import REQUIRED
from tests.integration.support import (
    ProcessGroup,
    ServerProcess,
    create_key,
    mistral_core,
    process_group,
    request,
    wait_until,
)

pytestmark = pytest.mark.integration

#: Who walks: (name, role of the key or None for no valid key, header the secret goes in).
CALLERS = (
    ("no credential", None, None),
    ("reader", Role.READER, "X-Auth-Token"),
    ("operator", Role.OPERATOR, "Authorization"),
    ("admin", Role.ADMIN, "X-Auth-Token"),
    ("revoked admin", None, "X-Auth-Token"),
    ("unknown key", None, "Authorization"),
)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    """A server with ``--auth keys`` and a secret per caller (the revoked key revoked before it starts)."""
    directory = tmp_path_factory.mktemp("keyed")
    url = f"sqlite:///{directory / 'keys.db'}"
    secrets = {
        name: create_key(url, name.replace(" ", "-"), role.name.lower() if role else "admin", directory)
        for name, role, _ in CALLERS
        if name != "no credential"
    }
    secrets["unknown key"] = "mck_" + "A" * 43
    revoked = mistral_core("keys", "revoke", "revoked-admin", "--database-url", url, cwd=directory)
    assert revoked.returncode == 0, revoked.stderr
    # Deleting action executions is allowed, so that its route answers as the others do (off, it is
    # a 403 for everyone: a setting, not a role).
    allowed = {"MISTRAL_CORE_ALLOW_ACTION_EXECUTION_DELETION": "true"}
    with process_group(directory) as group:
        yield group.server(database_url=url, options=["--auth", "keys"], settings=allowed), secrets


def _headers(header: str | None, secret: str | None) -> dict[str, str]:
    if header is None or secret is None:
        return {}
    return {header: f"Bearer {secret}" if header == "Authorization" else secret}


def _expected(required: Role | None, role: Role | None) -> str:
    if required is None:
        return "answered"
    if role is None:
        return "401"
    return "403" if role < required else "answered"


def test_every_endpoint_answers_every_role_as_the_policy_says(
    keyed: tuple[ServerProcess, dict[str, str]],
) -> None:
    server, secrets = keyed
    walked: collections.Counter[tuple[str, str]] = collections.Counter()
    wrong = []
    for path, method, _ in endpoints():
        concrete = re.sub(r"{\w+}", "nope", path)
        body = {} if method in ("POST", "PUT", "PATCH") else None
        for name, role, header in CALLERS:
            answer = request(
                method, server.base_url + concrete, body, headers=_headers(header, secrets.get(name))
            )
            expected = _expected(REQUIRED[(path, method)], role)
            got = str(answer.status) if answer.status in (401, 403) else "answered"
            if got != expected or answer.status >= 500:
                wrong.append(f"{name}: {method} {concrete} -> {answer} (expected {expected})")
            if answer.status == 401:
                assert answer.headers["www-authenticate"] == 'Bearer realm="mistral-core"'
            walked[(name, got)] += 1
    print(f"\nroute walk over {len(list(endpoints()))} endpoints: {dict(sorted(walked.items()))}")
    assert wrong == []
    assert walked[("admin", "answered")] == len(list(endpoints()))  # the admin may call everything


def test_a_key_revoked_while_the_server_runs_stops_working_within_the_bound(
    processes: ProcessGroup, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    secret = create_key(url, "soon-revoked", "reader", tmp_path)
    server = processes.server(database_url=url, options=["--auth", "keys"])
    api = server.api.as_(secret)
    assert api.call("GET", "/v2/executions").status == 200

    revoked = mistral_core("keys", "revoke", "soon-revoked", "--database-url", url, cwd=tmp_path)
    done = time.monotonic()
    assert revoked.returncode == 0, revoked.stderr

    refused = wait_until(lambda: api.call("GET", "/v2/executions").status == 401, "the key to be refused")
    # The bound is 1 s from the commit; the slack is for a loaded machine, not for the design.
    assert refused and time.monotonic() - done < REVALIDATE_SECONDS + 2.0
    answer = api.call("GET", "/v2/executions")
    assert answer.json()["faultstring"] == "The API key soon-revoked was revoked"


def test_keys_list_shows_the_last_use_but_never_a_secret(processes: ProcessGroup, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    secret = create_key(url, "ci", "operator", tmp_path, project="team-a")
    server = processes.server(database_url=url, options=["--auth", "keys"])
    assert server.api.as_(secret).call("GET", "/v2/workflows").status == 200

    listed = mistral_core("keys", "list", "--json", "--database-url", url, cwd=tmp_path)

    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["name"], row["role"], row["project"], row["revoked"]) == ("ci", "operator", "team-a", None)
    assert row["last_used"] is not None
    assert secret not in listed.stdout and secret[4:] not in listed.stdout
