"""``mistral-core run WORKFLOW.yaml``: one workflow run to its end in this process.

The whole service runs here, as ``serve`` runs it (engine, executors, scheduler, the API), over a
throwaway SQLite database (or ``--database-url``), and the API listens on loopback so that waits
can be completed the usual ways (``curl``, the ``mistral`` CLI, a third party, an approval page):
the progress printed names each wait and the command that completes it. The workflow's output is
printed on the standard output as JSON; everything else goes to the standard error.

Exit status (:class:`Exit`): 0 SUCCESS, 1 ERROR, 3 CANCELLED, 2 when the workflow could not be
run at all (a file or input that is not valid), 130 when interrupted.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import socketserver
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from mistral_core import dblock
from mistral_core.approvals.wiring import HumanWaits
from mistral_core.config import MAX_PORT, Settings
from mistral_core.errors import MistralError
from mistral_core.model import ActionExecution, State
from mistral_core.progress import PlainView, TerminalView, View, Watcher, watch

LOG = logging.getLogger(__name__)
HOST = "127.0.0.1"
#: The largest workflow file read (the API's own body limit).
MAX_FILE_BYTES = 1_048_576


class Exit(enum.IntEnum):
    """The exit status of ``run``."""

    SUCCESS = 0
    ERROR = 1
    NOT_RUN = 2
    CANCELLED = 3
    INTERRUPTED = 130


class RunRefused(MistralError):
    """The workflow could not be run (exit status 2): the message says why, in one line."""


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged: the terminal shows the workflow's progress."""


def run_file(
    path: Path,
    wf_input: dict[str, Any],
    *,
    workflow: str | None = None,
    database_url: str | None = None,
    port: int = 0,
    out: TextIO,
    err: TextIO,
    terminal: bool = False,
) -> Exit:
    """Run the workflow of ``path`` to its end, printing progress on ``err`` and the output on ``out``.

    Args:
        path: a workflow document (Mistral's language v2; one or several workflows).
        wf_input: the workflow's input.
        workflow: which workflow of the document (needed when it has several).
        database_url: the database (default: a new SQLite file, deleted at the end).
        port: the loopback port of the API (0: any free one).
        out: where the output JSON goes.
        err: where progress goes.
        terminal: ``err`` is a terminal: colours and a status line.

    Raises:
        RunRefused: the file, the workflow or the input is not valid; the database or port is taken.
    """
    text = _read(path)
    with contextlib.ExitStack() as stack:
        url = database_url or _throwaway(stack)
        server = _bind(port)
        stack.callback(server.server_close)
        public_url = f"http://{HOST}:{server.server_port}"
        service = _start_service(stack, url, server)
        engine = service.engine
        name = _pick(engine.definitions.update_workflows(text), workflow, path)
        wf_ex = engine.executions.start(name, wf_input=wf_input)
        err.write(f"workflow {name} started: execution {wf_ex.id} (API on {public_url})\n")
        view: View = TerminalView(err) if terminal else PlainView(err)
        try:
            final = watch(Watcher(engine.store, wf_ex.id, wait_hint(public_url, service.human)), view)
        except KeyboardInterrupt:
            kept = f"it stays in {url}" if database_url else "the throwaway database is deleted"
            err.write(f"\ninterrupted: execution {wf_ex.id} did not end ({kept})\n")
            return Exit.INTERRUPTED
        out.write(json.dumps(final.output, indent=2, sort_keys=True, default=str) + "\n")
        out.flush()
        return {State.SUCCESS: Exit.SUCCESS, State.CANCELLED: Exit.CANCELLED}.get(final.state, Exit.ERROR)
    raise AssertionError("unreachable")  # pragma: no cover - the with block returns


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise RunRefused(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise RunRefused(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RunRefused(f"{path} is not UTF-8 text") from None


def _throwaway(stack: contextlib.ExitStack) -> str:
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="mistral-core-run-"))
    return f"sqlite:///{Path(folder) / 'run.db'}"


def _bind(port: int) -> _Server:
    if not 0 <= port <= MAX_PORT:
        raise RunRefused(f"port must be 0 to {MAX_PORT}, not {port}")
    try:
        server = make_server(HOST, port, _no_app, server_class=_Server, handler_class=_QuietHandler)
    except OSError as exc:
        raise RunRefused(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
    return server


def _no_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting\n"]


def _start_service(stack: contextlib.ExitStack, database_url: str, server: _Server) -> Any:
    from mistral_core.bootstrap import build_service

    settings = Settings(host=HOST, port=server.server_port, database_url=database_url, log_level="WARNING")
    lock = dblock.hold(settings.database_url, f"mistral-core run on http://{HOST}:{server.server_port}")
    if lock is not None:
        stack.callback(lock.release)
    service = build_service(settings)
    stack.callback(service.stop)
    server.set_app(service.app)
    thread = threading.Thread(target=server.serve_forever, name="run-api", daemon=True)
    thread.start()
    stack.callback(server.shutdown)
    return service


def _pick(defined: list[Any], wanted: str | None, path: Path) -> str:
    names = [wf_def.name for wf_def in defined]
    if wanted is not None:
        if wanted not in names:
            raise RunRefused(f"{path} has no workflow {wanted!r}; it has {', '.join(names)}")
        return wanted
    if len(names) != 1:
        raise RunRefused(
            f"{path} has {len(names)} workflows ({', '.join(names)}): choose one with --workflow"
        )
    return str(names[0])


def wait_hint(public_url: str, human: HumanWaits) -> Callable[[ActionExecution], list[str]]:
    """How to complete a wait of the server at ``public_url``: an approval's page, else a curl line
    and a mistral CLI line."""

    def hint(action_ex: ActionExecution) -> list[str]:
        if human.approvals.is_human_wait(action_ex):
            return [f"answer it in a browser: {human.links.url(action_ex)}"]
        url = f"{public_url}/v2/action_executions/{action_ex.id}"
        return [
            f"complete it: curl -X PUT {url} -H 'Content-Type: application/json' "
            """-d '{"state": "SUCCESS", "output": "done"}'""",
            f"         or: mistral --os-mistral-url {public_url}/v2 action-execution-update "
            f"{action_ex.id} --state SUCCESS --output '\"done\"'",
        ]

    return hint
