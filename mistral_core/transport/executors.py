"""The broker transport on the executors' side: ``mistral-core executor`` (no database).

An :class:`ExecutorConsumer` takes commands from the default queue and from its targets' queues,
runs each on a pool of threads, and reports what came of it on the events queue. A command is
acknowledged only after the broker confirmed its event: killed before that, the command is
delivered again. Before running an action that must not run twice (or any targeted action) the
executor claims it from an engine and runs it only if told "go", so a command delivered twice
never runs twice. Heartbeats tell the engines it is alive; if it dies, an engine takes over what
it claimed. See docs/architecture.md, "The split deployment".
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import os
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mistral_core.executor import Executor
from mistral_core.model import ActionHandedOff, CancelAction, Command, Event, Notify, RunAction
from mistral_core.transport.intake import Intake
from mistral_core.transport.link import Consume, Delivery, Link, LinkLost, Outgoing
from mistral_core.transport.wire import (
    CLAIMS_PER_MESSAGE,
    CLAIMS_QUEUE,
    COMMANDS_PER_MESSAGE,
    DEFAULT_QUEUE,
    EVENTS_PER_MESSAGE,
    EVENTS_QUEUE,
    WireError,
    claim,
    decode_command,
    encode_event,
    heartbeat,
    is_direct,
    queue_for,
)

LOG = logging.getLogger(__name__)
#: How many action executions an executor remembers having claimed (a redelivered copy is dropped).
REMEMBERED = 100_000
#: Seconds an executor waits for the answer to a claim before asking again.
CLAIM_TIMEOUT = 10.0
#: Commands an executor holds waiting for a thread, per thread (more go back to their queue). One
#: engine transaction's burst of quick actions fits (1 per thread handed back 10 % of scenario a's
#: commands, 2 per thread 2.5 %); a burst of slow actions is left to other executors.
WAITING_PER_THREAD = 2


class ExecutorConsumer:
    """Runs the commands of its queues.

    Args:
        executor: runs one action.
        url: the broker.
        targets: the targets this executor serves (each a queue).
        default: also take commands without a target.
        threads: actions run at once (each holds a thread while it runs).
        lease: seconds the engines wait after its last heartbeat before they take over what it
            claimed (heartbeats go every ``lease / 3`` seconds).
    """

    def __init__(
        self,
        executor: Executor,
        url: str,
        targets: tuple[str, ...] = (),
        default: bool = True,
        threads: int = 16,
        lease: float = 30.0,
    ) -> None:
        self._executor = executor
        self.id = f"executor:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._targets = list(targets)
        self._lease = lease
        queues = ([DEFAULT_QUEUE] if default or not targets else []) + [queue_for(t) for t in targets]
        self.queues = tuple(queues)
        self._link = Link(url, "executor", [Consume(q, self._on_command) for q in queues], threads, rpc=True)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="executor")
        self._intake = Intake(self._link, queues, self._on_command, WAITING_PER_THREAD * threads)
        self._claimed: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._beating: threading.Thread | None = None

    def start(self) -> None:
        """Say it is alive, then connect and take commands."""
        self._beat()
        self._link.start()
        self._beating = threading.Thread(target=self._heartbeats, name="executor-heartbeat", daemon=True)
        self._beating.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Take no more commands, let running actions finish (up to ``timeout``) and report them."""
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._link.stop(timeout)

    def _heartbeats(self) -> None:
        while not self._stopping.wait(self._lease / 3):
            self._beat()

    def _beat(self) -> None:
        self._link.publish([Outgoing(CLAIMS_QUEUE, heartbeat(self.id, self._lease, self._targets), False)])

    def _on_command(self, delivery: Delivery) -> None:
        if self._stopping.is_set():
            return  # not acknowledged: the broker gives it to another executor
        try:
            command = decode_command(delivery.body)
        except WireError as exc:
            LOG.error("dropped a message that is not a command: %s", exc)
            delivery.ack()
            return
        if isinstance(command, RunAction) and self._seen(command.action_execution_id):
            delivery.ack()  # a copy of one this executor claimed already (delivered again)
            return
        queue = delivery.routing_key
        refusable = isinstance(command, RunAction) and not delivery.reply_to and queue is not None
        if not self._intake.admit(refusable):
            assert queue is not None  # only a refusable command is handed back
            self._hand_back(delivery, queue)
            return
        try:
            self._pool.submit(self._handle, command, delivery)
        except RuntimeError:  # the pool is shut down: stopping
            return

    def _hand_back(self, delivery: Delivery, queue: str) -> None:
        """Publish a command this executor has no thread for again, to its queue (any executor may
        take it); the one taken is acknowledged once the broker has the copy."""
        again = Outgoing(
            queue,
            delivery.body,
            on_confirmed=delivery.ack,
            bundle=COMMANDS_PER_MESSAGE,
        )
        self._link.publish([again])

    def _handle(self, command: Command, delivery: Delivery) -> None:
        self._intake.started()
        try:
            if isinstance(command, CancelAction):
                self._report(self._executor.cancel(command), delivery)
            elif isinstance(command, Notify):
                self._report(self._executor.notify(command), delivery)
            elif is_direct(delivery.body):
                self._answer(self._executor.run(command), delivery)
            else:
                self._run(command, delivery)
        except Exception:  # the executor turns action failures into events; this guards bugs
            LOG.exception("executor failed on %s", getattr(command, "action_execution_id", command))

    def _run(self, command: RunAction, delivery: Delivery) -> None:
        if not command.safe_rerun or command.target:
            go = self._claim(command)
            if go is None:
                return  # stopping before an answer: not run, not acknowledged
            if not go:
                LOG.info(
                    "action execution %s is not to run (finished, or taken)", command.action_execution_id
                )
                delivery.ack()
                return
        event = self._executor.run(command)
        if isinstance(event, ActionHandedOff) and command.safe_rerun:
            delivery.ack()  # as in the local transport: nothing to record for a safe one
            return
        self._report(event, delivery)

    def _claim(self, command: RunAction) -> bool | None:
        """Ask an engine whether to run this action (None: stopping before an answer)."""
        self._remember(command.action_execution_id)
        request = claim(command.action_execution_id, self.id)
        request["lease"] = self._lease
        while not self._stopping.is_set():
            future = self._link.request(CLAIMS_QUEUE, request, bundle=CLAIMS_PER_MESSAGE)
            try:
                answer: Any = future.result(CLAIM_TIMEOUT)
            except LinkLost:
                self._stopping.wait(0.5)
                continue
            except concurrent.futures.TimeoutError:
                self._link.forget(future)
                LOG.warning("no engine answered the claim of %s: asking again", command.action_execution_id)
                continue
            return bool(isinstance(answer, dict) and answer.get("go"))
        return None

    def _report(self, event: Event, delivery: Delivery) -> None:
        """Publish the event; acknowledge the command once the broker has the event."""
        event_out = Outgoing(
            EVENTS_QUEUE, encode_event(event), on_confirmed=delivery.ack, bundle=EVENTS_PER_MESSAGE
        )
        self._link.publish([event_out])

    def _answer(self, event: Event, delivery: Delivery) -> None:
        """An action run outside any workflow: its event goes back to who asked."""
        if delivery.reply_to:
            reply = Outgoing(
                delivery.reply_to,
                encode_event(event),
                persistent=False,
                correlation_id=delivery.correlation_id,
                to_reply_queue=True,
            )
            self._link.publish([reply])
        delivery.ack()

    def _seen(self, action_ex_id: str) -> bool:
        with self._lock:
            return action_ex_id in self._claimed

    def _remember(self, action_ex_id: str) -> None:
        with self._lock:
            self._claimed[action_ex_id] = None
            while len(self._claimed) > REMEMBERED:
                self._claimed.popitem(last=False)
