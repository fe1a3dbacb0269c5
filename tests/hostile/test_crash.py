"""Killing the daemon: SIGKILL at random moments loses nothing and duplicates nothing.

A real daemon process publishes to a ledger platform running in the test process (so
its record of every post it accepted survives the kills; it never de-duplicates, so
the proof rests on the daemon's lookup discipline alone). It is killed at random
moments and restarted; at the end every post is on the platform exactly once, or sits
in ``unknown``/``failed`` with a reason. ``bench/chaos.py`` runs the long version.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler import services
from scheduler.store import Store, sqlite_url
from tests.daemon_support import add_account, add_scheduled_post, seed_posts, states
from tests.fakes.ledger import LedgerPlatform
from tests.hostile.crash_daemon import run_chaos, start_daemon

ROOT = Path(__file__).resolve().parents[2]


def test_sigkill_at_random_moments_never_loses_or_duplicates_a_post(tmp_path):
    report = run_chaos(sqlite_url(tmp_path / "chaos.sqlite3"), tmp_path, posts=40, kills=5, seed=7)

    assert report.problems == [], report.summary()
    assert report.kills == 5
    assert report.published + report.unknown + report.failed == 40
    assert report.final_exit_code == 0


@pytest.mark.postgres
def test_sigkill_on_postgresql_never_loses_or_duplicates_a_post(tmp_path, pg_schema):
    report = run_chaos(pg_schema.url, tmp_path, posts=30, kills=3, seed=11)

    assert report.problems == [], report.summary()


@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_three_daemons_racing_for_a_thousand_due_posts_publish_each_once(tmp_path, pg_schema):
    store = Store(pg_schema.url)
    with LedgerPlatform() as fake:
        due = datetime.now(UTC) - timedelta(seconds=1)
        ids = seed_posts(store, fake.base_url, [due] * 1000, accounts=5, tag="race")
        daemons = [start_daemon(pg_schema.url, tmp_path / f"d{n}.log", lease=30) for n in range(3)]
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                left = [s for s in states(store).values() if s in ("scheduled", "publishing")]
                if not left:
                    break
                time.sleep(0.25)
        finally:
            for proc in daemons:
                proc.send_signal(signal.SIGTERM)
            codes = [proc.wait(timeout=15) for proc in daemons]
        copies = fake.copies_by_key()
    final = states(store)
    chain = services.verify_audit(store)
    store.dispose()

    assert codes == [0, 0, 0]
    assert {final[i] for i in ids} == {"published"}
    assert len(copies) == 1000 and set(copies.values()) == {1}
    # Three daemons appending at once still make one unbroken chain: a claim and a
    # publication for each post.
    assert chain.ok, chain.problem
    assert chain.events >= 2000
    # All three took part: each daemon's log names posts it published.
    busy = [p for p in (tmp_path / f"d{n}.log" for n in range(3)) if "published" in p.read_text()]
    assert len(busy) >= 2


def test_gatepost_daemon_logs_json_lines_and_exits_0_on_sigterm(tmp_path):
    url = sqlite_url(tmp_path / "gatepost.sqlite3")
    store = Store(url)
    outbox = tmp_path / "outbox"
    account = add_account(store, "news", platform="outbox", options={"dir": str(outbox)})
    post_id = add_scheduled_post(store, account, "Hello from the outbox", datetime.now(UTC))
    store.dispose()
    env = {**os.environ, "GATEPOST_DATABASE_URL": url, "GATEPOST_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tui.cli import main; main()",
            "daemon",
            "--log-format",
            "json",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    stderr = proc.stderr
    lines: list[dict[str, object]] = []
    published = threading.Event()

    def read() -> None:  # a thread, so a silent daemon cannot block the test
        for line in stderr:
            if line.strip():
                lines.append(json.loads(line))
                if lines[-1].get("kind") == "published":
                    published.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    published.wait(timeout=90)  # generous: a busy machine starts Python slowly
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=10)
    took = time.monotonic() - started
    reader.join(timeout=5)

    assert code == 0
    assert took < 5
    kinds = [entry.get("kind") for entry in lines]
    assert kinds[0] == "started" and "published" in kinds and kinds[-1] == "stopped"
    (event,) = [e for e in lines if e.get("kind") == "published"]
    assert event["post_id"] == post_id
    assert len(list(outbox.iterdir())) == 1
