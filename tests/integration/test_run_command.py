"""``mistral-core run WORKFLOW.yaml``: the real command, in a pipe and in a pseudo-terminal.

Its output (the workflow's output, JSON) is on the standard output, its progress on the standard
error; exit 0 on SUCCESS, 1 on ERROR, 2 when it could not run. A wait is named with the command
that completes it, and completing it (over the API the command serves on loopback) lets the
workflow end.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.support import BIN_DIR, POLL_TIMEOUT, REPO_ROOT, clean_env, request

pytestmark = pytest.mark.integration

ITEMS = """\
version: '2.0'
sum_them:
  input:
    - n: 4
  output:
    total: <% $.total %>
  tasks:
    numbers:
      with-items: i in <% range($.n) %>
      action: std.echo output=<% $.i %>
      publish:
        total: <% task().result.sum() %>
"""

FAILS = """\
version: '2.0'
fails:
  tasks:
    t:
      action: std.fail
"""

WAITS = """\
version: '2.0'
waits:
  output:
    answer: <% $.answer %>
  tasks:
    ask:
      action: std.async_noop
      publish:
        answer: <% task().result %>
"""

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _run(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "wf.yaml"
    path.write_text(text)
    return subprocess.run(
        [str(BIN_DIR / "mistral-core"), "run", str(path), *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_success_prints_the_output_json_and_plain_progress(tmp_path: Path) -> None:
    result = _run(tmp_path, ITEMS, "--input", '{"n": 5}')

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"total": 10}
    lines = result.stderr.splitlines()
    assert "task numbers RUNNING" in lines
    assert "task numbers SUCCESS" in lines
    assert any(re.fullmatch(r"task numbers items \d/5", line) for line in lines)
    assert lines[-1] == "workflow sum_them SUCCESS"
    assert not ANSI.search(result.stderr)  # no terminal: plain lines


def test_an_error_exits_1_with_the_reason(tmp_path: Path) -> None:
    result = _run(tmp_path, FAILS)

    assert result.returncode == 1
    assert "task t ERROR: Action std.fail failed: Fail action expected exception." in result.stderr
    assert "Traceback" not in result.stderr
    assert "Failure caused by error in tasks: t" in json.loads(result.stdout)["result"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--input", "[1]"), "--input must be a JSON object, not list"),
        (("--input", "{nope"), "--input is not JSON"),
        (("--input", '{"zz": 1}'), "unexpected=['zz']"),
        (("--workflow", "other"), "has no workflow 'other'"),
    ],
)
def test_what_cannot_run_exits_2_with_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = _run(tmp_path, ITEMS, *args)

    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_a_file_that_is_not_a_workflow_exits_2(tmp_path: Path) -> None:
    result = _run(tmp_path, "version: '2.0'\nbroken: [")

    assert result.returncode == 2
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_wait_names_its_id_and_the_command_that_completes_it(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(WAITS)
    process = subprocess.Popen(
        [str(BIN_DIR / "mistral-core"), "run", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
    )
    try:
        assert process.stderr is not None
        seen: list[str] = []
        while not any("complete it: curl -X PUT" in line for line in seen):
            line = process.stderr.readline()
            assert line, f"run ended before naming its wait: {seen}"
            seen.append(line)
        wait_id = re.search(r"waits: action execution ([0-9a-f-]{36})", "".join(seen))
        url = re.search(r"curl -X PUT (\S+)", seen[-1])
        assert wait_id and url and url.group(1).endswith(wait_id.group(1))

        answer = request("PUT", url.group(1), {"state": "SUCCESS", "output": {"ok": True}})

        assert answer.status == 200, answer.body
        stdout, stderr = process.communicate(timeout=POLL_TIMEOUT)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, stderr
    assert json.loads(stdout) == {"answer": {"ok": True}}
    assert "task ask SUCCESS" in stderr


def test_on_a_terminal_progress_has_colours_and_a_status_line(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(ITEMS)
    controller, child = pty.openpty()
    process = subprocess.Popen(
        [str(BIN_DIR / "mistral-core"), "run", str(path)],
        stdin=child,
        stdout=subprocess.PIPE,
        stderr=child,
        env=clean_env({"TERM": "xterm"}),
        cwd=tmp_path,
    )
    os.close(child)
    screen = _read_until_exit(controller, process)

    assert process.returncode == 0
    assert "\x1b[32m✔\x1b[0m numbers SUCCESS" in screen  # a green tick
    assert "\x1b[32m✔\x1b[0m sum_them SUCCESS" in screen
    assert "\r\x1b[K" in screen  # the status line is cleared, not left behind
    assert process.stdout is not None
    with process.stdout:
        assert json.loads(process.stdout.read()) == {"total": 6}


def _read_until_exit(fd: int, process: subprocess.Popen[bytes]) -> str:
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait(timeout=POLL_TIMEOUT)
    os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


APPROVAL = """\
version: '2.0'
asks:
  output:
    decision: <% $.decision %>
  tasks:
    ask:
      action: std.approval title="Go on?"
      publish:
        decision: <% task().result.decision %>
"""


def test_an_approval_is_named_with_its_page_and_answered_there(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(APPROVAL)
    returncode, stdout = _run_and_answer([str(path)], "name=Ana&decision=reject", tmp_path)
    assert returncode == 0
    assert json.loads(stdout) == {"decision": "reject"}


def test_the_readmes_release_workflow_runs_as_shown(tmp_path: Path) -> None:
    """README.md and docs/operations.md run contrib/example_workflows/release.yaml: it exists, and runs."""
    release = "contrib/example_workflows/release.yaml"
    assert (
        f'mistral-core run {release} --input \'{{"version": "1.2"}}\''
        in (REPO_ROOT / "README.md").read_text()
    )
    args = [str(REPO_ROOT / release), "--input", '{"version": "1.2"}']
    returncode, stdout = _run_and_answer(args, "name=Ana&v.reason=All+green&decision=approve", tmp_path)
    assert returncode == 0
    assert json.loads(stdout) == {"decision": "approve"}


def _run_and_answer(args: list[str], form: str, cwd: Path) -> tuple[int, str]:
    """``mistral-core run <args>``; answer the first approval's page with ``form``; its exit status
    and standard output."""
    process = subprocess.Popen(
        [str(BIN_DIR / "mistral-core"), "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=cwd,
    )
    try:
        assert process.stderr is not None
        line = ""
        while "answer it in a browser:" not in line:
            line = process.stderr.readline()
            assert line, "run ended before naming the approval's page"
        page_url = line.split("answer it in a browser: ", 1)[1].strip()
        page = request("GET", page_url, headers={"Accept": "text/html"})
        token = re.search(r'name="csrf" value="([^"]+)"', page.body.decode())
        assert page.status == 200 and token
        answer = request(
            "POST",
            page_url,
            data=f"csrf={token.group(1)}&{form}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status == 303, answer
        stdout, _ = process.communicate(timeout=POLL_TIMEOUT)
    finally:
        process.kill()
        process.wait()
    return process.returncode, stdout
