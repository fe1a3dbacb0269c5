"""Publishing throughput, lateness and memory of the daemon, beside the platform's capacity.

A ledger platform (the test fake; it never de-duplicates) runs in a process of its own
on loopback. In the same run:

1. **Raw capacity**: a plain ``requests`` loop posts to it as fast as it can, from one
   thread, two, and as many as the daemon has publishing workers; the best of the three
   is the platform's raw capacity (one thread usually wins: more only queue for the
   interpreter).
2. **Burst**: ``--posts`` (10,000) approved posts across 50 accounts, all due at the
   same moment; the daemon (the real one: APScheduler jobs, claims, attempts, gate
   re-run, audit) publishes them. Reported: posts/s and its ratio to the raw capacity,
   p50/p99 lateness, peak RSS, and a check that the platform got each post once.
3. **Spread**: 500 posts due within the same minute: p99 lateness (target < 1 s).
4. **Queue**: 100,000 posts queued over the next 30 days: RSS once the daemon has
   synced (its jobs cover only the next hours), beside the RSS before it started.

Runs on SQLite, and on PostgreSQL when ``GATEPOST_BENCH_PG_URL`` or
``GATEPOST_TEST_PG_URL`` is set. Posts are seeded in bulk (approvals bound to their
fingerprints, as the services make them). Targets: ratio >= 0.5, p99 < 1 s for the
spread, RSS < 200 MB with 100,000 queued. ``--fast`` runs a small version.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
import sqlalchemy as sa

from scheduler.daemon import Daemon, DaemonSettings
from scheduler.models import Post
from scheduler.publishing import no_frequency_limits
from scheduler.store import Store, sqlite_url
from tests.daemon_support import seed_posts as seed
from tests.fakes.ledger import TOKEN, LedgerPlatform, ledger_connector_factory

WORKERS = 8


# -- the platform, in a process of its own ---------------------------------------------------


def _serve(port_out: multiprocessing.Queue, stop: multiprocessing.Event, latency: float) -> None:  # type: ignore[type-arg]
    with LedgerPlatform(latency=latency) as fake:
        port_out.put(fake.base_url)
        stop.wait()


class Platform:
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency

    def __enter__(self) -> Platform:
        ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        urls: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
        self._proc = ctx.Process(target=_serve, args=(urls, self._stop, self.latency), daemon=True)
        self._proc.start()
        self.base_url: str = urls.get(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._proc.join(10)

    def stats(self, prefix: str) -> dict[str, int]:
        reply = requests.get(f"{self.base_url}/api/stats", params={"prefix": prefix}, timeout=30)
        return reply.json()  # type: ignore[no-any-return]


def raw_capacity(base_url: str, *, threads: int, seconds: float) -> float:
    """Posts per second a plain client loop gets from the platform with ``threads`` threads."""
    stop_at = time.monotonic() + seconds
    counts = [0] * threads

    def loop(n: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        i = 0
        while time.monotonic() < stop_at:
            body = {"account": "raw", "text": f"raw {n} {i}", "key": f"raw-{n}-{i}"}
            session.post(f"{base_url}/api/posts", json=body, timeout=10).raise_for_status()
            i += 1
        counts[n] = i

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(loop, range(threads)))
    return sum(counts) / (time.monotonic() - started)


def lateness(store: Store, tag: str) -> list[float]:
    """Seconds between each published post's time and its platform receipt."""
    p = Post.__table__.c  # type: ignore[attr-defined]
    with store.read() as session:
        rows = session.execute(
            sa.select(p.scheduled_at, p.published_at).where(
                p.state == "published", p.text.like(f"{tag} post %")
            )
        ).all()
    out = []
    for scheduled, published in rows:
        scheduled = scheduled.replace(tzinfo=UTC) if scheduled.tzinfo is None else scheduled
        published = published.replace(tzinfo=UTC) if published.tzinfo is None else published
        out.append((published - scheduled).total_seconds())
    return sorted(out)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_daemon(store: Store) -> Daemon:
    return Daemon(
        store,
        connector_factory=ledger_connector_factory,
        frequency=no_frequency_limits,  # the policy's 4 an hour would make this a test of waiting
        settings=DaemonSettings(publish_workers=WORKERS, sync_seconds=5, heartbeat_seconds=5),
    )


def wait_published(store: Store, tag: str, count: int, timeout: float) -> float:
    """Poll until ``count`` posts of ``tag`` are published; return when the last one was."""
    p = Post.__table__.c  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.read() as session:
            done = session.execute(
                sa.select(sa.func.count()).where(
                    p.state == "published", p.text.like(f"{tag} post %")
                )
            ).scalar_one()
        if done >= count:
            return time.monotonic()
        time.sleep(0.25)
    raise TimeoutError(f"only {done} of {count} published within {timeout:.0f} s")


# -- the three measurements ---------------------------------------------------------------------


def burst(store: Store, platform: Platform, posts: int, raw: float) -> dict[str, float]:
    tag = f"burst{uuid.uuid4().hex[:4]}"
    due = datetime.now(UTC) + timedelta(seconds=20)
    seed(store, platform.base_url, [due] * posts, tag=tag)
    daemon = make_daemon(store)
    daemon.start()
    try:
        wait_s = (due - datetime.now(UTC)).total_seconds()
        if wait_s > 0:
            time.sleep(wait_s)
        started = time.monotonic()
        finished = wait_published(store, tag, posts, timeout=3600)
    finally:
        daemon.stop()
    took = finished - started
    late = lateness(store, tag)
    stats = platform.stats("gatepost-")
    rate = posts / took
    return {
        "posts/s": rate,
        "ratio": rate / raw,
        "p50": percentile(late, 0.5),
        "p99": percentile(late, 0.99),
        "duplicates": stats["duplicates"],
    }


