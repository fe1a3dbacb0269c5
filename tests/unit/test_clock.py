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
