"""How many publishing threads work at once: enough to keep the process busy, no more.

A daemon has a pool of publishing threads (``publish_workers``, 8 by default) because
platforms answer in tens or hundreds of milliseconds and a thread waiting for an answer
costs nothing. When the platform answers at once (a local platform, a burst after an
outage with a fast API) the threads stop waiting and queue for the interpreter instead:
Python runs one thread at a time, and every hand-over between them costs time. Measured
on a burst of due posts with an instant platform: about 2.2 ms of CPU per post with one
thread at work, 2.7 ms with two and 3.9 ms with eight, for no more posts a second.

:class:`WorkerLimit` lets up to ``limit`` threads work at once and moves the limit with
what the process does: while the process uses (nearly) a whole core, one thread fewer;
while it leaves the core idle and threads are waiting for a turn, one more. Threads
beyond the limit sleep until a turn is free, so the ones at work run without
competition. The limit never leaves ``minimum``..``maximum``. The threads at work
then take bigger batches (:meth:`WorkerLimit.share`), so the posts in hand stay about
as many as with every thread at work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: How often (seconds) the limit may move.
WINDOW = 0.25
#: The process's CPU use (in cores) from which there is one thread too many.
BUSY = 0.9
#: The CPU use below which another thread may start, if one is waiting.
IDLE = 0.7


class WorkerLimit:
    """Turns for at most ``limit`` threads at once; the limit follows the process's CPU use.

    ``clock`` and ``cpu`` (seconds, monotonic; the process's CPU time) are there for
    tests.
    """

    def __init__(
        self,
        maximum: int,
        *,
        minimum: int = 1,
        window: float = WINDOW,
        busy: float = BUSY,
        idle: float = IDLE,
        clock: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        if maximum < 1 or not 1 <= minimum <= maximum:
            raise ValueError(f"need 1 <= minimum <= maximum, got {minimum} and {maximum}")
        self.maximum = maximum
        self.minimum = minimum
        self.window = window
        self.busy = busy
        self.idle = idle
        self._clock = clock
        self._cpu = cpu
        self._cond = threading.Condition()
        self._limit = maximum
        self._active = 0
        self._waited = False  # a thread waited for a turn in this window
        self._mark = (clock(), cpu())

    @property
    def limit(self) -> int:
        """How many threads may work at once now."""
        with self._cond:
            return self._limit

    @property
    def active(self) -> int:
        """How many threads are working now."""
        with self._cond:
            return self._active

    def share(self, n: int, *, most: int = 4) -> int:
        """``n`` (a number of posts sized for every thread at work) for each of the
        threads at work now: more while fewer work, up to ``most`` times ``n``.

        Fewer, bigger batches cost less a post (each batch's transactions and
        statements cost the same whatever its size), and while threads sit out there
        is nobody to share the work with.
        """
        with self._cond:
            limit = self._limit
        return min(n * most, -(-n * self.maximum // limit))

    @contextmanager
    def turn(self, stop: threading.Event | None = None) -> Iterator[bool]:
        """Wait for a turn and hold it for the ``with`` block; yields ``False`` (and holds
        nothing) when ``stop`` was set while waiting."""
        got = self._acquire(stop)
        try:
            yield got
        finally:
            if got:
                self._release()

    def _acquire(self, stop: threading.Event | None) -> bool:
        with self._cond:
            self._adjust()
            while self._active >= self._limit:
                if stop is not None and stop.is_set():
                    return False
                self._waited = True
                self._cond.wait(min(self.window / 2, 0.1))  # and look at stop again
                self._adjust()
            self._active += 1
            return True

    def _release(self) -> None:
        with self._cond:
            self._active -= 1
            self._adjust()
            self._cond.notify()

    def _adjust(self) -> None:
        """Move the limit by one when a window has passed (the caller holds the lock)."""
        now = self._clock()
        started, cpu_then = self._mark
        elapsed = now - started
        if elapsed < self.window:
            return
        cpu_now = self._cpu()
        used = (cpu_now - cpu_then) / elapsed
        self._mark = (now, cpu_now)
        waited, self._waited = self._waited, False
        if used >= self.busy and self._limit > self.minimum:
            self._limit -= 1
        elif used < self.idle and waited and self._limit < self.maximum:
            self._limit += 1
            self._cond.notify_all()