def spread(store: Store, platform: Platform) -> dict[str, float]:
    tag = f"spread{uuid.uuid4().hex[:4]}"
    start = datetime.now(UTC) + timedelta(seconds=15)
    times = [start + timedelta(seconds=60 * i / 500) for i in range(500)]
    seed(store, platform.base_url, times, tag=tag)
    daemon = make_daemon(store)
    daemon.start()
    try:
        wait_published(store, tag, 500, timeout=600)
    finally:
        daemon.stop()
    late = lateness(store, tag)
    return {"p50": percentile(late, 0.5), "p99": percentile(late, 0.99), "max": late[-1]}


def queued(store: Store, platform: Platform, count: int) -> dict[str, float]:
    tag = f"queue{uuid.uuid4().hex[:4]}"
    start = datetime.now(UTC) + timedelta(hours=1)
    times = [start + timedelta(seconds=30 * 24 * 3600 * i / count) for i in range(count)]
    seed(store, platform.base_url, times, tag=tag)
    before = rss_mb()
    daemon = make_daemon(store)
    daemon.start()
    try:
        time.sleep(3)  # the first sync has run: jobs for the next 6 hours are in place
        jobs = daemon.clock.post_job_count()
        after = rss_mb()
    finally:
        daemon.stop()
    return {"rss_before": before, "rss_after": after, "jobs": jobs}


def run_backend(
    name: str,
    store: Store,
    platform: Platform,
    posts: int,
    queue: int,
    raw: float,
    only: set[str],
) -> bool:
    ok = True
    if "burst" in only:
        ok &= _burst(name, store, platform, posts, raw)
    if "spread" in only:
        ok &= _spread(name, store, platform)
    if "queue" in only:
        ok &= _queue(name, store, platform, queue)
    return ok


def _burst(name: str, store: Store, platform: Platform, posts: int, raw: float) -> bool:
    b = burst(store, platform, posts, raw)
    print(
        f"{name:<10} burst   {posts:>6} posts due at once, 50 accounts: "
        f"{b['posts/s']:7.1f} posts/s = {b['ratio']:.2f} x raw capacity ({raw:.0f}/s); "
        f"lateness p50 {b['p50']:.2f} s, "
        f"p99 {b['p99']:.2f} s; duplicates on the platform: {b['duplicates']:.0f}; "
        f"peak RSS {peak_rss_mb():.0f} MB",
        flush=True,
    )
    return bool(b["duplicates"] == 0 and b["ratio"] >= 0.5)


def _spread(name: str, store: Store, platform: Platform) -> bool:
    s = spread(store, platform)
    print(
        f"{name:<10} spread     500 posts due within one minute: lateness p50 {s['p50']:.3f} s, "
        f"p99 {s['p99']:.3f} s, max {s['max']:.3f} s (target p99 < 1 s)",
        flush=True,
    )
    return s["p99"] < 1.0


def _queue(name: str, store: Store, platform: Platform, queue: int) -> bool:
    q = queued(store, platform, queue)
    print(
        f"{name:<10} queue  {queue:>7} posts queued over 30 days: RSS {q['rss_after']:.0f} MB "
        f"with the daemon running ({q['rss_before']:.0f} MB before it started), "
        f"{q['jobs']:.0f} jobs in the scheduler (target < 200 MB)",
        flush=True,
    )
    return q["rss_after"] < 200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--queue", type=int, default=100_000)
    parser.add_argument("--fast", action="store_true", help="1,000 posts, 10,000 queued")
    parser.add_argument(
        "--only",
        choices=["burst", "spread", "queue"],
        action="append",
        help="run only this measurement (repeat for more)",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds the platform takes per post (0: as fast as loopback allows)",
    )
    args = parser.parse_args()
    posts, queue = (1000, 10_000) if args.fast else (args.posts, args.queue)
    only = set(args.only or ["burst", "spread", "queue"])
    ok = True
    with Platform(args.latency) as platform, tempfile.TemporaryDirectory() as tmp:
        loops = {
            threads: raw_capacity(platform.base_url, threads=threads, seconds=4)
            for threads in sorted({1, 2, WORKERS})
        }
        # The platform's capacity is the most any of the plain loops got from it.
        raw = max(loops.values())
        print(
            f"platform latency {args.latency * 1000:.0f} ms; raw capacity: {raw:.0f} posts/s, "
            "the best of a plain client loop in "
            + ", ".join(f"{t} thread{'s' * (t > 1)} ({r:.0f}/s)" for t, r in loops.items())
            + f"; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        if args.backend in ("sqlite", "both"):
            store = Store(sqlite_url(Path(tmp) / "bench.sqlite3"))
            ok &= run_backend("sqlite", store, platform, posts, queue, raw, only)
            store.dispose()
        pg = os.environ.get("GATEPOST_BENCH_PG_URL") or os.environ.get("GATEPOST_TEST_PG_URL")
        if args.backend in ("postgresql", "both"):
            if not pg:
                print("postgresql: skipped (set GATEPOST_BENCH_PG_URL or GATEPOST_TEST_PG_URL)")
            else:
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
                url = sa.engine.make_url(pg).update_query_dict(
                    {"options": f"-csearch_path={schema}"}
                )
                store = Store(url.render_as_string(hide_password=False))
                try:
                    ok &= run_backend("postgresql", store, platform, posts, queue, raw, only)
                finally:
                    store.dispose()
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                    admin.dispose()
    print(
        ("targets met" if ok else "some targets missed")
        + f" (load average now {os.getloadavg()[0]:.1f})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
