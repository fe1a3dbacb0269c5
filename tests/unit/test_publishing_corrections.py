"""Retracting and correcting published posts, carried out by the daemon.

A retraction deletes the post on the platform; a correction is a new post through the
gate that edits the original in place where the platform allows it, and otherwise is
published and replaces it. The ledger platform records deletes and edits.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from scheduler import corrections
from scheduler.daemon import Daemon
from scheduler.errors import IllegalTransition, InvalidInput
from scheduler.models import Post
from scheduler.publishing import no_frequency_limits
from tests.daemon_support import add_account, add_scheduled_post, post_row
from tests.fakes.ledger import LedgerPlatform, ledger_connector_factory


@pytest.fixture
def fake() -> Iterator[LedgerPlatform]:
    with LedgerPlatform() as platform:
        yield platform


@pytest.fixture
def daemon(store, clock) -> Daemon:
    # Not started: the tests drive its publisher and its correction pass by hand.
    return Daemon(
        store,
        connector_factory=ledger_connector_factory,
        gate=None,
        frequency=no_frequency_limits,
        now=clock,
    )


def published_post(store, daemon, clock, account: int, text: str) -> int:
    post_id = add_scheduled_post(store, account, text, clock() - timedelta(seconds=30))
    assert daemon.publisher.publish(post_id).kind == "published"
    return post_id


def test_a_retraction_deletes_the_post_on_the_platform_then_marks_it(
    store, team, fake, daemon, clock
):
    account = add_account(store, "ledger-news", api_base=fake.base_url)
    post_id = published_post(store, daemon, clock, account, "Wrong date for open day")
    remote_id = post_row(store, post_id).remote_id

    request = corrections.request_retraction(store, team.bob, post_id, reason="wrong date")
    assert post_row(store, post_id).state == "published"  # until the daemon has done it
    (result,) = corrections.carry_out_due(daemon)

    assert result.kind == "retracted"
    assert fake.deleted == [remote_id]
    post = post_row(store, post_id)
    assert post.state == "retracted"
    assert "wrong date" in post.state_reason
    (done,) = corrections.list_corrections(store, post_id=post_id)
    assert (done.id, done.state, done.method) == (request.id, "done", "delete")
    assert corrections.carry_out_due(daemon) == []  # nothing left to do


def test_a_post_already_gone_from_the_platform_is_still_marked_retracted(
    store, team, fake, daemon, clock
):
    account = add_account(store, "ledger-news", api_base=fake.base_url)
    post_id = published_post(store, daemon, clock, account, "Deleted by hand")
    fake.deleted.append(post_row(store, post_id).remote_id)  # someone deleted it on the site

    corrections.request_retraction(store, team.bob, post_id, reason="duplicate")
    (result,) = corrections.carry_out_due(daemon)

    assert result.kind == "retracted"
    assert post_row(store, post_id).state == "retracted"


def test_a_retraction_refused_for_expired_credentials_says_which_account(
    store, team, fake, daemon, clock
):
    account = add_account(store, "ledger-news", api_base=fake.base_url)
    post_id = published_post(store, daemon, clock, account, "Stays up for now")
    fake.inject("expired", path="/api/posts/")

    corrections.request_retraction(store, team.bob, post_id, reason="typo")
    (result,) = corrections.carry_out_due(daemon)

    assert result.kind == "failed"
    assert "reconnect account ledger-news" in result.message
    assert post_row(store, post_id).state == "published"
    assert fake.deleted == []


def test_a_server_error_leaves_the_retraction_to_be_tried_again(store, team, fake, daemon, clock):
    account = add_account(store, "ledger-news", api_base=fake.base_url)
    post_id = published_post(store, daemon, clock, account, "Try again")
    fake.inject("500", path="/api/posts/")
    corrections.request_retraction(store, team.bob, post_id, reason="typo")

    assert [r.kind for r in corrections.carry_out_due(daemon)] == ["waiting"]
    assert [r.kind for r in corrections.carry_out_due(daemon)] == ["retracted"]
    assert len(fake.deleted) == 1


def test_only_a_published_post_can_be_retracted_and_only_once_at_a_time(
    store, team, fake, daemon, clock
):
    account = add_account(store, "ledger-news", api_base=fake.base_url)
    waiting = add_scheduled_post(store, account, "Not out yet", clock() + timedelta(hours=1))
    with pytest.raises(IllegalTransition):
        corrections.request_retraction(store, team.bob, waiting, reason="changed my mind")
    post_id = published_post(store, daemon, clock, account, "Out")
    corrections.request_retraction(store, team.bob, post_id, reason="one")
    with pytest.raises(InvalidInput, match="already has a retract in progress"):
        corrections.request_retraction(store, team.bob, post_id, reason="two")


def test_a_correction_edits_the_post_in_place_where_the_platform_allows(
    store, team, fake, daemon, clock
):
    account = add_account(store, "ledger-news", api_base=fake.base_url)
    post_id = published_post(store, daemon, clock, account, "Open day on Saturday 5th")

    request = corrections.request_correction(
        store, team.bob, post_id, text="Open day on Saturday 6th", reason="wrong date"
    )
    replacement = request.replacement_post_id
    assert replacement is not None
    assert post_row(store, replacement).state == "scheduled"  # the gate passed it
    assert post_row(store, replacement).corrects_post_id == post_id
    clock.advance(minutes=2)
    result = daemon.publisher.publish(replacement)

    assert result.kind == "published"
    assert len(fake.posts) == 1  # no second post on the platform
    assert fake.edits == [
        {"id": post_row(store, post_id).remote_id, "text": "Open day on Saturday 6th"}
    ]
    (done,) = corrections.list_corrections(store, post_id=post_id)
    assert (done.state, done.method) == ("done", "edit")


def test_where_editing_is_not_possible_the_correction_replaces_the_original(
    store, team, fake, daemon, clock
):
    fake.edits_supported = False
    account = add_account(store, "ledger-news", api_base=fake.base_url)
    post_id = published_post(store, daemon, clock, account, "Lecture in room 101")
    original_remote = post_row(store, post_id).remote_id

    request = corrections.request_correction(
        store, team.bob, post_id, text="Lecture in room 102", reason="wrong room"
    )
    clock.advance(minutes=2)
    assert daemon.publisher.publish(request.replacement_post_id).kind == "published"
    (result,) = corrections.carry_out_due(daemon)

    assert result.kind == "corrected"
    assert [p["text"] for p in fake.live_posts()] == ["Lecture in room 102"]
    assert fake.deleted == [original_remote]
    original = post_row(store, post_id)
    assert original.state == "retracted"
    assert f"replaced by post {request.replacement_post_id}" in original.state_reason
    (done,) = corrections.list_corrections(store, post_id=post_id)
    assert (done.state, done.method) == ("done", "replace")


def test_a_correction_whose_new_text_is_cancelled_fails_and_leaves_the_original(
    store, team, fake, daemon, clock
):
    from scheduler import services

    account = add_account(store, "ledger-news", api_base=fake.base_url)
    post_id = published_post(store, daemon, clock, account, "Original")
    request = corrections.request_correction(store, team.bob, post_id, text="Better", reason="tone")
    services.cancel_post(store, team.bob, request.replacement_post_id, reason="not needed")

    (result,) = corrections.carry_out_due(daemon)

    assert result.kind == "failed"
    assert post_row(store, post_id).state == "published"
    with store.read() as session:
        assert session.get(Post, post_id).remote_id == fake.posts[0]["id"]  # type: ignore[union-attr]
