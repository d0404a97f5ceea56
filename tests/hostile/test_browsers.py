"""Loopback is not a boundary: a browser's cross-site writes (CSRF) and foreign Host names (DNS
rebinding) are refused by a real server; the ``mistral`` CLI and curl, which send no Origin,
keep working. One test per rule, through real HTTP."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mistral_core.api.browsers import allowed_host_names, allowed_origin_set
from tests.integration.support import ServerProcess, mistral_json, process_group, request

pytestmark = pytest.mark.integration

WORKFLOW = """\
---
version: '2.0'
noop_flow:
  tasks:
    t1:
      action: std.noop
"""
EVIL = "http://evil.example"
START = b'{"workflow_name": "noop_flow"}'


def _server(directory: Path, config: str = "") -> Iterator[ServerProcess]:
    """A server whose working directory holds ``mistral-core.toml`` with ``config``."""
    directory.mkdir(parents=True, exist_ok=True)
    if config:
        (directory / "mistral-core.toml").write_text(config)
    with process_group(directory) as group:
        server = group.server()
        server.api.create_workflows(WORKFLOW)
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with the default settings, listening on 127.0.0.1."""
    yield from _server(tmp_path_factory.mktemp("browsers"))


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server allowing one more origin and one more host name (in its TOML file)."""
    config = 'allowed_origins = ["https://ui.example:8443"]\nallowed_hosts = ["api.example"]\n'
    yield from _server(tmp_path_factory.mktemp("browsers-configured"), config)


def _start(server: ServerProcess, **headers: str) -> tuple[int, str]:
    """A browser's "simple" request: POST text/plain, which needs no CORS preflight."""
    answer = request(
        "POST",
        server.base_url + "/v2/executions",
        data=START,
        headers={"Content-Type": "text/plain", **headers},
    )
    body = answer.json() if answer.body else {}
    return answer.status, str(body.get("faultstring", ""))


def _executions(server: ServerProcess) -> int:
    return len(server.api.get("/v2/executions")["executions"])


def test_a_cross_site_post_from_a_page_is_refused_and_starts_nothing(server: ServerProcess) -> None:
    before = _executions(server)

    status, fault = _start(server, Origin=EVIL, **{"Sec-Fetch-Site": "cross-site"})

    assert (status, fault) == (
        403,
        "Cross-site request refused: origin 'http://evil.example' is not allowed (setting allowed_origins)",
    )
    assert _executions(server) == before


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_write_the_browser_marks_cross_site_without_origin_is_refused(
    server: ServerProcess, site: str
) -> None:
    status, fault = _start(server, **{"Sec-Fetch-Site": site})

    assert status == 403
    assert site in fault


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_other_cross_site_writes_are_refused(server: ServerProcess, method: str) -> None:
    server.api.ok("POST", "/v2/environments", {"name": f"env-{method}"})
    path = "/v2/environments" if method == "PUT" else f"/v2/environments/env-{method}"

    answer = request(
        method,
        server.base_url + path,
        data=b'{"name": "env-PUT", "description": "changed"}' if method == "PUT" else None,
        headers={"Content-Type": "text/plain", "Origin": "null"},
    )

    assert answer.status == 403, answer
    assert server.api.get(f"/v2/environments/env-{method}")["description"] == ""


def test_the_services_own_origin_and_same_origin_marks_may_write(server: ServerProcess) -> None:
    assert _start(server, Origin=server.base_url)[0] == 201
    assert _start(server, **{"Sec-Fetch-Site": "same-origin"})[0] == 201
    assert _start(server, **{"Sec-Fetch-Site": "none"})[0] == 201


def test_a_configured_origin_may_write(configured: ServerProcess) -> None:
    assert _start(configured, Origin="https://ui.example:8443")[0] == 201
    assert _start(configured, Origin=EVIL)[0] == 403


def test_a_cross_site_read_is_served_without_cors_headers(server: ServerProcess) -> None:
    answer = request("GET", server.base_url + "/v2/executions", headers={"Origin": EVIL})

    assert answer.status == 200
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8989", "127.0.0.2", "localhost.evil.example"])
def test_a_foreign_host_name_is_misdirected_while_on_loopback(server: ServerProcess, host: str) -> None:
    answer = request("GET", server.base_url + "/v2/executions", headers={"Host": host})

    assert answer.status == 421, answer
    fault = answer.json()["faultstring"]
    assert fault.startswith(f"Host {host!r} is not served here; allowed: 127.0.0.1, ::1, localhost")


@pytest.mark.parametrize("host", ["localhost", "localhost:1234", "LOCALHOST.", "127.0.0.1", "[::1]:8989"])
def test_the_loopback_names_are_served_with_any_port(server: ServerProcess, host: str) -> None:
    assert request("GET", server.base_url + "/v2", headers={"Host": host}).status == 200


def test_a_configured_host_name_is_served(configured: ServerProcess) -> None:
    assert request("GET", configured.base_url + "/v2", headers={"Host": "api.example:80"}).status == 200
    assert request("GET", configured.base_url + "/v2", headers={"Host": "localhost"}).status == 421


def test_star_serves_every_host_and_origin(tmp_path: Path) -> None:
    for server in _server(tmp_path, 'allowed_hosts = "*"\nallowed_origins = "*"\n'):
        assert request("GET", server.base_url + "/v2", headers={"Host": "evil.example"}).status == 200
        assert _start(server, Origin=EVIL)[0] == 201


def test_the_mistral_cli_and_curl_keep_working(server: ServerProcess) -> None:
    created = mistral_json(server.base_url, "execution-create", "noop_flow")
    assert created["Workflow name"] == "noop_flow"
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    post = ["-X", "POST", "-H", "Content-Type: text/plain", "--data-binary", START.decode()]
    result = subprocess.run(
        [curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", *post, server.base_url + "/v2/executions"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.stdout == "201", result


def test_host_names_are_checked_only_on_loopback_unless_configured() -> None:
    assert allowed_host_names("0.0.0.0", "http://10.0.0.5:8989", ()) is None
    assert allowed_host_names("0.0.0.0", "", ("api.example",)) == frozenset({"api.example"})
    assert allowed_host_names("::1", "https://Mistral.Example/", ()) == frozenset(
        {"localhost", "127.0.0.1", "::1", "mistral.example"}
    )
    assert allowed_host_names("127.0.0.1", "", ("*",)) is None
    assert allowed_origin_set("http://127.0.0.1:8989/", ["https://UI.example/"]) == frozenset(
        {"http://127.0.0.1:8989", "https://ui.example"}
    )
