"""The limit on publishing threads at work follows the process's CPU use."""

from __future__ import annotations

import threading
import time

import pytest

from scheduler.pacing import WorkerLimit


class Meter:
    """A clock and a CPU-time counter the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0
        self.cpu_used = 0.0

    def clock(self) -> float:
        return self.now

    def cpu(self) -> float:
        return self.cpu_used

    def spend(self, seconds: float, cores: float) -> None:
        self.now += seconds
        self.cpu_used += seconds * cores


def limit_with(meter: Meter, maximum: int = 8, minimum: int = 2) -> WorkerLimit:
    return WorkerLimit(maximum, minimum=minimum, window=1.0, clock=meter.clock, cpu=meter.cpu)


def test_starts_with_every_thread_allowed() -> None:
    limit = limit_with(Meter())
    assert limit.limit == 8


def test_a_busy_process_gives_up_a_thread_a_window_down_to_the_minimum() -> None:
    meter = Meter()
    limit = limit_with(meter)
    seen = []
    for _ in range(10):
        meter.spend(1.0, cores=0.98)  # the interpreter never rests: threads queue for it
        with limit.turn():
            pass
        seen.append(limit.limit)
    assert seen[:6] == [7, 6, 5, 4, 3, 2]
    assert seen[6:] == [2, 2, 2, 2]


def test_an_idle_process_with_threads_waiting_gets_threads_back() -> None:
    meter = Meter()
    limit = limit_with(meter, maximum=3, minimum=1)
    for _ in range(2):
        meter.spend(1.0, cores=1.0)
        with limit.turn():
            pass
    assert limit.limit == 1
    # One thread works; another waits for its turn while the process idles (the
    # platform is slow to answer): after a window the waiting thread is let in.
    entered = threading.Event()
    leave = threading.Event()

    def waiter() -> None:
        with limit.turn():
            entered.set()
            leave.wait(5)

    with limit.turn():
        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.2)
        assert not entered.is_set()
        meter.spend(1.0, cores=0.2)
        assert entered.wait(2)
        assert limit.limit == 2
        assert limit.active == 2
        leave.set()
    thread.join(2)
    assert limit.active == 0


def test_no_more_threads_without_anyone_waiting_and_never_above_the_maximum() -> None:
    meter = Meter()
    limit = limit_with(meter, maximum=4, minimum=1)
    meter.spend(1.0, cores=1.0)
    with limit.turn():
        pass
    assert limit.limit == 3
    meter.spend(1.0, cores=0.1)  # idle, but nobody waited: nothing to add
    with limit.turn():
        pass
    assert limit.limit == 3


def test_a_middling_process_keeps_its_limit() -> None:
    meter = Meter()
    limit = limit_with(meter)
    for _ in range(3):
        meter.spend(1.0, cores=0.8)  # between idle and busy
        with limit.turn():
            pass
    assert limit.limit == 8


def test_threads_beyond_the_limit_wait_and_go_in_turn() -> None:
    limit = WorkerLimit(2, minimum=2, window=60)
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        with limit.turn():
            with guard:
                inside += 1
                most = max(most, inside)
            time.sleep(0.02)
            with guard:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert most == 2
    assert limit.active == 0


def test_stopping_releases_a_waiting_thread_without_a_turn() -> None:
    limit = WorkerLimit(1, window=60)
    stop = threading.Event()
    got: list[bool] = []

    def waiter() -> None:
        with limit.turn(stop) as working:
            got.append(working)

    with limit.turn():
        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.2)
        assert got == []  # waiting for the one turn
        stop.set()
        thread.join(2)
        assert got == [False]
        assert limit.active == 1
    assert limit.active == 0


def test_a_limit_needs_a_sensible_range() -> None:
    with pytest.raises(ValueError, match="minimum <= maximum"):
        WorkerLimit(2, minimum=3)
    with pytest.raises(ValueError, match="minimum <= maximum"):
        WorkerLimit(0)


def test_the_threads_at_work_share_what_all_the_threads_would_have_taken() -> None:
    meter = Meter()
    limit = limit_with(meter, maximum=8, minimum=1)
    assert limit.share(50) == 50  # every thread at work
    for expected in (7, 6, 5, 4):
        meter.spend(1.0, cores=1.0)
        with limit.turn():
            pass
        assert limit.limit == expected
    assert limit.share(50) == 100  # half of them: twice as many each
    for _ in range(3):
        meter.spend(1.0, cores=1.0)
        with limit.turn():
            pass
    assert limit.limit == 1
    assert limit.share(50) == 200  # never more than four times as many
