"""How pending messages are grouped into AMQP messages (transport/bundles.py): pure, no broker."""

from __future__ import annotations

from mistral_core.transport.bundles import CORRELATION_HEADER, HEADER, bundled, headers_of
from mistral_core.transport.link import Outgoing


def _bodies(units: list[list[Outgoing]]) -> list[list[object]]:
    return [[message.body["n"] for message in unit] for unit in units]


def test_messages_to_one_queue_travel_together_up_to_the_bundle_size_in_order() -> None:
    messages = [Outgoing("q", {"n": n}, bundle=3) for n in range(7)]
    assert _bodies(bundled(messages)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_each_queue_has_its_own_bundles() -> None:
    messages = [Outgoing("a" if n % 2 else "b", {"n": n}, bundle=8) for n in range(6)]
    assert _bodies(bundled(messages)) == [[0, 2, 4], [1, 3, 5]]


def test_only_messages_of_one_kind_travel_together() -> None:
    messages = [
        Outgoing("q", {"n": 0}, bundle=8),
        Outgoing("q", {"n": 1}, persistent=False, bundle=8),  # may be lost: not with persistent ones
        Outgoing("q", {"n": 2}, reply_to="r1", correlation_id="a", bundle=8),  # requests, by reply queue
        Outgoing("q", {"n": 3}, reply_to="r2", correlation_id="b", bundle=8),
        Outgoing("q", {"n": 4}, reply_to="r1", correlation_id="c", bundle=8),
        Outgoing("q", {"n": 5}),  # bundle=1 (the default): never bundled
        Outgoing("q", {"n": 6}, bundle=8),
    ]
    assert _bodies(bundled(messages)) == [[0, 6], [1], [2, 4], [3], [5]]


def test_a_bundle_of_requests_carries_each_correlation_id() -> None:
    unit = [Outgoing("q", {"n": n}, reply_to="r", correlation_id=f"id{n}", bundle=8) for n in range(3)]
    assert headers_of(unit) == {HEADER: 3, CORRELATION_HEADER: ["id0", "id1", "id2"]}
    assert headers_of([*unit[:2], Outgoing("q", {"n": 9}, bundle=8)]) == {
        HEADER: 3,
        CORRELATION_HEADER: ["id0", "id1", ""],
    }
    assert headers_of([Outgoing("q", {}, bundle=8)] * 2) == {HEADER: 2}
