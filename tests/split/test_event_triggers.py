"""Event triggers through the real RabbitMQ and PostgreSQL with two engines: every message
published on the trigger's exchange and topic starts its workflow exactly once, with the event in
``params.event_params``, though one engine is killed with SIGKILL mid-way and a message is
published twice; bodies that are not notifications, too large, or of another event start nothing.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from kombu import Connection, Exchange, Producer

from tests.contract.conftest import pg_url  # noqa: F401  (a fixture, used by name)
from tests.integration.support import Api, wait_until
from tests.split import broker
from tests.split.test_split_deployment import Deployment, _processes, amqp_url  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres]

N = 120
EVENT = "compute.instance.create.end"
WORKFLOW = """\
---
version: '2.0'
on_event:
  input: [zone]
  tasks:
    t:
      action: std.echo output=<% $.zone %>
"""


def _notification(n: int, event: str = EVENT) -> bytes:
    """An oslo.messaging notification, enveloped as oslo's messagingv2 driver sends it."""
    inner = {
        "message_id": f"msg-{n}",
        "publisher_id": "compute.host1",
        "event_type": event,
        "priority": "INFO",
        "payload": {"n": n},
        "timestamp": "2026-12-06 20:00:00.000000",
        "_context_project_id": "tenant",
    }
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(inner)}).encode()


def _consumers(url: str, queue: str) -> int:
    vhost = urlsplit(url).path.lstrip("/")
    for line in broker.ctl("list_queues", "-q", "-p", vhost, "name", "consumers").splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == queue:
            return int(fields[1])
    return 0


def _wait_answering(api: Api) -> None:
    def answering() -> bool:
        try:
            return api.call("GET", "/v2", timeout=2.0).status == 200
        except OSError:
            return False

    wait_until(answering, "the API to answer", timeout=120, interval=0.5)


def _executions(api: Api) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api.get("/v2/executions?limit=1000")["executions"]
    return listed


