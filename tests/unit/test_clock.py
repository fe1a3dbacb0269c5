"""The daemon's clock stops cleanly, whatever its jobs are doing at the time."""

from __future__ import annotations

import threading
import time

from scheduler.clock import SchedulerClock


def test_stopping_while_a_job_reads_the_schedule_waits_for_it_and_ends():
    clock = SchedulerClock(publish_workers=1, housekeeping_workers=1)
    clock.start()
    entered, release, finished = threading.Event(), threading.Event(), threading.Event()

    def sync_like_job() -> None:
        entered.set()
        release.wait(10)
        clock.series_ids()  # looks at the schedule, as the sync job does
        finished.set()

    clock.run_soon(sync_like_job, [], "probe")
    assert entered.wait(10)
    stopper = threading.Thread(target=clock.shutdown, kwargs={"wait": True}, daemon=True)
    stopper.start()
    time.sleep(0.3)  # the stop is now waiting for the running job
    assert stopper.is_alive()
    release.set()
    stopper.join(10)

    # Before, the stop held the scheduler's lock while it waited, the job waited for
    # that lock, and neither ever ended (nor could the process exit).
    assert not stopper.is_alive()
    assert finished.is_set()


def test_stopping_while_the_scheduler_starts_a_job_leaves_no_traceback(monkeypatch):
    # APScheduler marked itself stopped before taking its lock; its main loop, in the
    # middle of starting a job, then failed to remove it and its thread died with a
    # traceback (on the terminal of an app being quit).
    clock = SchedulerClock(publish_workers=1, housekeeping_workers=1)
    errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    housekeeping = clock._executors["housekeeping"]
    submit = housekeeping.submit_job
    stopper: list[threading.Thread] = []

    def submit_then_stop(job, run_times):  # type: ignore[no-untyped-def]
        submit(job, run_times)
        stop = threading.Thread(target=clock.shutdown, kwargs={"wait": True})
        stop.start()
        stopper.append(stop)
        time.sleep(0.3)  # the stop begins while the loop has still to remove the job

    monkeypatch.setattr(housekeeping, "submit_job", submit_then_stop)
    clock.start()
    clock.run_soon(lambda: None, [], "probe")
    deadline = time.monotonic() + 10
    while not stopper and time.monotonic() < deadline:
        time.sleep(0.05)
    stopper[0].join(10)
    time.sleep(0.2)
    assert not stopper[0].is_alive()
    assert errors == []
