"""Helpers of the integration and end-to-end tests: real processes on loopback, real HTTP.

Everything here talks to processes the way a user does: ``mistral-core serve`` and
``gunicorn`` started as subprocesses, requests over a real socket, the real ``mistral``
command. Waits are bounded polls (:func:`wait_until`), never fixed sleeps.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
HOST = "127.0.0.1"
#: Bound of every poll: generous for a loaded machine, still short when something is broken.
POLL_TIMEOUT = 10.0
#: A fresh process may need to import a lot before it answers.
READY_TIMEOUT = 20.0
#: How long a process gets to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 10.0
CHUNK_BYTES = 64 * 1024

T = TypeVar("T")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], T | None], what: str, timeout: float = POLL_TIMEOUT, interval: float = 0.02
) -> T:
    """Call ``condition`` until it returns something truthy and return that; fail after ``timeout``.

    Args:
        condition: the check; exceptions propagate.
        what: what is awaited, for the failure message.
        timeout: seconds before giving up.
        interval: seconds between two checks.

    Raises:
        AssertionError: the condition did not hold within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {value!r})")
        time.sleep(interval)


# -- HTTP ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Response:
    """An HTTP answer: status, headers (names in lower case) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def __str__(self) -> str:
        return f"{self.status} {self.body[:500]!r}"


def request(
    method: str,
    url: str,
    json_body: Any = None,
    *,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = POLL_TIMEOUT,
    chunked: bool = False,
) -> Response:
    """Send one request on a new connection (closed afterwards) and return the answer, whatever its status.

    Args:
        method: GET, PUT, POST, DELETE...
        url: an absolute ``http://`` URL.
        json_body: sent as JSON when ``data`` is not given and this is not None.
        data: the raw body.
        headers: extra headers.
        timeout: socket timeout in seconds.
        chunked: send the body with ``Transfer-Encoding: chunked`` (no Content-Length), in 64 KiB chunks.
    """
    parts = urlsplit(url)
    all_headers = {"Accept": "application/json"}
    if data is None and json_body is not None:
        data = json.dumps(json_body).encode()
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(parts.hostname or HOST, parts.port, timeout=timeout)
    try:
        # Connect first, outside the suppression below: a connection refused or reset while it is
        # being made (a server starting or stopping) must raise, not leave http.client without a
        # socket to read an answer from (AttributeError: 'NoneType' object has no attribute 'makefile').
        connection.connect()
        # A server may answer (413) and close before reading a whole body: read that answer anyway.
        with suppress(BrokenPipeError, ConnectionResetError):
            if chunked and data is not None:
                chunks = (data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES))
                connection.request(method, path, body=chunks, headers=all_headers, encode_chunked=True)
            else:
                connection.request(method, path, body=data, headers=all_headers)
        answer = connection.getresponse()
        body = answer.read()
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, body)
    finally:
        connection.close()


class Api:
    """Mistral's REST API v2 at ``base_url``, spoken the way a script would speak it.

    Args:
        base_url: the server.
        token: a key (or token) sent as ``X-Auth-Token`` with every request (None: none).
    """

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def as_(self, token: str | None) -> Api:
        """The same API, called with ``token``."""
        return Api(self.base_url, token)

    def call(self, method: str, path: str, json_body: Any = None, **kwargs: Any) -> Response:
        """Any request to ``<base_url><path>``; the answer whatever its status."""
        if self.token is not None:
            kwargs["headers"] = {"X-Auth-Token": self.token, **(kwargs.get("headers") or {})}
        return request(method, self.base_url + path, json_body, **kwargs)

    def ok(self, method: str, path: str, json_body: Any = None, **kwargs: Any) -> Any:
        """A request that must succeed (2xx); its JSON body (None when empty)."""
        answer = self.call(method, path, json_body, **kwargs)
        assert 200 <= answer.status < 300, f"{method} {path} -> {answer}"
        return answer.json() if answer.body else None

    def get(self, path: str) -> Any:
        """GET that must succeed; the JSON body."""
        return self.ok("GET", path)

    # -- domain helpers ----------------------------------------------------------------------
    def create_workflows(self, text: str) -> list[dict[str, Any]]:
        """Upload a workflow document as ``mistral workflow-create`` does; the definitions created."""
        created = self.ok("POST", "/v2/workflows", data=text.encode(), headers={"Content-Type": "text/plain"})
        return list(created["workflows"])

    def start(self, workflow: str, wf_input: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Start a workflow execution; the execution as created."""
        return dict(
            self.ok("POST", "/v2/executions", {"workflow_name": workflow, "input": dict(wf_input or {})})
        )

    def execution(self, ex_id: str) -> dict[str, Any]:
        """One workflow execution."""
        return dict(self.get(f"/v2/executions/{ex_id}"))

    def wait_finished(self, ex_id: str) -> dict[str, Any]:
        """Poll the execution until it is SUCCESS, ERROR or CANCELLED; return it."""

        def finished() -> dict[str, Any] | None:
            execution = self.execution(ex_id)
            return execution if execution["state"] in ("SUCCESS", "ERROR", "CANCELLED") else None

        return wait_until(finished, f"execution {ex_id} to finish")

    def output(self, ex_id: str) -> Any:
        """The decoded output of a workflow execution."""
        return json.loads(self.execution(ex_id)["output"])

    def tasks(self, ex_id: str) -> list[dict[str, Any]]:
        """The task executions of a workflow execution."""
        return list(self.get(f"/v2/executions/{ex_id}/tasks")["tasks"])

    def task(self, ex_id: str, name: str) -> dict[str, Any]:
        """The only task execution called ``name`` of a workflow execution."""
        found = [t for t in self.tasks(ex_id) if t["name"] == name]
        assert len(found) == 1, f"expected one task {name!r}, found {found}"
        return found[0]

    def action_executions(self, task_id: str) -> list[dict[str, Any]]:
        """The action executions of a task execution."""
        return list(self.get(f"/v2/tasks/{task_id}/action_executions")["action_executions"])

    def wait_running_action(self, ex_id: str, task_name: str) -> dict[str, Any]:
        """Poll until task ``task_name`` has a RUNNING action execution; return it."""

        def running() -> dict[str, Any] | None:
            tasks = [t for t in self.tasks(ex_id) if t["name"] == task_name]
            actions = [a for t in tasks for a in self.action_executions(t["id"]) if a["state"] == "RUNNING"]
            return actions[0] if actions else None

        return wait_until(running, f"a RUNNING action execution of task {task_name} of {ex_id}")

    def push(
        self, action_ex_id: str, result: Any, method: str = "PUT", spelling: str = "action_executions"
    ) -> Response:
        """Push an action's result as a third party does (``PUT /v2/action_executions/<id>`` by default)."""
        return self.call(method, f"/v2/{spelling}/{action_ex_id}", result)

    def snapshot(self) -> dict[str, Any]:
        """Everything the list endpoints show: to prove that a request changed nothing."""
        return {
            path: self.get(path)
            for path in ("/v2/workflows", "/v2/executions", "/v2/tasks", "/v2/action_executions")
        }


