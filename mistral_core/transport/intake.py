"""How many commands an executor takes before a thread is free to start them.

Commands travel in bundles (:mod:`~mistral_core.transport.bundles`) and the broker hands an
executor up to ``threads`` messages at a time, so an executor could hold many more commands
than it can run: slow actions would then wait for its threads while another executor is idle.
:class:`Intake` bounds that. It counts the commands taken and not started yet; once they reach
``limit``, the next one is handed back (the caller publishes it again to its queue, where any
executor may take it, and acknowledges the original once the broker has the copy) and the
executor stops consuming until half of those waiting have started. A command handed back was
never claimed, so nothing is in doubt: it is as if this executor had never taken it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from mistral_core.transport.link import Consume, Delivery, Link


class Intake:
    """The commands an executor holds that no thread has started, at most ``limit`` of them.

    Args:
        link: the executor's link (its consumers are paused and resumed through it).
        queues: the queues the executor consumes.
        on_command: the consumers' callback.
        limit: the most commands waiting for a thread (executors: twice their thread count).
    """

    def __init__(
        self, link: Link, queues: Sequence[str], on_command: Callable[[Delivery], None], limit: int
    ) -> None:
        self._link = link
        self._queues = tuple(queues)
        self._on_command = on_command
        self._limit = max(1, limit)
        self._lock = threading.Lock()
        self._waiting = 0
        self._paused = False
        self._consuming = True

    def admit(self, refusable: bool = True) -> bool:
        """Take one more command (on the link's thread); False: hand it back (full), consuming paused.

        A command that cannot be handed back (``refusable`` False: an answer is awaited, or it is
        not an action to run) is always taken.
        """
        with self._lock:
            if refusable and self._waiting >= self._limit:
                pause = not self._paused
                self._paused = True
            else:
                self._waiting += 1
                return True
        if pause:
            self._link.call(self._follow)
        return False

    def started(self) -> None:
        """A thread started one of the commands taken (on that thread)."""
        with self._lock:
            self._waiting -= 1
            resume = self._paused and self._waiting <= self._limit // 2
            if resume:
                self._paused = False
        if resume:
            self._link.call(self._follow)

    def _follow(self) -> None:
        """On the link's thread: consume or not, as the state now says (pause and resume requests
        may cross; whichever runs last sees the last state)."""
        with self._lock:
            paused = self._paused
        if paused and self._consuming:
            for queue in self._queues:
                self._link.remove_consume(queue)
            self._consuming = False
        elif not paused and not self._consuming:
            for queue in self._queues:
                self._link.add_consume(Consume(queue, self._on_command))
            self._consuming = True
