"""Bundles over the real broker: parts delivered one by one, the bundle acknowledged with its last
part, and delivered again whole when its consumer goes before that (transport/bundles.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from kombu import Connection, Exchange, Producer

from mistral_core.transport.bundles import HEADER
from mistral_core.transport.link import Consume, Delivery, Link, Outgoing
from tests.integration.support import wait_until
from tests.split import broker

QUEUE = "mistral.test.bundles"


@pytest.fixture
def amqp_url() -> Iterator[str]:
    with broker.vhost() as url:
        yield url


def _consuming(url: str, got: list[Delivery]) -> Link:
    link = Link(url, "consumer", [Consume(QUEUE, got.append)], prefetch=10)
    link.start()
    return link


def _ready_and_unacked(url: str) -> tuple[int, int]:
    out = broker.ctl(
        "list_queues", "-p", url.rsplit("/", 1)[1], "name", "messages_ready", "messages_unacknowledged"
    )
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == QUEUE:
            return int(fields[1]), int(fields[2])
    return -1, -1


def test_a_bundle_is_one_message_whose_parts_are_delivered_and_acknowledged_one_by_one(amqp_url: str) -> None:
    confirmed: list[int] = []
    sender = Link(amqp_url, "sender")
    sender.publish(
        [Outgoing(QUEUE, {"n": n}, on_confirmed=lambda n=n: confirmed.append(n), bundle=4) for n in range(5)]
    )
    sender.start()
    try:
        wait_until(lambda: len(confirmed) == 5, "the broker's confirms", timeout=30)
        assert sorted(confirmed) == [0, 1, 2, 3, 4]
        assert _ready_and_unacked(amqp_url) == (2, 0)  # a bundle of 4 and a message alone
    finally:
        sender.stop()

    got: list[Delivery] = []
    consumer = _consuming(amqp_url, got)
    try:
        wait_until(lambda: len(got) == 5, "five deliveries", timeout=30)
        assert [d.body for d in got] == [{"n": n} for n in range(5)]
        got[4].ack()  # the message alone
        for delivery in got[:3]:
            delivery.ack()  # three parts of four: the bundle is not acknowledged yet
        wait_until(lambda: _ready_and_unacked(amqp_url) == (0, 1), "the bundle unacknowledged", timeout=30)
    finally:
        consumer.stop()  # the consumer goes: the broker keeps the bundle

    again: list[Delivery] = []
    consumer = _consuming(amqp_url, again)
    try:
        wait_until(lambda: len(again) == 4, "the bundle delivered again, whole", timeout=30)
        assert [d.body for d in again] == [{"n": n} for n in range(4)]
        assert all(d.redelivered for d in again)
        for delivery in again:
            delivery.ack()
        wait_until(lambda: _ready_and_unacked(amqp_url) == (0, 0), "an empty queue", timeout=30)
    finally:
        consumer.stop()


def test_a_message_marked_as_a_bundle_without_a_list_reaches_its_consumer_as_it_is(amqp_url: str) -> None:
    got: list[Delivery] = []
    consumer = _consuming(amqp_url, got)
    try:
        wait_until(lambda: consumer.connected.is_set(), "the consumer connected", timeout=30)
        with Connection(amqp_url) as conn:
            Producer(conn.channel(), exchange=Exchange("mistral", "direct", durable=True)).publish(
                {"not": "a list"}, routing_key=QUEUE, serializer="json", headers={HEADER: 3}
            )
        (delivery,) = wait_until(lambda: list(got), "the message", timeout=30)
        assert delivery.body == {"not": "a list"}
        delivery.ack()
        wait_until(lambda: _ready_and_unacked(amqp_url) == (0, 0), "an empty queue", timeout=30)
    finally:
        consumer.stop()


def test_requests_and_their_answers_travel_in_bundles_and_each_answer_finds_its_request(
    amqp_url: str,
) -> None:
    answering: list[Link] = []

    def answer(delivery: Delivery) -> None:
        reply = Outgoing(
            delivery.reply_to or "",
            {"twice": delivery.body["n"] * 2},
            persistent=False,
            correlation_id=delivery.correlation_id,
            to_reply_queue=True,
            bundle=8,
        )
        answering[0].publish([reply])
        delivery.ack()

    answering.append(Link(amqp_url, "answering", [Consume(QUEUE, answer)]))
    asking = Link(amqp_url, "asking", rpc=True)
    answering[0].start()
    asking.start()
    try:
        wait_until(
            lambda: asking.connected.is_set() and answering[0].connected.is_set(), "connected", timeout=30
        )
        futures = [asking.request(QUEUE, {"n": n}, bundle=8) for n in range(20)]
        assert [f.result(30) for f in futures] == [{"twice": 2 * n} for n in range(20)]
        wait_until(lambda: _ready_and_unacked(amqp_url) == (0, 0), "every request acknowledged", timeout=30)
    finally:
        asking.stop()
        answering[0].stop()


def test_a_part_acknowledged_twice_counts_once(amqp_url: str) -> None:
    sender = Link(amqp_url, "sender")
    sender.publish([Outgoing(QUEUE, {"n": n}, bundle=4) for n in range(3)])
    sender.start()
    got: list[Delivery] = []
    consumer = _consuming(amqp_url, got)
    try:
        wait_until(lambda: len(got) == 3, "three parts", timeout=30)
        got[0].ack()
        got[0].ack()
        got[1].ack()  # two of three parts: the bundle is not acknowledged
        done = threading.Event()
        consumer.call(done.set)  # after the acknowledgements: the link runs its jobs in order
        assert done.wait(30)
        time.sleep(0.5)
        assert _ready_and_unacked(amqp_url) == (0, 1)
        got[2].ack()
        wait_until(lambda: _ready_and_unacked(amqp_url) == (0, 0), "the bundle acknowledged", timeout=30)
    finally:
        consumer.stop()
        sender.stop()