@dataclasses.dataclass(frozen=True)
class Recorded:
    """A request a :class:`Recorder` received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


_NOT_FORWARDED = frozenset({"host", "connection", "content-length"})


class Recorder:
    """A loopback HTTP server in this process: records every request, answers 200 or forwards it.

    Use as a context manager. With ``forward_to``, each request is sent on to that base URL
    (same method, path, headers and body) and its answer relayed, so the recorder can sit
    between std.mistral_http and a real service.

    Args:
        forward_to: the base URL to forward to, or None to answer ``200 {}`` itself.
        hold: answer no request before this is set (it is set on exit), to keep a caller waiting.
        port: the port to listen on (default: any free one).
    """

    def __init__(
        self, forward_to: str | None = None, hold: threading.Event | None = None, port: int = 0
    ) -> None:
        self.requests: list[Recorded] = []
        self._hold = hold
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test asserts on :attr:`Recorder.requests` instead."""

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name: value for name, value in self.headers.items()}
                recorder.requests.append(Recorded(self.command, self.path, headers, body))
                status, answer = recorder._answer(self.command, self.path, headers, body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the caller is gone (a killed server): nobody to answer

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self._forward_to = forward_to
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((HOST, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="recorder", daemon=True)

    @property
    def url(self) -> str:
        """Where the recorder listens."""
        return f"http://{HOST}:{self._server.server_address[1]}"

    def wait_requests(self, count: int = 1) -> list[Recorded]:
        """Poll until at least ``count`` requests came; return them all."""
        return wait_until(
            lambda: list(self.requests) if len(self.requests) >= count else [], f"{count} request(s)"
        )

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if self._hold is not None:
            self._hold.wait(READY_TIMEOUT * 3)
        if self._forward_to is None:
            return 200, b"{}"
        passed = {k: v for k, v in headers.items() if k.lower() not in _NOT_FORWARDED}
        answer = request(method, self._forward_to + path, data=body or None, headers=passed)
        return answer.status, answer.body

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._hold is not None:
            self._hold.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(STOP_TIMEOUT)


# -- processes ----------------------------------------------------------------------------------


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without settings that would leak into a child (MISTRAL_CORE_*, OS_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MISTRAL_CORE_", "OS_", "MISTRAL_"))}
    env.update(extra or {})
    return env


class Process:
    """A child process whose output goes to a log file; stopped with SIGTERM, then SIGKILL.

    Args:
        name: what it is, for messages.
        command: the command line.
        log_path: where its stdout and stderr go.
        env: its environment (default: :func:`clean_env`).
        cwd: its working directory (default: the log file's directory, so no config file is picked up).
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log_file: IO[bytes] = log_path.open("ab")
        self.popen = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else clean_env(),
            cwd=cwd or log_path.parent,
        )

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    @property
    def running(self) -> bool:
        """True until the process exits."""
        return self.popen.poll() is None

    def log(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(errors="replace")

    def wait_port(self, port: int, timeout: float = READY_TIMEOUT) -> None:
        """Poll until the process accepts TCP connections on ``port`` (for at most ``timeout`` s)."""

        def accepting() -> bool:
            self._assert_alive()
            try:
                with socket.create_connection((HOST, port), timeout=1.0):
                    return True
            except OSError:
                return False

        wait_until(accepting, f"{self.name} to listen on port {port}", timeout=timeout)

    def _assert_alive(self) -> None:
        code = self.popen.poll()
        assert code is None, f"{self.name} exited with {code}:\n{self.log()[-3000:]}"

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Send ``sig``; SIGKILL if the process is still there after ``timeout``; return its exit code."""
        if self.running:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(STOP_TIMEOUT)
        self._log_file.close()
        return int(self.popen.returncode)

    def kill(self) -> int:
        """kill -9: no chance to clean up."""
        return self.stop(signal.SIGKILL)


class ServerProcess(Process):
    """``mistral-core serve`` on 127.0.0.1, over the SQLite file ``database``.

    Args:
        database: the SQLite file (kept across restarts by passing it again), or a database URL.
        log_path: where the server's output goes.
        port: the port (default: a free one).
        options: more command-line options of ``serve``.
        database_url: another database than the SQLite file (``postgresql://...``).
        settings: settings given in its environment (``{"MISTRAL_CORE_INFO_FILE": ...}``).
    """

    def __init__(
        self,
        database: Path | str,
        log_path: Path,
        port: int | None = None,
        options: Sequence[str] = (),
        database_url: str | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.database_url = database_url or (
            database if isinstance(database, str) else f"sqlite:///{database}"
        )
        command = [str(BIN_DIR / "mistral-core"), "serve", "--host", HOST, "--port", str(self.port), *options]
        env = clean_env(settings)
        super().__init__("mistral-core serve", [*command, "--database-url", self.database_url], log_path, env)
        self.api = Api(self.base_url)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.port}"

    def wait_ready(self) -> ServerProcess:
        """Poll until ``GET /v2`` answers 200; return self."""

        def answering() -> bool:
            self._assert_alive()
            try:
                return request("GET", self.base_url + "/v2", timeout=2.0).status == 200
            except OSError:
                return False

        wait_until(answering, f"{self.name} to answer on {self.base_url}/v2", timeout=READY_TIMEOUT)
        return self


class SumService(Process):
    """The seed's sample web service (contrib/sum_service) on a free port.

    Args:
        log_path: where its log lines go.
        delay: seconds before it calls back.
    """

    SCRIPT = REPO_ROOT / "contrib" / "sum_service" / "sum_service.py"

    def __init__(self, log_path: Path, delay: float = 0.1) -> None:
        self.port = free_port()
        command = [sys.executable, str(self.SCRIPT), "--host", HOST, "--port", str(self.port)]
        super().__init__("sum service", [*command, "--delay", str(delay)], log_path)

    @property
    def url(self) -> str:
        """Where the service answers."""
        return f"http://{HOST}:{self.port}"


class ProcessGroup:
    """Starts processes for a test and stops every one still running at the end.

    Args:
        directory: where databases and logs go.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[Process] = []
        self._count = 0

    def _log(self, stem: str) -> Path:
        self._count += 1
        return self.directory / f"{stem}-{self._count}.log"

    def server(
        self,
        database: Path | str | None = None,
        port: int | None = None,
        wait: bool = True,
        options: Sequence[str] = (),
        database_url: str | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> ServerProcess:
        """Start ``mistral-core serve`` (default: on a new SQLite file; a str is a database URL); with
        ``wait``, until it answers; ``settings``: more of its environment."""
        database = database or self.directory / "mistral-core.db"
        server = ServerProcess(database, self._log("server"), port, options, database_url, settings)
        self.processes.append(server)
        return server.wait_ready() if wait else server

    def sum_service(self, delay: float = 0.1) -> SumService:
        """Start the sum service and wait until it listens."""
        service = SumService(self._log("sum-service"), delay)
        self.processes.append(service)
        service.wait_port(service.port)
        return service

    def spawn(self, name: str, command: Sequence[str], env: Mapping[str, str] | None = None) -> Process:
        """Start any other process (its log in the directory)."""
        process = Process(name, command, self._log(name.replace(" ", "-")), env)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        """SIGTERM (then SIGKILL) whatever is still running; close every log."""
        for process in reversed(self.processes):
            process.stop()


@contextmanager
def process_group(directory: Path) -> Iterator[ProcessGroup]:
    """A :class:`ProcessGroup` stopped on exit."""
    group = ProcessGroup(directory)
    try:
        yield group
    finally:
        group.stop_all()


def mistral_core(*args: str, cwd: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``mistral-core`` with ``args`` in ``cwd``; never raises on failure."""
    command = [str(BIN_DIR / "mistral-core"), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=clean_env(), cwd=cwd, timeout=timeout, check=False
    )


def create_key(database_url: str, name: str, role: str, cwd: Path, project: str | None = None) -> str:
    """``mistral-core keys create`` (it must succeed); the secret it printed on its last line."""
    extra = ["--project", project] if project else []
    args = ("keys", "create", "--name", name, "--role", role, *extra, "--database-url", database_url)
    done = mistral_core(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


# -- the real mistral CLI -----------------------------------------------------------------------


def key_login(base_url: str, name: str, secret: str, project: str = "demo") -> tuple[str, ...]:
    """The ``mistral`` options that log in with an API key (its name and secret) through the
    client's keycloak-oidc auth type, as README.md documents them."""
    return (
        "--auth-type", "keycloak-oidc", "--os-auth-url", base_url, "--os-project-name", project,
        "--openid-client-id", "mistral", "--os-username", name, "--os-password", secret,
    )  # fmt: skip


def mistral(
    base_url: str, *args: str, timeout: float = 60.0, login: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run python-mistralclient's ``mistral`` command against ``base_url`` (with the ``login``
    options, if any); never raises on failure."""
    command = [str(BIN_DIR / "mistral"), "--os-mistral-url", f"{base_url}/v2", *login, *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=clean_env(), timeout=timeout, check=False
    )


def mistral_json(base_url: str, *args: str, login: Sequence[str] = ()) -> Any:
    """A ``mistral`` command that must succeed, with ``-f json``; its parsed output."""
    result = mistral(base_url, *args, "-f", "json", login=login)
    assert result.returncode == 0, f"mistral {' '.join(args)} -> {result.returncode}: {result.stderr}"
    return json.loads(result.stdout)
