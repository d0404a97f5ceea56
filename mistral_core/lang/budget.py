"""The budget of one expression evaluation: how long it may run, how much it may build.

An expression is user code run inside the engine's transaction, with the write lock held, so a
loop that runs for minutes stops every other write for minutes. Each
:meth:`~mistral_core.lang.expressions.Evaluator.evaluate` call (one value: a publish dict, a
guard, an input) therefore gets a budget (:class:`ExpressionLimits`), and going over it raises
:class:`~mistral_core.errors.ExpressionError` with a one-line message naming the budget and its
setting (``expression_timeout``, ``expression_max_size``).

Time. Jinja's for-loops and YAQL's queries run as plain Python bytecode that calls no hook of
ours on each step (an empty ``{% for %}`` nested in another calls nothing at all), so a deadline
checked in hooks would miss them. A :class:`Watchdog` thread instead interrupts the evaluating
thread when its deadline passes: CPython's ``PyThreadState_SetAsyncExc`` (public C API, through
ctypes) raises :class:`Interrupted` in that thread at its next bytecode. Cost on the hot path:
arming and disarming are a dict write and a lock each (about 1 µs); the thread wakes every
:data:`CHECK_INTERVAL` only while evaluations run, and sleeps on an event otherwise; plain paths
(``<% $.a.b %>``) never arm it. The check runs every 50 ms, so an evaluation stops at most about
that much after its budget. The budget is the evaluating thread's CPU time, so a busy machine
(where the clock runs ahead of the thread's share of a core) does not fail real expressions; a
thread starved of CPU is still stopped at :data:`WALL_FACTOR` times the budget by the clock, so
the write lock is held for a bounded time either way. What it cannot stop is one long call into
C (a regular expression that backtracks for hours, a sort of millions of items): the size checks
keep the inputs of such calls small, and :class:`Interrupted` is raised as soon as the call returns.

Size. A single C-level operation can build gigabytes in a second (``'a' * 300000000``,
``10 ** (10 ** 7)``, ``s.center(10 ** 9)``), long before a deadline fires; such operations are
checked *before* they run, by estimating their result (:func:`check_repeat`, :func:`check_power`
and the checks of :mod:`mistral_core.lang.sandbox` and :mod:`mistral_core.lang.yaql_guard`).
Sizes are counted in characters of the value's JSON text, roughly. Each value an operation
builds is counted on the evaluation's :class:`Meter` too, so that many values each within the
budget (a loop that makes a thousand 90 KB strings) cannot add up past it either: the budget
bounds what one evaluation builds in all, its output and result included. The result is
measured once more, whole, by :func:`mistral_core.lang.storable.to_storable`.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import math
import threading
import time
from collections.abc import Mapping
from typing import Any

#: Seconds between two looks of the watchdog at the running evaluations.
CHECK_INTERVAL = 0.05
#: An evaluation is stopped after its budget of CPU time, or after this many times its budget by
#: the clock, whichever comes first (a busy machine makes the clock run ahead of the CPU time).
WALL_FACTOR = 2
_DIGITS_PER_BIT = 0.30103  # log10(2)
_BIG = 10**18


@dataclasses.dataclass(frozen=True, slots=True)
class ExpressionLimits:
    """What one evaluation may cost.

    The defaults never bother a real workflow and keep a runaway one cheap: a YAQL query over
    10,000 items takes tens of milliseconds, a workflow document is at most 1 MiB and Mistral
    refuses a field over 1 MiB; a runaway expression holds the others up for 2 s at most and
    builds a few MiB.

    Attributes:
        timeout: seconds of CPU time one evaluation may run (setting ``expression_timeout``).
        max_size: characters (of JSON text, about) one evaluation may build, its result and
            each value it makes on the way (setting ``expression_max_size``).
    """

    timeout: float = 2.0
    max_size: int = 4 * 1024 * 1024

    def time_message(self) -> str:
        """The one line telling that an evaluation ran out of time."""
        return f"it ran longer than its time budget of {self.timeout:g} s (setting expression_timeout)"

    def size_message(self) -> str:
        """The one line telling that an evaluation built too much."""
        return (
            f"it builds a value larger than its size budget of {self.max_size} characters "
            "(setting expression_max_size)"
        )


class Interrupted(BaseException):
    """Raised in an evaluating thread by the :class:`Watchdog` when its deadline passed.

    A BaseException, so that the ``except Exception`` of the libraries the expression runs in
    (Jinja, YAQL, our functions) does not swallow it.
    """


class SizeExceeded(Exception):
    """An operation of an expression would build more than the size budget.

    Args:
        reason: why, when it is not the size budget itself (None: the size budget).
    """

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "size budget")
        self.reason = reason


#: Most digits of an integer an expression may build: Python turns no longer one into text, so
#: JSON could not hold it (and computing a bigger one can take minutes: ``10 ** (10 ** 7)``).
MAX_INT_DIGITS = 4300


def check_size(size: int, max_size: int) -> None:
    """Raise :class:`SizeExceeded` if ``size`` is over ``max_size``."""
    if size > max_size:
        raise SizeExceeded()


def check_digits(digits: float) -> None:
    """Raise :class:`SizeExceeded` for an integer of more than :data:`MAX_INT_DIGITS` digits."""
    if digits > MAX_INT_DIGITS:
        raise SizeExceeded(f"an integer may have at most {MAX_INT_DIGITS} digits")


def int_digits(value: int) -> int:
    """About how many decimal digits ``value`` has (from its bit length: no conversion)."""
    return int(value.bit_length() * _DIGITS_PER_BIT) + 1


def text_size(value: Any, limit: int) -> int:
    """About how many characters the text of ``value`` has (``str()``/JSON); counts no further
    than just past ``limit``, so a huge or self-repeating container costs few steps."""
    total = 0
    todo = [value]
    while todo and total <= limit:
        item = todo.pop()
        kind = type(item)
        if kind is str or kind is bytes:
            total += len(item) + 2
        elif kind is int:
            total += 20 if -_BIG < item < _BIG else int_digits(item)
        elif kind is dict or isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total <= limit:
                todo.extend(item.keys())
                todo.extend(item.values())
        elif kind is list or isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            if total <= limit:
                todo.extend(item)
        elif isinstance(item, str | bytes):
            total += len(item) + 2
        else:
            total += 8
    return total


def check_repeat(left: Any, right: Any, max_size: int) -> None:
    """``left * right``: a sequence repeated, or two integers multiplied."""
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | bytes | list | tuple) and isinstance(times, int):
            check_size(len(seq) * max(times, 0), max_size)
            return
    if isinstance(left, int) and isinstance(right, int):
        check_digits(int_digits(left) + int_digits(right))


def check_power(base: Any, exponent: Any) -> None:
    """``base ** exponent`` of two integers: the digits of the result, before computing it."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        check_digits(exponent * math.log10(abs(base)))


