"""Notifications through real servers: a receiver that refuses the first tries of each delivery gets
every event at least once, repeats marked by the same ``webhook-id`` and every try signed (checked
with the Standard Webhooks library); sub-workflows and the server's ``notify`` setting; the egress
policy; a retry that survives ``kill -9``; and the unchanged ``mistral`` CLI."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook

from tests.integration.support import HOST, STOP_TIMEOUT, Api, ProcessGroup, mistral_json, wait_until

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WORKFLOWS = """
version: '2.0'
nt_child:
  tasks:
    c1: {action: std.noop}
nt_parent:
  tasks:
    p1:
      workflow: nt_child
      on-success: p2
    p2: {action: std.echo output=2}
nt_wait:
  tasks:
    w1: {action: std.async_noop}
"""
PARENT_EVENTS = Counter(
    {
        ("WORKFLOW_LAUNCHED", "nt_parent"): 1,
        ("TASK_LAUNCHED", "p1"): 1,
        ("WORKFLOW_LAUNCHED", "nt_child"): 1,
        ("TASK_LAUNCHED", "c1"): 1,
        ("TASK_SUCCEEDED", "c1"): 1,
        ("WORKFLOW_SUCCEEDED", "nt_child"): 1,
        ("TASK_SUCCEEDED", "p1"): 1,
        ("TASK_LAUNCHED", "p2"): 1,
        ("TASK_SUCCEEDED", "p2"): 1,
        ("WORKFLOW_SUCCEEDED", "nt_parent"): 1,
    }
)


class Receiver:
    """A webhook receiver on loopback that answers 503 to the first ``refusals`` tries of each
    ``webhook-id``, then 200; it records every try."""

    def __init__(self, refusals: int) -> None:
        self.tries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    seen = sum(
                        1 for t in receiver.tries if t["headers"]["webhook-id"] == headers["webhook-id"]
                    )
                    status = 503 if seen < refusals else 200
                    receiver.tries.append(
                        {"path": self.path, "headers": headers, "body": body, "status": status}
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        """An URL of the receiver."""
        return f"http://{HOST}:{self._server.server_address[1]}{path}"

    def delivered(self, path: str) -> list[dict[str, Any]]:
        """The tries on ``path`` that were answered 200."""
        with self._lock:
            return [t for t in self.tries if t["path"] == path and t["status"] == 200]

    def on(self, path: str) -> list[dict[str, Any]]:
        """Every try on ``path``."""
        with self._lock:
            return [t for t in self.tries if t["path"] == path]

    def close(self) -> None:
        """Stop listening."""
        self._server.shutdown()
        self._server.server_close()


def _config(directory: Path, text: str) -> None:
    """The settings file the servers of ``directory`` read (their working directory)."""
    (directory / "mistral-core.toml").write_text(text)


def _events(tries: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((body["event"], body["name"]) for body in (json.loads(t["body"]) for t in tries))


def _notifications(api: Api, **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    listed: list[dict[str, Any]] = api.get(f"/v2/notifications?{query}")["notifications"]
    return listed


def test_every_event_gets_through_a_receiver_that_refuses_first_tries(processes: ProcessGroup) -> None:
    receiver = Receiver(refusals=2)
    try:
        _config(
            processes.directory,
            "notify_backoff = [0.5, 1]\n"
            f'[[notify]]\ntype = "webhook"\nurl = "{receiver.url("/server")}"\n'
            'event_types = ["WORKFLOW_SUCCEEDED"]\n',
        )
        api = processes.server().api
        api.create_workflows(WORKFLOWS)
        own = {"type": "webhook", "url": receiver.url("/own"), "secret": SECRET, "headers": {"X-Tag": "t"}}
        metadata = {
            "type": "webhook",
            "url": "http://169.254.169.254/latest",
            "event_types": ["WORKFLOW_LAUNCHED"],
        }
        ex = api.ok(
            "POST", "/v2/executions", {"workflow_name": "nt_parent", "params": {"notify": [own, metadata]}}
        )
        assert api.wait_finished(ex["id"])["state"] == "SUCCESS"

        wait_until(lambda: _events(receiver.delivered("/own")) == PARENT_EVENTS, "every event delivered", 30)
        tries = receiver.on("/own")
        by_id = Counter(t["headers"]["webhook-id"] for t in tries)
        assert set(by_id.values()) == {3}  # two refused tries, then delivered: one id for all three
        for t in tries:
            assert t["headers"]["x-tag"] == "t" and t["headers"]["content-type"] == "application/json"
            Webhook(SECRET).verify(t["body"], t["headers"])  # raises if a try is not signed right
        for webhook_id in by_id:
            assert len({t["body"] for t in tries if t["headers"]["webhook-id"] == webhook_id}) == 1

        expected = Counter({("WORKFLOW_SUCCEEDED", "nt_child"): 1, ("WORKFLOW_SUCCEEDED", "nt_parent"): 1})
        wait_until(lambda: _events(receiver.delivered("/server")) == expected, "the server's publisher", 30)
        assert len(json.loads(ex["params"])["notify"]) == 2  # the server's publisher is not written there

        delivered = wait_until(
            lambda: [n for n in _notifications(api, state="DELIVERED") if n["attempts"] == 3], "rows", 30
        )
        assert len(delivered) >= len(by_id)
        refused = _notifications(api, state="FAILED")  # the child tells its parent's publishers too
        assert sorted(n["entity_name"] for n in refused) == ["nt_child", "nt_parent"]
        for row in refused:
            assert row["target"] == "http://169.254.169.254/latest" and row["attempts"] == 1
            assert "egress policy" in row["last_error"] and "not tried again" in row["last_error"]
        shown = json.loads(api.execution(ex["id"])["params"])["notify"]
        assert shown[0]["secret"] == "***"
    finally:
        receiver.close()


def test_a_retry_survives_kill_9(processes: ProcessGroup) -> None:
    receiver = Receiver(refusals=1)
    try:
        _config(processes.directory, "notify_backoff = [3]\n")
        server = processes.server()
        api = server.api
        api.create_workflows(WORKFLOWS)
        hook = {"type": "webhook", "url": receiver.url("/hook"), "event_types": ["WORKFLOW_LAUNCHED"]}
        ex = api.ok("POST", "/v2/executions", {"workflow_name": "nt_wait", "params": {"notify": [hook]}})
        wait_until(lambda: _notifications(api, state="RETRYING"), "the failed try recorded")

        server.kill()
        again = processes.server()  # the same SQLite file
        (first, second) = wait_until(
            lambda: receiver.on("/hook")[1:] and receiver.on("/hook"), "the retry", 30
        )

        assert first["status"] == 503 and second["status"] == 200
        assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
        assert json.loads(second["body"])["id"] == ex["id"]
        (row,) = wait_until(lambda: _notifications(again.api, state="DELIVERED"), "the delivery recorded")
        assert row["attempts"] == 2 and row["last_error"].startswith("try 1: POST ")
    finally:
        receiver.close()


def test_the_mistral_cli_starts_an_execution_that_notifies(processes: ProcessGroup) -> None:
    receiver = Receiver(refusals=0)
    try:
        server = processes.server()
        server.api.create_workflows(WORKFLOWS)
        notify = [{"type": "webhook", "url": receiver.url("/cli"), "event_types": ["WORKFLOW_SUCCEEDED"]}]

        ex = mistral_json(
            server.base_url, "execution-create", "nt_child", "{}", json.dumps({"notify": notify})
        )

        (got,) = wait_until(
            lambda: receiver.delivered("/cli"), "the CLI execution's notification", STOP_TIMEOUT
        )
        body = json.loads(got["body"])
        assert (body["id"], body["event"], body["state"]) == (ex["ID"], "WORKFLOW_SUCCEEDED", "SUCCESS")
    finally:
        receiver.close()


def test_readers_never_see_a_publisher_s_secret_header_values_or_url_query(processes: ProcessGroup) -> None:
    receiver = Receiver(refusals=0)
    try:
        server = processes.server()
        server.api.create_workflows(WORKFLOWS)
        publisher = {
            "type": "webhook",
            "url": receiver.url("/masked") + "?token=t0ps3cret",
            "headers": {"Authorization": "Bearer s3cret-bearer"},
            "secret": SECRET,
        }
        ex = server.api.call(
            "POST", "/v2/executions", {"workflow_name": "nt_child", "params": {"notify": [publisher]}}
        )
        assert ex.status == 201, ex

        shown = server.api.get(f"/v2/executions/{json.loads(ex.body)['id']}")["params"]
        assert "t0ps3cret" not in shown and "s3cret-bearer" not in shown and SECRET not in shown
        (masked,) = json.loads(shown)["notify"]
        assert masked["headers"] == {"Authorization": "***"} and masked["url"].endswith("/masked?***")
        wait_until(
            lambda: receiver.delivered("/masked?token=t0ps3cret"),
            "a delivery with the real values",
            STOP_TIMEOUT,
        )
        assert (
            receiver.delivered("/masked?token=t0ps3cret")[0]["headers"]["authorization"]
            == "Bearer s3cret-bearer"
        )
    finally:
        receiver.close()
