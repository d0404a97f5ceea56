"""Reading the messages of event triggers: oslo.messaging notifications (enveloped or not), plain
objects, and what is not a notification (refused in one line, never a crash)."""

from __future__ import annotations

import json

import pytest

from mistral_core.model.event_triggers import (
    NotANotification,
    event_name_error,
    message_key,
    read_notification,
    routing_name_error,
)

PLAIN = {"event_type": "x.created", "payload": {"id": 1}, "publisher_id": "svc.host", "message_id": "m1"}


def test_an_enveloped_and_a_plain_notification_read_alike() -> None:
    enveloped = json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(PLAIN)}).encode()

    assert read_notification(enveloped) == read_notification(json.dumps(PLAIN).encode())


def test_the_event_has_mistrals_default_properties_and_the_payload() -> None:
    message = {**PLAIN, "timestamp": "t", "context": {"project_id": "p", "user_id": "u"}}

    event = read_notification(json.dumps(message).encode()).event_params

    assert event == {
        "service": "svc.host",
        "project_id": "p",
        "user_id": "u",
        "timestamp": "t",
        "event_type": "x.created",
        "payload": {"id": 1},
        "message_id": "m1",
    }


def test_the_message_id_is_the_brokers_else_the_notifications_else_a_hash_of_the_body() -> None:
    body = json.dumps(PLAIN).encode()
    anonymous = json.dumps({"event_type": "x"}).encode()

    assert read_notification(body, "amqp-id").message_id == "amqp-id"
    assert read_notification(body).message_id == "m1"
    assert read_notification(anonymous).message_id == read_notification(anonymous).message_id
    assert read_notification(anonymous).message_id.startswith("sha256:")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"payload": 1}', "no 'event_type'"),
        (b'{"event_type": 3}', "no 'event_type'"),
        (b'{"oslo.message": "{broken"}', "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not"),
    ],
)
def test_what_is_not_a_notification_is_refused(body: bytes, why: str) -> None:
    with pytest.raises(NotANotification, match=why):
        read_notification(body)


@pytest.mark.parametrize("name", ["", "a.#", "a b", "*", "x" * 256, "a..b"])
def test_exchange_and_topic_names_are_plain_words(name: str) -> None:
    assert routing_name_error("topic", name) is not None
    assert routing_name_error("topic", "nova.notifications_v2-x") is None


def test_mistral_cores_own_exchange_is_refused() -> None:
    from mistral_core.transport.wire import EXCHANGE

    assert routing_name_error("exchange", EXCHANGE) is not None
    assert routing_name_error("topic", "mistral") is None


def test_event_names_are_printable_and_bounded() -> None:
    assert event_name_error("compute.instance.create.end") is None
    assert event_name_error("a b") is not None and event_name_error("x" * 256) is not None


def test_a_message_key_is_bounded_whatever_the_message_id() -> None:
    assert len(message_key("t" * 36, "m" * 100_000)) == 36 + 1 + 32
