"""The daemon's publishing path with a real connector: Mastodon against its loopback fake.

The Mastodon instance would de-duplicate a repeated ``Idempotency-Key`` for about an
hour; these tests make it forget, so a post whose answer was lost is found again by the
connector's lookup (by text), not saved by the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from connectors import AccountConfig, make_connector
from scheduler import corrections
from scheduler.daemon import Daemon
from scheduler.publishing import no_frequency_limits
from scheduler.store import Store
from tests.daemon_support import SettableClock, add_account, add_scheduled_post, post_row
from tests.fakes.mastodon import FakeMastodon

TOKEN = "good-mastodon-token"


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def live_store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)  # the real clock: the fake stamps statuses with it
    yield opened
    opened.dispose()


def mastodon_factory(config: AccountConfig):  # type: ignore[no-untyped-def]
    credentials = {"access_token": TOKEN, "client_id": "cid", "client_secret": "csecret"}
    return make_connector(replace(config, credentials=credentials), timeout=2.0)


def make_daemon(store: Store, clock: SettableClock) -> Daemon:
    return Daemon(
        store,
        connector_factory=mastodon_factory,
        gate=None,
        frequency=no_frequency_limits,
        now=clock,
    )


def test_a_lost_answer_from_mastodon_is_found_by_text_and_not_posted_twice(live_store, fake):
    clock = SettableClock(datetime.now(UTC))
    account = add_account(live_store, "uni-mastodon", platform="mastodon", api_base=fake.base_url)
    post_id = add_scheduled_post(
        live_store, account, "Library open late this week", clock() - timedelta(seconds=5)
    )
    fake.inject("drop_after", path="/api/v1/statuses")
    daemon = make_daemon(live_store, clock)

    assert daemon.publisher.publish(post_id).kind == "waiting"
    fake.forget_idempotency_keys()  # an hour later, the instance no longer remembers the key
    clock.advance(minutes=2)
    result = daemon.publisher.publish(post_id)

    assert result.kind == "published"
    assert len(fake.statuses) == 1
    (status_id,) = fake.statuses
    assert post_row(live_store, post_id).remote_id == status_id


def test_a_correction_on_mastodon_edits_the_status_in_place(live_store, fake, team):
    clock = SettableClock(datetime.now(UTC))
    account = add_account(live_store, "uni-mastodon", platform="mastodon", api_base=fake.base_url)
    post_id = add_scheduled_post(live_store, account, "Exam on Tuesday", clock())
    daemon = make_daemon(live_store, clock)
    assert daemon.publisher.publish(post_id).kind == "published"

    request = corrections.request_correction(
        live_store, team.bob, post_id, text="Exam on Wednesday", reason="wrong day"
    )
    clock.advance(minutes=2)
    assert daemon.publisher.publish(request.replacement_post_id).kind == "published"

    assert len(fake.statuses) == 1
    (status,) = fake.statuses.values()
    assert status["text"] == "Exam on Wednesday"
    (done,) = corrections.list_corrections(live_store, post_id=post_id)
    assert (done.state, done.method) == ("done", "edit")
