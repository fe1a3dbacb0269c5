"""Chaos: the publishing daemon SIGKILLed at random moments, many times over.

The long version of ``tests/hostile/test_crash.py``: a real daemon process publishes a
batch of posts to a ledger platform running in this process (it never de-duplicates, so
any duplicate is the daemon's), and is killed with SIGKILL at random moments -- 200
times by default -- and restarted. At the end every post must be on the platform exactly
once, or sit in ``unknown``/``failed`` with a reason: never lost, never duplicated.

Beside it, as the baseline, the same posts published by one daemon that is never
killed (time taken), so the cost of the kills shows as a ratio. Runs on SQLite, and
on PostgreSQL when ``GATEPOST_BENCH_PG_URL`` or ``GATEPOST_TEST_PG_URL`` is set
(``--backend``). Exit status 1 when any post was lost or duplicated.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from scheduler.store import sqlite_url
from tests.hostile.crash_daemon import run_chaos


def _pg_schema_url(base: str) -> tuple[str, str]:
    schema = f"chaos_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    url = sa.engine.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def _drop_schema(base: str, schema: str) -> None:
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    admin.dispose()


def run(name: str, make_url, kills: int, posts: int, seed: int) -> bool:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        url, cleanup = make_url(Path(tmp), "calm")
        started = time.monotonic()
        calm = run_chaos(url, Path(tmp), posts=posts, kills=0, seed=seed)
        calm_s = time.monotonic() - started
        cleanup()
        url, cleanup = make_url(Path(tmp), "chaos")
        report = run_chaos(
            url, Path(tmp), posts=posts, kills=kills, seed=seed, min_alive=0.5, max_alive=2.5
        )
        cleanup()
    print(f"{name:<10} {report.summary()}", flush=True)
    print(
        f"{name:<10} baseline without kills: {calm.summary()}; with kills it took "
        f"{report.seconds / max(calm_s, 1e-9):.1f} x as long",
        flush=True,
    )
    for problem in report.problems[:20]:
        print(f"{name:<10}   problem: {problem}")
    return report.ok and calm.ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--posts", type=int, default=0, help="default: 2 per kill, at least 60")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    posts = args.posts or max(60, 2 * args.kills)
    ok = True
    if args.backend in ("sqlite", "both"):

        def sqlite(tmp: Path, label: str):  # type: ignore[no-untyped-def]
            return sqlite_url(tmp / f"{label}.sqlite3"), lambda: None

        ok &= run("sqlite", sqlite, args.kills, posts, args.seed)
    pg = os.environ.get("GATEPOST_BENCH_PG_URL") or os.environ.get("GATEPOST_TEST_PG_URL")
    if args.backend in ("postgresql", "both"):
        if not pg:
            print("postgresql: skipped (set GATEPOST_BENCH_PG_URL or GATEPOST_TEST_PG_URL)")
        else:

            def postgres(tmp: Path, label: str):  # type: ignore[no-untyped-def]
                url, schema = _pg_schema_url(pg)
                return url, lambda: _drop_schema(pg, schema)

            ok &= run("postgresql", postgres, args.kills, posts, args.seed)
    print("no post lost or duplicated, clean exits" if ok else "PROBLEMS FOUND (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
