"""One connection to an AMQP broker, owned by one thread: publish with confirms, consume, ask.

The only kombu importer (an import-linter contract). A :class:`Link` knows queues and JSON
bodies, nothing of mistral's messages, so anything that needs the broker (the transport, the
listener of event triggers) can use one. Queues may be added and removed while it runs
(:meth:`Link.add_consume`), and bound to other exchanges than mistral's (:class:`Binding`:
their bodies are left as bytes). kombu connections are not thread-safe, so everything a
link does happens on its own thread; other threads hand it work (:meth:`Link.publish`,
:meth:`Link.request`, :meth:`Delivery.ack`) and wake it through a pipe.

The loop: connect (declaring the exchange, the queues consumed and the reply queue) → run
the work handed over → publish what is pending, a batch at a time, on a channel in confirm
mode (the broker's acks arrive later: one wait for a whole batch, not one per message) →
wait for the socket or the pipe → drain what arrived (consumers' callbacks run here) → the
``on_burst`` hook. Any connection error: what was published but not confirmed goes back to
the pending list, deliveries not yet acknowledged are forgotten (the broker gives them to a
consumer again), and the link reconnects with backoff. Plain ``amqp://`` only: the wait
selects on the socket, which TLS would buffer.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import select
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.exceptions import KombuError
from kombu.messaging import Consumer, Producer

from mistral_core.transport.bundles import Parts, bundled, headers_of, parts_of
from mistral_core.transport.wire import EXCHANGE

LOG = logging.getLogger(__name__)
#: The longest wait between two tries to reach the broker.
MAX_BACKOFF_S = 5.0


class LinkLost(ConnectionError):
    """The connection was lost before the answer to a request came."""


@dataclasses.dataclass(slots=True)
class Outgoing:
    """One message to publish: to ``queue`` (declared durable first), or to a reply queue.

    ``persistent`` messages survive a broker restart and are published again until the broker
    confirms them; then ``on_confirmed`` runs (on the link's thread). ``bundle`` > 1: it may
    travel in one AMQP message with up to ``bundle`` - 1 others of its kind (see
    :mod:`~mistral_core.transport.bundles`).
    """

    queue: str
    body: dict[str, Any]
    persistent: bool = True
    on_confirmed: Callable[[], None] | None = None
    reply_to: str | None = None
    correlation_id: str | None = None
    to_reply_queue: bool = False
    bundle: int = 1


@dataclasses.dataclass(frozen=True, slots=True)
class Binding:
    """Where a queue of someone else's messages is bound: an exchange (used as it is if it exists,
    else declared ``topic``, not durable, as oslo.messaging declares its own) and routing keys;
    the queue is deleted by the broker after ``expires`` seconds without a consumer."""

    exchange: str
    routing_keys: tuple[str, ...]
    expires: int = 24 * 3600


@dataclasses.dataclass(frozen=True, slots=True)
class Consume:
    """A queue to consume; ``callback(delivery)`` runs on the link's thread for each message.

    Without ``binding`` the queue is bound to mistral's exchange and bodies are decoded JSON;
    with one, it is bound there and bodies are left as bytes (``Delivery.body``: the caller
    reads them, within its own bounds).
    """

    queue: str
    callback: Callable[[Delivery], None]
    binding: Binding | None = None


class Delivery:
    """A message received (or one part of a bundle): its body, whom to answer, and its
    acknowledgement."""

    def __init__(
        self,
        link: Link,
        message: Any,
        generation: int,
        raw: bool = False,
        part: tuple[Any, str | None, Parts] | None = None,
    ) -> None:
        self._link = link
        self._message = message
        self._generation = generation
        self._parts = part[2] if part is not None else None
        self._acked = False
        props = message.properties or {}
        self.body: Any = part[0] if part is not None else bytes(message.body) if raw else message.payload
        self.message_id: str | None = props.get("message_id")
        self.reply_to: str | None = props.get("reply_to")
        self.correlation_id: str | None = part[1] if part is not None else props.get("correlation_id")
        info = message.delivery_info or {}
        self.redelivered: bool = bool(info.get("redelivered"))
        #: The queue it was sent to (mistral's exchange routes by queue name).
        self.routing_key: str | None = info.get("routing_key")

    def ack(self) -> None:
        """Acknowledge it (from any thread). Lost with its connection: the broker redelivers it."""
        self._link.call(self._ack)

    def _ack(self) -> None:
        if self._generation != self._link.generation or self._acked:
            return
        self._acked = True  # a part acknowledged twice must not count twice toward its bundle
        if self._parts is None:
            self._message.ack()
        else:
            self._parts.ack()


class Link:
    """One broker connection and the thread that owns it.

    Args:
        url: ``amqp://user:password@host:port/vhost``.
        name: for logs and the thread's name.
        consumes: the queues to consume (declared durable, bound to the exchange).
        prefetch: the most unacknowledged deliveries the broker hands this link.
        on_burst: called on the link's thread after each burst of deliveries (to apply a batch).
        rpc: keep a reply queue, for :meth:`request`.
        heartbeat: seconds of AMQP heartbeat (a dead broker is noticed within twice that).
    """

    def __init__(
        self,
        url: str,
        name: str,
        consumes: Sequence[Consume] = (),
        prefetch: int = 64,
        on_burst: Callable[[], None] | None = None,
        rpc: bool = False,
        heartbeat: int = 20,
    ) -> None:
        self._url = url
        self.name = name
        self._consumes = list(consumes)
        self._consumers: dict[str, Consumer] = {}
        self._consuming: Any = None
        self._prefetch = prefetch
        self._on_burst = on_burst
        self._heartbeat = heartbeat
        self._reply_queue = f"mistral.reply.{uuid.uuid4().hex}" if rpc else None
        self._lock = threading.Lock()
        self._pending: collections.deque[Outgoing] = collections.deque()
        self._jobs: collections.deque[Callable[[], None]] = collections.deque()
        self._unconfirmed: dict[int, list[Outgoing]] = {}
        self._futures: dict[str, concurrent.futures.Future[Any]] = {}
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._stopping = threading.Event()
        self._deadline = 0.0
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self._channel: Any = None
        self._seq = 0
        self._producers: tuple[Producer, Producer] | None = None
        self._declared: set[str] = set()
        self._burst = False
        #: Counts connections: deliveries of an older one cannot be acknowledged.
        self.generation = 0
        self.connected = threading.Event()

    # -- from any thread -------------------------------------------------------------
    def start(self) -> None:
        """Start the link's thread (it connects, and reconnects, by itself)."""
        self._thread = threading.Thread(target=self._run, name=f"link-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Publish what is pending (up to ``timeout``), then close the connection."""
        self._deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout + 2)

    def publish(self, messages: Sequence[Outgoing]) -> None:
        """Publish these messages as soon as the broker can be reached; never blocks."""
        with self._lock:
            self._pending.extend(messages)
        self._wake()

    def call(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the link's thread (now, if called from it)."""
        if threading.current_thread() is self._thread:
            job()
            return
        with self._lock:
            self._jobs.append(job)
        self._wake()

    def request(
        self, queue: str, body: dict[str, Any], persistent: bool = False, bundle: int = 1
    ) -> concurrent.futures.Future[Any]:
        """Send ``body`` to ``queue`` (in a bundle of up to ``bundle`` requests) and get the answer's
        body in the future.

        The future fails with :class:`LinkLost` if the connection is lost first (ask again).
        """
        if self._reply_queue is None:
            raise RuntimeError(f"link {self.name} has no reply queue")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        correlation_id = uuid.uuid4().hex
        with self._lock:
            self._futures[correlation_id] = future
        self.publish(
            [
                Outgoing(
                    queue,
                    body,
                    persistent,
                    reply_to=self._reply_queue,
                    correlation_id=correlation_id,
                    bundle=bundle,
                )
            ]
        )
        return future

    def forget(self, future: concurrent.futures.Future[Any]) -> None:
        """Stop waiting for the answer of a request (it timed out)."""
        with self._lock:
            for key, known in list(self._futures.items()):
                if known is future:
                    del self._futures[key]

    def depths(self, queues: Sequence[str], timeout: float = 5.0) -> dict[str, int]:
        """Messages ready in each of these queues (those that do not exist are left out)."""
        future: concurrent.futures.Future[dict[str, int]] = concurrent.futures.Future()

        def count() -> None:
            found: dict[str, int] = {}
            for queue in queues:
                channel = self._conn.channel()
                try:
                    found[queue] = int(channel.queue_declare(queue, passive=True).message_count)
                except self._conn.channel_errors:
                    pass  # no such queue: its channel is closed by the broker
                finally:
                    _quietly(channel.close)
            future.set_result(found)

        self.call(count)
        return future.result(timeout)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # the pipe is full: the thread is awake anyway
            os.write(self._wake_w, b"x")

    # -- on the link's thread ------------------------------------------------------------
    def _run(self) -> None:
        delay = 0.1
        while not self._finished():
            try:
                if self._conn is None:
                    self._connect()
                    delay = 0.1
                self._round()
            except Exception as exc:  # any failure of the connection: start again
                self._lost(exc)
                self._stopping.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
        self._close()

    def _finished(self) -> bool:
        if not self._stopping.is_set():
            return False
        if time.monotonic() >= self._deadline or self._conn is None:
            return True
        with self._lock:
            return not self._pending and not self._unconfirmed and not self._jobs

    def _round(self) -> None:
        self._run_jobs()
        self._flush()
        self._wait()
        if self._burst and self._on_burst is not None:
            self._burst = False
            self._on_burst()
        self._conn.heartbeat_check()

    def _connect(self) -> None:
        conn = Connection(self._url, heartbeat=self._heartbeat, connect_timeout=5)
        conn.ensure_connection(max_retries=1)
        self._conn = conn
        self.generation += 1
        self._declared = set()
        channel = conn.channel()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self._channel, self._seq = channel, 0
        Exchange(EXCHANGE, "direct", durable=True)(channel).declare()
        self._producers = (
            Producer(channel, exchange=Exchange(EXCHANGE, "direct", durable=True)),
            Producer(channel, exchange=Exchange("")),  # the default exchange: reply queues
        )
        self._consumers = {}
        self._consuming = conn.channel()
        self._consuming.basic_qos(0, self._prefetch, False)
        for consume in self._consumes:
            self._start_consumer(consume)
        if self._reply_queue is not None:
            replies = Queue(self._reply_queue, exclusive=True, auto_delete=True, durable=False)
            Consumer(
                channel, queues=[replies], on_message=self._on_reply, no_ack=True, accept=["json"]
            ).consume()
        self.connected.set()
        LOG.info("broker link %s connected (%s)", self.name, conn.as_uri())

    # -- consumers added and removed while running (event triggers) ----------------------
    def add_consume(self, consume: Consume) -> None:
        """Consume one more queue (from any thread; kept across reconnections)."""

        def add() -> None:
            self._consumes.append(consume)
            if self._conn is not None:
                self._start_consumer(consume)

        self.call(add)

    def remove_consume(self, queue: str) -> None:
        """Stop consuming ``queue`` (from any thread); the queue stays."""

        def remove() -> None:
            self._consumes = [c for c in self._consumes if c.queue != queue]
            consumer = self._consumers.pop(queue, None)
            if consumer is not None and self._conn is not None:
                consumer.cancel()

        self.call(remove)

    def _start_consumer(self, consume: Consume) -> None:
        channel = self._consuming
        if consume.binding is None:
            self._declare(consume.queue, channel)
            queue, accept = self._queue(consume.queue), ["json"]
        else:
            self._bind(consume.queue, consume.binding)
            queue, accept = Queue(consume.queue, no_declare=True), None
        raw = consume.binding is not None
        consumer = Consumer(
            channel, queues=[queue], on_message=self._receiver(consume.callback, raw), accept=accept
        )
        consumer.consume()
        self._consumers[consume.queue] = consumer

    def _bind(self, queue: str, binding: Binding) -> None:
        """Declare ``queue`` (durable, expiring) and bind it. The exchange is declared only if it is
        missing; a queue that exists with other arguments (``expires`` changed) is used as it is.
        Both are tried on a channel of their own: a refusal closes the channel it happens on."""
        if not self._on_probe(lambda probe: probe.exchange_declare(binding.exchange, "topic", passive=True)):
            self._consuming.exchange_declare(binding.exchange, "topic", durable=False, auto_delete=False)
        expires = {"x-expires": binding.expires * 1000}

        def declare(probe: Any) -> None:
            probe.queue_declare(queue, durable=True, auto_delete=False, arguments=expires)

        if not self._on_probe(declare):
            LOG.warning("queue %s exists with other arguments (x-expires): used as it is", queue)
        for key in binding.routing_keys:
            self._consuming.queue_bind(queue, binding.exchange, key)

    def _on_probe(self, job: Callable[[Any], Any]) -> bool:
        """Run ``job(channel)`` on a new channel; False if the broker refused it (a channel error)."""
        probe = self._conn.channel()
        try:
            job(probe)
            return True
        except self._conn.channel_errors:
            return False
        finally:
            _quietly(probe.close)

    def _queue(self, name: str) -> Queue:
        return Queue(name, Exchange(EXCHANGE, "direct", durable=True), routing_key=name, durable=True)

    def _declare(self, name: str, channel: Any = None) -> None:
        if name not in self._declared:
            self._queue(name)(channel or self._channel).declare()
            self._declared.add(name)

    def _receiver(self, callback: Callable[[Delivery], None], raw: bool = False) -> Callable[[Any], None]:
        def receive(message: Any) -> None:
            self._burst = True
            parts = None if raw else parts_of(message)
            if parts is None:
                callback(Delivery(self, message, self.generation, raw))
                return
            left = Parts(message, len(parts))
            for body, correlation_id in parts:
                callback(Delivery(self, message, self.generation, part=(body, correlation_id, left)))

        return receive

    def _on_reply(self, message: Any) -> None:
        answers = parts_of(message) or [(message.payload, (message.properties or {}).get("correlation_id"))]
        for body, correlation_id in answers:
            with self._lock:
                future = self._futures.pop(str(correlation_id), None)
            if future is not None and not future.done():
                future.set_result(body)

    def _run_jobs(self) -> None:
        while True:
            with self._lock:
                if not self._jobs:
                    return
                job = self._jobs.popleft()
            job()

    def _flush(self) -> None:
        """Publish what is pending now, bundled (what comes meanwhile waits for the next round)."""
        assert self._producers is not None
        producer, direct = self._producers
        with self._lock:
            pending = list(self._pending)
            self._pending.clear()
        units = bundled(pending)
        for number, unit in enumerate(units):
            try:
                self._send(producer, direct, unit)
            except Exception:
                with self._lock:
                    self._pending.extendleft(reversed([m for u in units[number:] for m in u]))
                raise

    def _send(self, producer: Producer, direct: Producer, unit: list[Outgoing]) -> None:
        """Publish one message, or the bundle of several of one kind (:func:`~.bundles.kind_of`)."""
        message = unit[0]
        options: dict[str, Any] = {"serializer": "json", "delivery_mode": 2 if message.persistent else 1}
        if message.reply_to is not None:
            options["reply_to"] = message.reply_to
        body: Any = message.body
        if len(unit) > 1:  # each part's correlation id travels in the headers
            body = [part.body for part in unit]
            options["headers"] = headers_of(unit)
        elif message.correlation_id is not None:
            options["correlation_id"] = message.correlation_id
        if message.to_reply_queue:
            direct.publish(body, routing_key=message.queue, **options)
        else:
            self._declare(message.queue)
            producer.publish(body, routing_key=message.queue, **options)
        self._seq += 1
        self._unconfirmed[self._seq] = unit

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        for message in self._confirmed(delivery_tag, multiple):
            if message.on_confirmed is not None:
                message.on_confirmed()

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        again = [m for m in self._confirmed(delivery_tag, multiple) if m.persistent]
        LOG.warning("broker refused %d message(s): publishing them again", len(again))
        with self._lock:
            self._pending.extendleft(reversed(again))

    def _confirmed(self, delivery_tag: int, multiple: bool) -> list[Outgoing]:
        tags = [t for t in self._unconfirmed if t <= delivery_tag] if multiple else [delivery_tag]
        return [m for t in sorted(tags) for m in self._unconfirmed.pop(t, ())]

    def _wait(self) -> None:
        with self._lock:
            busy = bool(self._jobs or self._pending)
        sock = self._conn.connection.sock
        ready, _, _ = select.select([sock, self._wake_r], [], [], 0 if busy else 1.0)
        if self._wake_r in ready:
            os.read(self._wake_r, 4096)
        while sock in ready:
            try:
                self._conn.drain_events(timeout=0.5)
            except TimeoutError:  # a heartbeat frame, or part of a frame: the rest comes later
                return
            ready, _, _ = select.select([sock], [], [], 0)

    def _lost(self, exc: BaseException) -> None:
        if self._conn is not None:
            LOG.warning("broker link %s lost (%s): reconnecting", self.name, exc, exc_info=_is_bug(exc))
        else:
            LOG.warning("broker link %s cannot connect (%s): trying again", self.name, exc)
        self.connected.clear()
        again = [m for _, unit in sorted(self._unconfirmed.items()) for m in unit if m.persistent]
        self._unconfirmed = {}
        with self._lock:
            self._pending.extendleft(reversed(again))
            futures, self._futures = self._futures, {}
        for future in futures.values():
            if not future.done():
                future.set_exception(LinkLost(f"broker connection lost: {exc}"))
        self._close()

    def _close(self) -> None:
        conn, self._conn, self._channel, self._consuming = self._conn, None, None, None
        if conn is not None:
            _quietly(conn.release)


def _is_bug(exc: BaseException) -> bool:
    """Whether ``exc`` is not a fault of the connection (logged with its traceback)."""
    return not isinstance(exc, OSError | ConnectionError | KombuError) and not (
        type(exc).__module__.startswith("amqp")
    )


def _quietly(close: Callable[[], Any]) -> None:
    try:
        close()
    except Exception as exc:  # closing a broken connection: nothing left to do
        LOG.debug("closing: %s", exc)
