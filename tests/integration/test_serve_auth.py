"""``serve`` is safe by default: without authentication it listens on loopback only (unless told
``--insecure-no-auth``); with it, a public URL that is not https is warned about; the ``auth``
setting comes from the flag, the environment or the config file alike."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.support import (
    BIN_DIR,
    HOST,
    READY_TIMEOUT,
    ProcessGroup,
    clean_env,
    create_key,
    free_port,
    request,
    wait_until,
)

pytestmark = pytest.mark.integration

HTTPS_WARNING = "is not https: API keys and tokens would cross the network in clear"


def _serve(*options: str, cwd: Path) -> list[str]:
    db = f"sqlite:///{cwd / 'serve.db'}"
    return [
        str(BIN_DIR / "mistral-core"),
        "serve",
        "--port",
        str(free_port()),
        "--database-url",
        db,
        *options,
    ]


def test_without_auth_serve_refuses_an_address_other_than_loopback(tmp_path: Path) -> None:
    done = subprocess.run(
        _serve("--host", "0.0.0.0", cwd=tmp_path),
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=READY_TIMEOUT,
        check=False,
    )

    assert done.returncode != 0
    assert "refusing to listen on '0.0.0.0' with authentication off" in done.stderr
    assert "--insecure-no-auth" in done.stderr
    assert not (tmp_path / "serve.db").exists()  # refused before anything was touched


def test_told_insecure_no_auth_it_serves_everyone_and_says_so(
    processes: ProcessGroup, tmp_path: Path
) -> None:
    server = processes.server(options=["--host", "0.0.0.0", "--insecure-no-auth"])

    assert server.api.call("GET", "/v2/workflows").status == 200
    assert "authentication is off on 0.0.0.0 (insecure_no_auth)" in server.log()


def test_with_auth_a_public_url_that_is_not_https_is_warned_about_once(processes: ProcessGroup) -> None:
    # One database each: one server per SQLite database.
    plain = processes.server(
        processes.directory / "plain.db",
        options=["--auth", "keys", "--public-url", "http://mistral.example.com"],
    )
    tls = processes.server(
        processes.directory / "tls.db",
        options=["--auth", "keys", "--public-url", "https://mistral.example.com"],
    )
    local = processes.server(processes.directory / "local.db", options=["--auth", "keys"])

    assert plain.log().count(HTTPS_WARNING) == 1
    assert HTTPS_WARNING not in tls.log() and HTTPS_WARNING not in local.log()
    for server in (plain, tls, local):
        assert server.api.call("GET", "/v2/workflows").status == 401


@pytest.mark.parametrize("where", ["environment", "config file"])
def test_the_auth_setting_from_the_environment_or_the_config_file(
    processes: ProcessGroup, tmp_path: Path, where: str
) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    secret = create_key(url, "ci", "reader", tmp_path)
    port = free_port()
    command = [
        str(BIN_DIR / "mistral-core"),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--database-url",
        url,
    ]
    env = clean_env({"MISTRAL_CORE_AUTH": "keys"} if where == "environment" else {})
    if where == "config file":
        (tmp_path / "mistral-core.toml").write_text('auth = ["keys"]\n')
    process = processes.spawn("mistral-core serve", command, env=env)
    base = f"http://{HOST}:{port}"
    wait_until(lambda: _answers(base), "the server to answer", timeout=READY_TIMEOUT)
    assert process.running

    assert request("GET", f"{base}/v2/workflows").status == 401
    assert request("GET", f"{base}/v2/workflows", headers={"Authorization": f"Bearer {secret}"}).status == 200


def _answers(base: str) -> bool:
    try:
        return request("GET", f"{base}/v2", timeout=2.0).status == 200
    except OSError:
        return False
