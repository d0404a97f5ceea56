"""Hostile YAML against a real ``mistral-core serve``: bombs, depth, keys and tags JSON cannot hold.

Each refusal is a 400 naming line and path, answered in milliseconds, and ``/validate`` says the
same as the upload (one code path). Figures (time, server memory) are printed: run with ``-s``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.support import Api, ServerProcess, process_group

pytestmark = pytest.mark.integration

BOMB = "version: '2.0'\n" + "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)

WF = "version: '2.0'\nwf:\n  tasks:\n    t:\n      action: std.noop\n"
BAD_DOCUMENTS = {
    "integer key": (WF + "      publish:\n        codes:\n          200: ok\n", 8, "a key must be a string"),
    "boolean key": (WF + "      input:\n        yes: 1\n", 7, "quote it ('yes')"),
    "list key": (WF + "      input:\n        ? [1, 2]\n        : x\n", 7, "not a list or mapping"),
    "timestamp tag": (WF + "      input:\n        when: !!timestamp 2024-01-31\n", 7, "!!timestamp"),
    "set tag": (WF + "      input:\n        names: !!set {a, b}\n", 7, "!!set is not a JSON value"),
    "binary tag": (WF + "      input:\n        data: !!binary aGVsbG8=\n", 7, "!!binary"),
    "nan": (WF + "      input:\n        x: .nan\n", 7, ".nan is not a JSON number"),
    "infinite timeout": (WF + "      timeout: .inf\n", 6, ".inf is not a JSON number"),
    "absurd wait-before": (WF + "      wait-before: 99999999999999999999\n", 6, "at most 315360000 seconds"),
    "negative retry delay": (
        WF + "      retry: {count: 1, delay: -5}\n",
        6,
        "-5 is less than the minimum of 0",
    ),
    "huge integer": (WF + "      input:\n        x: " + "9" * 5000 + "\n", 7, "at most 4000 digits"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with process_group(tmp_path_factory.mktemp("hostile-yaml")) as group:
        yield group.server()


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """The resident memory of a process (``VmHWM``: its peak so far), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def upload(api: Api, text: str, path: str = "/v2/workflows") -> tuple[int, dict[str, object], float]:
    started = time.monotonic()
    answer = api.call("POST", path, data=text.encode(), headers={"Content-Type": "text/plain"})
    return answer.status, answer.json(), time.monotonic() - started


@pytest.mark.parametrize("path", ["/v2/workflows", "/v2/workbooks", "/v2/actions"])
def test_an_alias_bomb_is_refused_in_milliseconds_with_bounded_memory(
    server: ServerProcess, path: str
) -> None:
    before = rss_kib(server.pid)
    text = BOMB if path != "/v2/workbooks" else BOMB + "\nname: wb\n"
    status, body, took = upload(server.api, text, path)
    growth = rss_kib(server.pid, "VmHWM") - before
    print(f"\nalias bomb ({len(text)} bytes) to {path}: {status} in {took * 1000:.1f} ms,", end=" ")
    print(f"peak RSS growth {growth} KiB")
    assert status == 400
    assert "line 6: e.0: the document's aliases stand for more than 10000 nodes" in str(body["faultstring"])
    assert took < 2.0  # generous for a loaded machine: expanded it took 30 s and 2.4 GB
    assert growth < 20 * 1024


def test_ten_thousand_levels_of_nesting_are_a_400_not_a_500(server: ServerProcess) -> None:
    for text in (
        WF + "      input:\n        x: " + "[" * 10_000 + "]" * 10_000 + "\n",
        WF + "      input:\n        x: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
    ):
        status, body, took = upload(server.api, text)
        print(f"\n{len(text)}-byte document nested 10,000 deep: {status} in {took * 1000:.1f} ms")
        assert status == 400
        assert "nests deeper than 100 levels" in str(body["faultstring"])
        assert server.api.get("/v2")  # still answering


@pytest.mark.parametrize("name", sorted(BAD_DOCUMENTS))
def test_validate_and_create_refuse_alike_naming_line_and_path(server: ServerProcess, name: str) -> None:
    text, line, problem = BAD_DOCUMENTS[name]
    report = server.api.ok(
        "POST", "/v2/workflows/validate", data=text.encode(), headers={"Content-Type": "text/plain"}
    )
    status, body, _ = upload(server.api, text)
    assert status == 400, body
    assert report == {"valid": False, "error": body["faultstring"]}
    assert str(body["faultstring"]).startswith(f"line {line}: wf.tasks.t"), body
    assert problem in str(body["faultstring"])
    assert server.api.call("GET", "/v2/workflows/wf").status == 404


def test_an_unquoted_date_is_kept_as_the_text_written(server: ServerProcess) -> None:
    text = WF.replace("wf:", "dated:") + "      publish:\n        day: 2024-01-31\n"
    assert server.api.ok("POST", "/v2/workflows/validate", data=text.encode()) == {"valid": True}
    server.api.create_workflows(text)
    execution = server.api.wait_finished(server.api.start("dated")["id"])
    assert execution["state"] == "SUCCESS"
    assert json.loads(server.api.task(execution["id"], "t")["published"]) == {"day": "2024-01-31"}
