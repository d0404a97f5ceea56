"""The broker transport, on the side of processes that hold the database (API workers, engines).

:class:`BrokerRunner` is the engine's ``ActionRunner``: the commands a transaction decided are
published after its commit (persistent, confirmed by the broker; while the broker is away they
wait in the link's outbox). :class:`EngineConsumer` takes what executors send: events, applied
many in one transaction and acknowledged after commit; claims, answered after the commit that
granted them; heartbeats. See docs/architecture.md, "The split deployment".
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from mistral_core.model import ActionCompleted, Command, Event, RunAction, State
from mistral_core.transport.link import Consume, Delivery, Link, Outgoing
from mistral_core.transport.local import EventSink, until_stored
from mistral_core.transport.wire import (
    CLAIMS_PER_MESSAGE,
    CLAIMS_QUEUE,
    COMMANDS_PER_MESSAGE,
    DEFAULT_QUEUE,
    EVENTS_QUEUE,
    WireError,
    decode_event,
    encode_command,
    queue_for,
)

LOG = logging.getLogger(__name__)


class ClaimSink(Protocol):
    """Grants claims and records heartbeats of executors (the engine's ``claims`` service)."""

    def claim(self, requests: Sequence[tuple[str, str, float]]) -> list[bool]:
        """Whether each ``(action_execution_id, executor_id, lease)`` may run."""
        ...

    def beat(self, leases: dict[str, float]) -> None:
        """Executors are alive for ``lease`` more seconds."""
        ...


class BrokerRunner:
    """Hands commands to executors through the broker (the engine's ``ActionRunner``).

    Args:
        url: the broker (``amqp://…``).
        run_now_timeout: seconds an action run outside any workflow (``run_now``) may take on
            an executor before it is reported failed.
    """

    def __init__(self, url: str, run_now_timeout: float = 60.0) -> None:
        self._link = Link(url, "commands", rpc=True)
        self._run_now_timeout = run_now_timeout
        self._queues: set[str] = {DEFAULT_QUEUE}

    def start(self) -> None:
        """Connect (in the background: commands wait in the outbox meanwhile)."""
        self._link.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Publish what waits in the outbox (up to ``timeout``), then disconnect."""
        self._link.stop(timeout)

    def submit(self, commands: Sequence[Command]) -> None:
        """Publish these commands to their targets' queues; never blocks."""
        messages = []
        for command in commands:
            queue = queue_for(getattr(command, "target", None))  # a notification: any executor
            self._queues.add(queue)
            messages.append(Outgoing(queue, encode_command(command), bundle=COMMANDS_PER_MESSAGE))
        self._link.publish(messages)

    def run_now(self, command: RunAction) -> Event:
        """Run one action on an executor and wait for what came of it (not stored by the executor)."""
        future = self._link.request(queue_for(command.target), encode_command(command, direct=True))
        try:
            return decode_event(future.result(self._run_now_timeout))
        except (concurrent.futures.TimeoutError, ConnectionError, WireError) as exc:
            self._link.forget(future)
            why = "no executor answered in time" if isinstance(exc, TimeoutError) else str(exc)
            return ActionCompleted(
                command.action_execution_id,
                State.ERROR,
                f"Action {command.action_name} could not be run: {why}",
                command.workflow_execution_id,
            )

    def queue_depths(self) -> dict[str, int]:
        """Messages waiting in each queue this process knows (executors' queues, events, claims):
        a plain method for the metrics endpoint. Raises ``TimeoutError`` if the broker is away."""
        return self._link.depths(sorted({*self._queues, EVENTS_QUEUE, CLAIMS_QUEUE}))


class EngineConsumer:
    """Applies what executors send: events, claims and heartbeats, a burst at a time.

    Everything runs on the link's thread: a burst of deliveries is collected, then claims are
    granted in one transaction and answered, heartbeats recorded, events applied in one
    transaction (``sink.apply_events``); each message is acknowledged after the commit of what
    it caused. While the database is unavailable the burst waits (nothing is acknowledged).

    Args:
        url: the broker.
        events: applies events (the engine's ``results``).
        claims: grants claims, records heartbeats (the engine's ``claims``).
        max_batch: the most deliveries taken before they are applied.
    """

    def __init__(self, url: str, events: EventSink, claims: ClaimSink, max_batch: int = 64) -> None:
        self._events_sink = events
        self._claims_sink = claims
        self._max_batch = max_batch
        self._stopping = threading.Event()
        self._events: list[tuple[Event, Delivery]] = []
        self._claims: list[tuple[tuple[str, str, float], Delivery]] = []
        self._beats: list[tuple[str, float, Delivery]] = []
        self._link = Link(
            url,
            "engine",
            consumes=[Consume(EVENTS_QUEUE, self._on_event), Consume(CLAIMS_QUEUE, self._on_claim)],
            prefetch=max_batch,
            on_burst=self._apply,
        )

    def start(self) -> None:
        """Connect and consume (reconnecting by itself)."""
        self._link.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop consuming; what was taken and not applied is redelivered to another engine."""
        self._stopping.set()
        self._link.stop(timeout)

    def _on_event(self, delivery: Delivery) -> None:
        try:
            self._events.append((decode_event(delivery.body), delivery))
        except WireError as exc:
            LOG.error("dropped a message of %s that is not an event: %s", EVENTS_QUEUE, exc)
            delivery.ack()
            return
        if len(self._events) >= self._max_batch:
            self._apply()

    def _on_claim(self, delivery: Delivery) -> None:
        body: Any = delivery.body
        kind = body.get("kind") if isinstance(body, dict) else None
        try:
            if kind == "claim" and delivery.reply_to:
                request = (str(body["action_execution_id"]), str(body["claimant"]), float(body["lease"]))
                self._claims.append((request, delivery))
                return
            if kind == "heartbeat":
                self._beats.append((str(body["executor"]), float(body["lease"]), delivery))
                return
        except (KeyError, TypeError, ValueError):
            pass
        LOG.error("dropped a message of %s that is neither a claim nor a heartbeat", CLAIMS_QUEUE)
        delivery.ack()

    def _apply(self) -> None:
        claims, self._claims = self._claims, []
        beats, self._beats = self._beats, []
        events, self._events = self._events, []
        if claims:
            self._grant(claims)
        if beats:
            leases = {executor: lease for executor, lease, _ in beats}
            self._store(lambda: self._claims_sink.beat(leases), f"{len(leases)} heartbeat(s)")
            for _, _, delivery in beats:
                delivery.ack()
        if events:
            batch = [event for event, _ in events]
            self._store(lambda: self._events_sink.apply_events(batch), f"{len(batch)} event(s)")
            for _, delivery in events:
                delivery.ack()

    def _grant(self, claims: list[tuple[tuple[str, str, float], Delivery]]) -> None:
        answers: list[bool] = []

        def write() -> None:
            answers[:] = self._claims_sink.claim([request for request, _ in claims])

        self._store(write, f"{len(claims)} claim(s)")
        replies = [
            Outgoing(
                delivery.reply_to or "",
                {"go": go},
                persistent=False,
                correlation_id=delivery.correlation_id,
                to_reply_queue=True,
                bundle=CLAIMS_PER_MESSAGE,
            )
            for (_, delivery), go in zip(claims, answers, strict=True)
        ]
        self._link.publish(replies)
        for _, delivery in claims:
            delivery.ack()

    def _store(self, write: Any, what: str) -> None:
        try:
            until_stored(write, what, self._stopping)
        except Exception:  # stopping with the database away, or a bug: redelivered later
            LOG.exception("applying %s failed: left to be delivered again", what)
            raise
