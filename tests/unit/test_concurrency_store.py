"""Several writers at once, on SQLite and PostgreSQL: the second of two saves of the same
version is refused, and concurrent changes never fork or break the audit chain."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from scheduler import services
from scheduler.errors import StaleEdit
from scheduler.store import Store
from tests.conftest import Team

LATER = "2026-12-01 09:00"


def _together(workers: list[Callable[[], Any]]) -> list[BaseException | Any]:
    """Run the callables in threads started at the same moment; return results or errors."""
    barrier = threading.Barrier(len(workers))
    results: list[BaseException | Any] = [None] * len(workers)

    def run(index: int, work: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = work()
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_people_saving_the_same_version_one_is_refused(store: Store, team: Team) -> None:
    post = services.create_post(store, team.alice, account="uni-news", text="v1", at=LATER)
    results = _together(
        [
            lambda: services.edit_post(
                store, team.alice, post.id, expected_version=post.version, text="alice's words"
            ),
            lambda: services.edit_post(
                store, team.bob, post.id, expected_version=post.version, text="bob's words"
            ),
        ]
    )
    refused = [r for r in results if isinstance(r, StaleEdit)]
    saved = [r for r in results if not isinstance(r, BaseException)]
    assert len(refused) == 1 and len(saved) == 1, results
    assert services.get_post(store, post.id).text == saved[0].text
    assert services.get_post(store, post.id).version == post.version + 1


def test_concurrent_changes_keep_one_unbroken_chain(store: Store, team: Team) -> None:
    def write_posts(who: Any) -> list[int]:
        made = []
        for n in range(5):
            view = services.create_post(
                store, who, account="uni-news", text=f"{who.login} {n}", at=LATER
            )
            made.append(services.submit_post(store, who, view.id).id)
        return made

    results = _together([lambda who=who: write_posts(who) for who in (team.alice, team.dave)])
    assert not any(isinstance(r, BaseException) for r in results), results
    report = services.verify_audit(store)
    assert report.ok, report.problem
    events = services.list_audit(store, limit=1000, descending=False)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
