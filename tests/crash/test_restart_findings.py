"""What the crash test found about restarts, each shown on its own, deterministically.

A test marked ``xfail(strict=True)`` shows a defect that is still there: when the product is
fixed, the test passes, strict xfail turns that into a failure, and the marker must go.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from tests.crash.support import SideEffectCounter, decoded
from tests.crash.workflows import IN_DOUBT, WORKFLOWS
from tests.integration.support import HOST, ProcessGroup, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_server_restarts_on_its_port_right_after_kill_9(processes: ProcessGroup, tmp_path: Path) -> None:
    """The connections a killed server had open wait in TIME_WAIT on its port: no obstacle to a restart.

    (Found by the crash test: the free-port probe of ``serve`` refused such a port; fixed in feffd96.)
    """
    database = tmp_path / "port.db"
    first = processes.server(database=database)
    with (
        socket.create_connection((HOST, first.port), timeout=10.0) as connection,
        connection.makefile("rb") as answer,
    ):
        connection.sendall(b"GET /v2 HTTP/1.1\r\nHost: localhost\r\n\r\n")  # a name served on loopback
        assert answer.readline().startswith(b"HTTP/1.1 200")  # kept alive: the connection stays open
        first.kill()
        while answer.read1(4096):  # up to the end the kernel sent for the killed server
            pass
    # our close came after the server's end closed: that end now waits in TIME_WAIT, as after any
    # kill -9 that catches a request in progress

    second = processes.server(database=database, port=first.port)

    assert second.api.get("/v2")


def test_an_action_left_in_doubt_says_so_in_its_own_state_info(
    processes: ProcessGroup, tmp_path: Path
) -> None:
    database = tmp_path / "in-doubt.db"
    with SideEffectCounter(delay=0.0, release=threading.Event()) as held:
        first = processes.server(database=database)
        first.api.create_workflows(WORKFLOWS)
        ex_id = first.api.start("http_once", {"key": "held", "base": held.url})["id"]
        wait_until(lambda: held.hits("/once", "held") == 1, "the request to be in flight")

        first.kill()
        second = processes.server(database=database, port=first.port)
        execution = second.api.wait_finished(ex_id)

        assert held.hits("/once", "held") == 1
    calls = second.api.action_executions(second.api.task(ex_id, "call")["id"])
    assert execution["state"] == "ERROR"
    assert [call["state"] for call in calls] == ["ERROR"]
    call = second.api.get(f"/v2/action_executions/{calls[0]['id']}")
    assert IN_DOUBT in str(decoded(call["output"]))
    assert IN_DOUBT in (call["state_info"] or ""), call
