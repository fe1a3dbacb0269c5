"""Run the real publishing daemon in a process of its own, against a ledger fake.

The crash test and ``bench/chaos.py`` start this with ``python -m
tests.hostile.crash_daemon --db URL`` and SIGKILL it at random moments. It is the same
:class:`scheduler.daemon.Daemon` and the same foreground loop as ``gatepost daemon``;
only the connector factory differs (the ledger platform's accounts carry its loopback
address as their ``api_base``), and the intervals are short so a killed daemon's posts
are taken over within a couple of seconds.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.daemon import Daemon, DaemonSettings
from scheduler.publishing import RetryPolicy, no_frequency_limits
from scheduler.store import Store
from tests.fakes.ledger import LedgerPlatform, ledger_connector_factory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--lease", type=float, default=3.0)
    parser.add_argument("--sync", type=float, default=0.5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=5)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    store = Store(args.db)
    settings = DaemonSettings(
        publish_workers=args.workers,
        batch=args.batch,
        lease_seconds=args.lease,
        sync_seconds=args.sync,
        heartbeat_seconds=args.sync,
        stop_timeout=3.0,
        retry=RetryPolicy(max_attempts=8, base_seconds=0.2, max_seconds=2.0),
    )
    daemon = Daemon(
        store,
        connector_factory=ledger_connector_factory,
        gate=None,
        frequency=no_frequency_limits,
        settings=settings,
    )
    if args.once:
        daemon.run_once()
        return 0
    return daemon.run_forever(exit_process=True)


# -- the harness: kill it at random moments, restart it, check the platform's record ------


@dataclass
class ChaosReport:
    """What a chaos run found: per-post outcome, copies on the platform, and problems."""

    posts: int
    kills: int
    published: int
    unknown: int
    failed: int
    platform_copies: int
    settled_by_lookup: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    final_exit_code: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"{self.posts} posts, {self.kills} SIGKILLs in {self.seconds:.1f} s: "
            f"{self.published} published, {self.unknown} unknown, {self.failed} failed; "
            f"{self.platform_copies} copies on the platform; {self.settled_by_lookup} attempts "
            "settled by lookup after a kill or a lost answer; final SIGTERM exit "
            f"{self.final_exit_code}; problems: {len(self.problems)}"
        )


def start_daemon(db_url: str, log_path: Path, *, lease: float = 3.0) -> subprocess.Popen[bytes]:
    """Start ``python -m tests.hostile.crash_daemon`` on ``db_url`` (repo root as cwd)."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    log = log_path.open("ab")
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.hostile.crash_daemon",
                "--db",
                db_url,
                "--lease",
                str(lease),
            ],
            cwd=root,
            env=env,
            stdout=log,
            stderr=log,
        )
    finally:
        log.close()


def _beating(store: Store, pid: int) -> bool:
    import sqlalchemy as sa

    from scheduler.models import DaemonHeartbeat

    h = DaemonHeartbeat.__table__.c  # type: ignore[attr-defined]
    with store.read() as session:
        found = session.execute(
            sa.select(h.daemon_id).where(h.pid == pid, h.stopped_at.is_(None))
        ).first()
    return found is not None


def run_chaos(
    db_url: str,
    work_dir: Path,
    *,
    posts: int = 40,
    kills: int = 5,
    seed: int = 1,
    min_alive: float = 0.2,
    max_alive: float = 1.5,
    latency: float = 0.03,
    settle_timeout: float = 60.0,
) -> ChaosReport:
    """Publish ``posts`` due posts with a daemon SIGKILLed ``kills`` times at random moments.

    A ledger platform (which never de-duplicates) runs in this process, so its record
    survives every kill; lost answers and server errors are injected along the way. After
    the kills one more daemon runs until nothing is left to do, then gets SIGTERM.
    """
    from sqlmodel import select

    from scheduler.models import Post, PublishAttempt
    from tests.daemon_support import add_account, add_scheduled_post

    rng = random.Random(seed)
    started = time.monotonic()
    log_path = work_dir / "daemon.log"
    store = Store(db_url)
    report = ChaosReport(posts=posts, kills=0, published=0, unknown=0, failed=0, platform_copies=0)
    with LedgerPlatform(latency=latency) as fake:
        # A connector time-out well inside half the lease: a live daemon's post is never
        # taken over while its request may still be on its way.
        accounts = [
            add_account(store, f"acct{i}", api_base=fake.base_url, options={"timeout": "1"})
            for i in range(3)
        ]
        due = datetime.now(UTC) - timedelta(seconds=5)
        ids = [
            add_scheduled_post(store, accounts[i % 3], f"chaos post {i}", due) for i in range(posts)
        ]
        for _ in range(kills):
            if rng.random() < 0.3:
                fake.inject(rng.choice(["drop_after", "500"]), path="/api/posts")
            proc = start_daemon(db_url, log_path)
            time.sleep(rng.uniform(min_alive, max_alive))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            report.kills += 1
        proc = start_daemon(db_url, log_path)
        deadline = time.monotonic() + settle_timeout
        # SIGTERM is the daemon's to handle once it runs; before that (while Python is
        # still importing) it would simply end the process. Wait for its heartbeat.
        while time.monotonic() < deadline and not _beating(store, proc.pid):
            time.sleep(0.1)
        while time.monotonic() < deadline:
            with store.read() as session:
                open_posts = session.exec(
                    select(Post.id).where(Post.state.in_(["scheduled", "publishing"]))  # type: ignore[attr-defined]
                ).all()
            if not open_posts:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        try:
            report.final_exit_code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            report.problems.append("the daemon did not exit within 10 s of SIGTERM")
        copies = fake.copies_by_key()
        report.platform_copies = sum(copies.values())
        with store.read() as session:
            rows = {p.id: p for p in session.exec(select(Post).where(Post.id.in_(ids))).all()}  # type: ignore[union-attr]
            for post_id in ids:
                post = rows[post_id]
                key = f"gatepost-{post_id}-{post.fingerprint[:16]}"
                n = copies.pop(key, 0)
                if post.state == "published":
                    report.published += 1
                    if n != 1:
                        report.problems.append(
                            f"post {post_id} is published with {n} copies on the platform"
                        )
                elif post.state in ("unknown", "failed"):
                    report.unknown += post.state == "unknown"
                    report.failed += post.state == "failed"
                    if not post.state_reason:
                        report.problems.append(f"post {post_id} is {post.state} without a reason")
                    if n > 1:
                        report.problems.append(f"post {post_id} has {n} copies on the platform")
                else:
                    report.problems.append(f"post {post_id} was left {post.state} (lost)")
            report.settled_by_lookup = len(
                session.exec(
                    select(PublishAttempt.id).where(
                        PublishAttempt.post_id.in_(ids),  # type: ignore[attr-defined]
                        PublishAttempt.outcome.in_(["found", "not_sent"]),  # type: ignore[attr-defined]
                    )
                ).all()
            )
        if copies:
            report.problems.append(f"the platform holds posts nobody scheduled: {sorted(copies)}")
    if report.final_exit_code not in (0, None):
        report.problems.append(f"SIGTERM exit status {report.final_exit_code}, not 0")
    store.dispose()
    report.seconds = time.monotonic() - started
    return report


if __name__ == "__main__":
    raise SystemExit(main())
