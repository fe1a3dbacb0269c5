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
import sys

from scheduler.daemon import Daemon, DaemonSettings
from scheduler.publishing import RetryPolicy, no_frequency_limits
from scheduler.store import Store
from tests.fakes.ledger import ledger_connector_factory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--lease", type=float, default=1.5)
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
    return daemon.run_forever()


if __name__ == "__main__":
    raise SystemExit(main())