def check_shift(value: Any, shift: Any) -> None:
    """``value << shift`` of two integers."""
    if isinstance(value, int) and isinstance(shift, int) and shift > 0 and value:
        check_digits(int_digits(value) + shift * _DIGITS_PER_BIT)


def check_concat(left: Any, right: Any, max_size: int) -> None:
    """``left + right`` of two sequences."""
    if isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple):
        check_size(len(left) + len(right), max_size)


class Meter:
    """Characters an evaluation may still build, all its operations together (module docstring)."""

    __slots__ = ("left",)

    def __init__(self, max_size: int) -> None:
        self.left = max_size

    def spend(self, size: int) -> None:
        """Count ``size`` more characters; SizeExceeded past the budget."""
        self.left -= size
        if self.left < 0:
            raise SizeExceeded()


_current = threading.local()


def current_meter() -> Meter | None:
    """The meter of the evaluation running in this thread, if any."""
    meter: Meter | None = getattr(_current, "meter", None)
    return meter


def use_meter(meter: Meter | None) -> Meter | None:
    """Make ``meter`` this thread's current one; return the one it replaces (to put back)."""
    previous = current_meter()
    _current.meter = meter
    return previous


def spend(value: Any) -> None:
    """Count what an operation built (a text, a list...) against the current evaluation's meter."""
    meter = getattr(_current, "meter", None)
    if meter is not None and isinstance(value, str | bytes | list | tuple | dict):
        meter.spend(len(value))


class _Deadline:
    """When one thread's evaluation is over its budget: by that thread's CPU time, or (a
    backstop for a thread the machine starves) by the clock at :data:`WALL_FACTOR` times it."""

    __slots__ = ("clock", "cpu_at", "fired", "thread_id", "wall_at")

    def __init__(self, thread_id: int, seconds: float) -> None:
        self.thread_id = thread_id
        self.clock = time.pthread_getcpuclockid(thread_id)
        self.cpu_at = time.clock_gettime(self.clock) + seconds
        self.wall_at = time.monotonic() + seconds * WALL_FACTOR
        self.fired = False

    def passed(self, now: float) -> bool:
        """Whether the budget is spent (``now``: the monotonic clock)."""
        return now >= self.wall_at or time.clock_gettime(self.clock) >= self.cpu_at


_SetAsyncExc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)
_set_async_exc = _SetAsyncExc(("PyThreadState_SetAsyncExc", ctypes.pythonapi))


class Watchdog:
    """One daemon thread that interrupts evaluations running past their deadline.

    Args:
        interval: seconds between two looks at the armed deadlines.
    """

    def __init__(self, interval: float = CHECK_INTERVAL) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._armed: dict[int, _Deadline] = {}
        self._busy = threading.Event()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> _Deadline | None:
        """Interrupt this thread in ``seconds`` unless :meth:`disarm` comes first.

        Returns:
            the deadline to disarm, or None when this thread is already armed (a nested
            evaluation runs within the outer one's deadline).
        """
        thread_id = threading.get_ident()
        if thread_id in self._armed:
            return None
        deadline = _Deadline(thread_id, seconds)
        with self._lock:
            self._armed[thread_id] = deadline
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="expression-watchdog", daemon=True)
                self._thread.start()
        if not self._busy.is_set():
            self._busy.set()
        return deadline

    def disarm(self, deadline: _Deadline | bool | None) -> None:
        """Stop watching; if the watchdog fired but the exception was not raised yet, cancel it.

        Raises:
            Interrupted: it may still be raised here, when it fired just before.
        """
        if not deadline:
            return
        with self._lock:
            assert isinstance(deadline, _Deadline)
            if self._armed.get(deadline.thread_id) is deadline:
                del self._armed[deadline.thread_id]
            if deadline.fired:
                _set_async_exc(deadline.thread_id, ctypes.py_object())  # NULL: clear a pending one

    def _run(self) -> None:
        while True:
            self._busy.wait()
            time.sleep(self._interval)
            now = time.monotonic()
            with self._lock:
                for thread_id, deadline in list(self._armed.items()):
                    if deadline.passed(now):
                        del self._armed[thread_id]
                        deadline.fired = True
                        _set_async_exc(thread_id, ctypes.py_object(Interrupted))
                if not self._armed:
                    self._busy.clear()


@functools.cache
def shared_watchdog() -> Watchdog:
    """The watchdog of this process (one thread serves every evaluator)."""
    return Watchdog()
