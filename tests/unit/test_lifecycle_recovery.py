"""After the daemon: retrying failed posts, confirming held ones, settling unknown ones.

A new time is a new scheduled window, so it needs a new approval: an approver's own
(when the approver acts), the gate's (when it passed the post unaided before), or a
person's in review.
"""

from __future__ import annotations

import pytest

from scheduler import lifecycle, services
from scheduler.errors import IllegalTransition, InvalidInput
from scheduler.models import Post, PostState
from scheduler.store import Store
from tests.conftest import SettableClock, Team

LATER = "2026-12-01 09:00"


def _daemon_leaves(store: Store, team: Team, final: PostState, *, account: str) -> int:
    post = services.create_post(store, team.alice, account=account, text="Hello", at=LATER)
    post = services.submit_post(store, team.alice, post.id)
    if post.state is PostState.IN_REVIEW:
        post = services.approve_post(store, team.bob, post.id)
    assert post.state is PostState.SCHEDULED
    with store.write() as session:
        row = session.get(Post, post.id)
        assert row is not None
        now = store.now()
        if final is PostState.HELD:
            lifecycle.transition(session, row, final, action="misfire", actor="daemon", now=now)
            return post.id
        lifecycle.transition(
            session, row, PostState.PUBLISHING, action="claim", actor="daemon", now=now
        )
        action = {PostState.FAILED: "fail", PostState.UNKNOWN: "outcome-unknown"}[final]
        lifecycle.transition(session, row, final, action=action, actor="daemon", now=now)
    return post.id


def test_approver_retrying_a_failed_post_approves_the_new_time(store: Store, team: Team) -> None:
    post_id = _daemon_leaves(store, team, PostState.FAILED, account="uni-research")
    post = services.retry_post(store, team.carol, post_id, at="2026-12-02 09:00")
    assert post.state is PostState.SCHEDULED
    assert post.approval is not None and post.approval.approver == "carol"
    assert post.approval_status == "valid"
    assert post.scheduled_local == "2026-12-02 09:00 GMT"


def test_author_retrying_on_a_strict_account_goes_back_to_review(store: Store, team: Team) -> None:
    post_id = _daemon_leaves(store, team, PostState.FAILED, account="uni-research")
    post = services.retry_post(store, team.alice, post_id)
    assert post.state is PostState.IN_REVIEW
    assert post.approval_status == "void"


def test_author_retrying_a_post_the_gate_passed_is_checked_again(
    store: Store, team: Team, clock: SettableClock
) -> None:
    post_id = _daemon_leaves(store, team, PostState.FAILED, account="uni-news")
    clock.advance(days=10)  # long after its time: "now" is the default new time
    post = services.retry_post(store, team.alice, post_id)
    assert post.state is PostState.SCHEDULED
    assert post.approval is not None and post.approval.automatic
    assert post.scheduled_at == clock.now


def test_confirming_a_held_post(store: Store, team: Team, clock: SettableClock) -> None:
    post_id = _daemon_leaves(store, team, PostState.HELD, account="uni-research")
    with pytest.raises(IllegalTransition, match="only a failed post"):
        services.retry_post(store, team.bob, post_id)
    clock.advance(days=6)
    with pytest.raises(InvalidInput, match="in the past"):
        services.confirm_held(store, team.carol, post_id, at="2026-11-30 18:00")
    assert services.get_post(store, post_id).state is PostState.HELD
    post = services.confirm_held(store, team.carol, post_id, at="2026-12-02 18:00")
    assert post.state is PostState.SCHEDULED
    assert post.approval is not None and post.approval.approver == "carol"


def test_settling_an_unknown_outcome(store: Store, team: Team) -> None:
    went = _daemon_leaves(store, team, PostState.UNKNOWN, account="uni-news")
    with pytest.raises(InvalidInput, match="link"):
        services.resolve_unknown(store, team.alice, went, went_out=True)
    post = services.resolve_unknown(
        store, team.alice, went, went_out=True, remote_url="https://example.social/@uni/1"
    )
    assert post.state is PostState.PUBLISHED
    assert post.remote_url == "https://example.social/@uni/1"
    assert post.published_at is not None

    lost = _daemon_leaves(store, team, PostState.UNKNOWN, account="uni-research")
    resent = services.resolve_unknown(store, team.bob, lost, went_out=False, at="2026-12-03 09:00")
    assert resent.state is PostState.SCHEDULED
    assert resent.approval is not None and resent.approval.approver == "bob"
    with pytest.raises(IllegalTransition, match="only a post whose outcome is unknown"):
        services.resolve_unknown(store, team.bob, lost, went_out=False)


def test_new_times_void_the_old_approval_in_the_audit_log(store: Store, team: Team) -> None:
    post_id = _daemon_leaves(store, team, PostState.FAILED, account="uni-research")
    before = services.get_post(store, post_id).approval
    after = services.retry_post(store, team.carol, post_id, at="2026-12-02 09:00").approval
    assert before is not None and after is not None and before.id != after.id
    events = services.list_audit(store, subject=f"post:{post_id}", limit=1)
    assert events[0].action == "post.retry"
    assert events[0].after["approval"] == after.id
    assert services.verify_audit(store).ok


def test_time_moves_on_between_steps(store: Store, team: Team, clock: SettableClock) -> None:
    # A post in review whose time passes cannot be approved until it gets a new time.
    post = services.create_post(store, team.alice, account="uni-research", text="x", at=LATER)
    services.submit_post(store, team.alice, post.id)
    clock.advance(days=6)
    with pytest.raises(InvalidInput, match="passed"):
        services.approve_post(store, team.bob, post.id)
    services.schedule_post(store, team.alice, post.id, "2026-12-09 09:00")
    post_view = services.submit_post(store, team.alice, post.id)
    assert services.approve_post(store, team.bob, post_view.id).state is PostState.SCHEDULED