def test_each_message_starts_its_workflow_exactly_once_with_two_engines_one_killed(
    tmp_path: Path,
    pg_url: str,  # noqa: F811  (the fixture imported above)
    amqp_url: str,  # noqa: F811  (the fixture imported above)
) -> None:
    with _processes(tmp_path) as processes:
        deployment = Deployment(processes, pg_url, amqp_url)
        deployment.env["MISTRAL_CORE_EVENT_POLL"] = "0.5"
        deployment.env["MISTRAL_CORE_EVENT_MAX_BYTES"] = "4096"
        engines = [deployment.spawn("engine 1", "engine"), deployment.spawn("engine 2", "engine")]
        deployment.spawn("executor", "executor")
        deployment.spawn("api", "api", "--port", str(deployment.port), "--workers", "1").wait_port(
            deployment.port
        )
        api = deployment.api
        _wait_answering(api)  # gunicorn listens before its worker has loaded the app
        (wf,) = api.create_workflows(WORKFLOW)
        body = {
            "name": "on_create",
            "exchange": "nova",
            "topic": "notifications",
            "event": EVENT,
            "workflow_id": wf["id"],
            "workflow_input": {"zone": "z1"},
            "workflow_params": {"env": {"from": "trigger"}},
        }
        trigger = api.ok("POST", "/v2/event_triggers", body)
        queue = f"mistral_core.event_trigger.{trigger['id']}"
        wait_until(
            lambda: _consumers(amqp_url, queue) == 2, "both engines listening", timeout=60, interval=0.3
        )

        with Connection(amqp_url) as conn:
            producer = Producer(conn.channel(), exchange=Exchange("nova", "topic", durable=False))

            def publish(raw: bytes) -> None:
                producer.publish(raw, routing_key="notifications.info", content_type="application/json")

            for n in range(N // 2):
                publish(_notification(n))
            wait_until(lambda: len(_executions(api)) >= N // 6, "the first executions", timeout=60)
            engines[0].kill()
            for n in range(N // 2, N):
                publish(_notification(n))
            publish(_notification(0))  # the same message again
            publish(_notification(N, event="compute.instance.delete.end"))  # another event
            publish(b"this is not JSON")
            publish(b'{"event_type": "' + EVENT.encode() + b'", "payload": "' + b"x" * 5000 + b'"}')

        wait_until(lambda: len(_executions(api)) >= N, f"{N} executions", timeout=120, interval=0.5)
        wait_until(
            lambda: _consumers(amqp_url, queue) == 1 and _ready(amqp_url, queue) == 0, "an empty queue"
        )
        time.sleep(2)  # anything left to start would start now
        executions = _executions(api)

    assert len(executions) == N
    started = Counter(json.loads(ex["params"])["event_params"]["payload"]["n"] for ex in executions)
    assert started == Counter(range(N))
    first = json.loads(executions[0]["params"])
    assert first["env"] == {"from": "trigger"}
    assert set(first["event_params"]) == {
        "service",
        "project_id",
        "user_id",
        "timestamp",
        "event_type",
        "payload",
        "message_id",
    }
    assert json.loads(executions[0]["input"]) == {"zone": "z1"}
    assert json.loads(executions[0]["description"])["triggered_by"]["id"] == trigger["id"]
    assert all(ex["state"] in ("RUNNING", "SUCCESS") for ex in executions)


def _ready(url: str, queue: str) -> int:
    vhost = urlsplit(url).path.lstrip("/")
    for line in broker.ctl("list_queues", "-q", "-p", vhost, "name", "messages").splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == queue:
            return int(fields[1])
    return -1


@contextlib.contextmanager
def _serve_listening(
    tmp_path: Path,
    amqp_url: str,  # noqa: F811  (the fixture's value, passed on)
    exchange: str,
) -> Iterator[tuple[Any, Api, dict[str, Any], str]]:
    """``serve`` with a transport, a workflow and a trigger on ``exchange`` it listens for:
    (the server's process, its API, the trigger, the trigger's queue); stopped afterwards."""
    from tests.integration.support import BIN_DIR, HOST, Process, clean_env, free_port

    port = free_port()
    env = clean_env({"MISTRAL_CORE_TRANSPORT": amqp_url, "MISTRAL_CORE_EVENT_POLL": "0.3"})
    command = [str(BIN_DIR / "mistral-core"), "serve", "--host", HOST, "--port", str(port)]
    database = f"sqlite:///{tmp_path / 'serve.db'}"
    server = Process("serve", [*command, "--database-url", database], tmp_path / "serve.log", env)
    try:
        server.wait_port(port)
        api = Api(f"http://{HOST}:{port}")
        _wait_answering(api)
        (wf,) = api.create_workflows(WORKFLOW)
        body = {"exchange": exchange, "topic": "notifications", "event": EVENT, "workflow_id": wf["id"]}
        body["workflow_input"] = {"zone": "z"}
        trigger = api.ok("POST", "/v2/event_triggers", body)
        queue = f"mistral_core.event_trigger.{trigger['id']}"
        wait_until(lambda: _consumers(amqp_url, queue) == 1, "serve listening", timeout=30, interval=0.2)
        yield server, api, trigger, queue
    finally:
        server.stop()


def test_serve_with_a_transport_listens_reconnects_and_a_deleted_trigger_stops_listening(
    tmp_path: Path,
    amqp_url: str,  # noqa: F811  (the fixture imported above)
) -> None:
    with _serve_listening(tmp_path, amqp_url, "glance") as (server, api, trigger, queue):
        with Connection(amqp_url) as conn:
            producer = Producer(conn.channel(), exchange=Exchange("glance", "topic", durable=False))
            producer.publish(_notification(7), routing_key="notifications.info")
            (ex,) = wait_until(lambda: _executions(api), "the execution", timeout=30)
            assert json.loads(ex["params"])["event_params"]["payload"] == {"n": 7}
            assert api.wait_finished(ex["id"])["state"] == "SUCCESS"

        # Every connection of the vhost dropped (not the broker: others share it): serve reconnects.
        vhost = urlsplit(amqp_url).path.lstrip("/")
        broker.ctl("close_all_connections", "--vhost", vhost, "a test drops every connection")
        wait_until(
            lambda: _consumers(amqp_url, queue) == 1, "serve listening again", timeout=60, interval=0.3
        )
        with Connection(amqp_url) as conn:
            producer = Producer(conn.channel(), exchange=Exchange("glance", "topic", durable=False))
            producer.publish(_notification(9), routing_key="notifications.info")
            wait_until(lambda: len(_executions(api)) == 2, "the execution after reconnecting", timeout=30)

            assert api.call("DELETE", f"/v2/event_triggers/{trigger['id']}").status == 204
            wait_until(lambda: _consumers(amqp_url, queue) == 0, "serve no longer listening", timeout=30)
            producer.publish(_notification(8), routing_key="notifications.info")
        time.sleep(1)
        assert len(_executions(api)) == 2
        assert "event triggers: listening on the broker" in server.log()


def test_a_message_published_in_maintenance_starts_its_workflow_once_it_ends(
    tmp_path: Path,
    amqp_url: str,  # noqa: F811  (the fixture imported above)
) -> None:
    with _serve_listening(tmp_path, amqp_url, "cinder") as (_server, api, _trigger, queue):
        assert api.ok("PUT", "/maintenance", {"status": "PAUSED"}) == {"status": "PAUSED"}

        with Connection(amqp_url) as conn:
            producer = Producer(conn.channel(), exchange=Exchange("cinder", "topic", durable=False))
            producer.publish(_notification(5), routing_key="notifications.info")
        time.sleep(3)
        assert _executions(api) == [], "nothing starts in maintenance"

        assert api.ok("PUT", "/maintenance", {"status": "RUNNING"}) == {"status": "RUNNING"}
        (ex,) = wait_until(lambda: _executions(api), "the held message's execution", timeout=60, interval=0.5)
        assert json.loads(ex["params"])["event_params"]["payload"] == {"n": 5}
        wait_until(lambda: _ready(amqp_url, queue) == 0, "an empty queue", timeout=60)
        time.sleep(1)
        assert len(_executions(api)) == 1


def test_a_link_binds_to_an_existing_exchange_and_queue_whatever_their_arguments(amqp_url: str) -> None:  # noqa: F811
    from mistral_core.transport.link import Binding, Consume, Delivery, Link

    with Connection(amqp_url) as conn:  # made by someone else, with other arguments
        channel = conn.channel()
        channel.exchange_declare("keystone", "topic", durable=True, auto_delete=False)
        channel.queue_declare("q.other", durable=True, auto_delete=False, arguments={"x-expires": 5000})
    got: list[Delivery] = []
    link = Link(amqp_url, "test")
    link.start()
    try:
        link.add_consume(
            Consume("q.other", got.append, Binding("keystone", ("notifications", "notifications.#")))
        )
        wait_until(
            lambda: _consumers(amqp_url, "q.other") == 1, "the link consuming", timeout=30, interval=0.2
        )
        with Connection(amqp_url) as conn:
            Producer(conn.channel(), exchange=Exchange("keystone", "topic", durable=True)).publish(
                b"\x00raw bytes", routing_key="notifications.warn"
            )
        (delivery,) = wait_until(lambda: list(got), "the message", timeout=30)
        assert delivery.body == b"\x00raw bytes"
        delivery.ack()
    finally:
        link.stop()
