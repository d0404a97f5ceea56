"""An action run through the API (``POST /v2/action_executions``) holds up neither the server nor
its caller for ever.

A sync action run that way used to run on the thread that serves requests: with the default
``http_threads = 1`` (the event loop's thread) one ``std.sleep`` or one ``std.http`` to a slow
service stopped the whole API, for every client, until the action ended.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from mistral_core.actions.registry import ActionRegistry
from mistral_core.executor import Executor
from mistral_core.model import ActionCompleted, RunAction, State
from mistral_core.transport.local import LocalTransport
from tests.integration.support import HOST, ProcessGroup, Response, request

pytestmark = [pytest.mark.integration]

LIVENESS_S = 10.0  # the other client's request must be answered within this (no speed is asserted)


class SilentService:
    """A loopback TCP service that accepts one connection and answers nothing until released."""

    def __init__(self) -> None:
        self._listener = socket.create_server((HOST, 0))
        self.url = f"http://{HOST}:{self._listener.getsockname()[1]}/"
        self.connected = threading.Event()
        self._released = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        with conn:
            self.connected.set()
            self._released.wait(60)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def release(self) -> None:
        self._released.set()
        self._thread.join(10)
        self._listener.close()


@pytest.fixture
def silent() -> Iterator[SilentService]:
    service = SilentService()
    yield service
    service.release()


def test_a_sync_action_that_waits_does_not_hold_up_other_clients(
    processes: ProcessGroup, silent: SilentService
) -> None:
    server = processes.server()
    answers: list[Response] = []
    run = threading.Thread(
        target=lambda: answers.append(
            request(
                "POST",
                f"{server.base_url}/v2/action_executions",
                {"name": "std.http", "input": {"url": silent.url, "timeout": 30}},
                timeout=40,
            )
        )
    )
    run.start()
    try:
        assert silent.connected.wait(LIVENESS_S), "the action never reached the service"
        other = request("GET", f"{server.base_url}/v2/executions", timeout=LIVENESS_S)
        assert other.status == 200
        assert run.is_alive(), "answered while the action was still waiting for its service"
    finally:
        silent.release()
        run.join(40)
    assert answers and answers[0].status == 201, answers
    assert answers[0].json()["state"] == "SUCCESS"


class Stuck:
    """An action that does not end until its test lets it."""

    released = threading.Event()

    def run(self, context: object) -> str:
        Stuck.released.wait(30)
        return "late"


def test_a_run_that_does_not_end_is_answered_with_an_error_after_the_bound() -> None:
    transport = LocalTransport(
        Executor(ActionRegistry.from_classes({"stuck": Stuck}), "http://127.0.0.1:8989"),
        workers=1,
        run_now_timeout=0.2,
    )
    command = RunAction("a1", "stuck", {}, is_sync=True)
    try:
        event = transport.run_now(command)
    finally:
        Stuck.released.set()
        transport.stop()
    assert isinstance(event, ActionCompleted)
    assert event.state is State.ERROR
    assert event.output == (
        "Action stuck did not finish within 0.2 s (run it with params.save_result to let it run "
        "in the background)"
    )
