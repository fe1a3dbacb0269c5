"""The post lifecycle through the services: transitions, approval binding, optimistic locks,
separation of duties. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler import lifecycle, services
from scheduler.errors import IllegalTransition, InvalidInput, PermissionDenied, StaleEdit
from scheduler.models import Post, PostState
from scheduler.store import Store
from tests.conftest import NOW, SettableClock, Team, make_png

LATER = "2026-12-01 09:00"  # a Tuesday, GMT


def _review_post(store: Store, team: Team, text: str = "Open day on Saturday!") -> int:
    post = services.create_post(store, team.alice, account=team.strict.name, text=text, at=LATER)
    post = services.submit_post(store, team.alice, post.id)
    assert post.state is PostState.IN_REVIEW
    return post.id


def _claimed(store: Store, team: Team, text: str, owner: str) -> int:
    """An approved post claimed for publishing by the daemon ``owner``."""
    post_id = _review_post(store, team, text)
    services.approve_post(store, team.bob, post_id)
    with store.write() as session:
        row = session.get(Post, post_id)
        assert row is not None
        lifecycle.transition(
            session, row, PostState.PUBLISHING, action="claim", actor="daemon", now=NOW
        )
        row.lease_owner = owner
        session.add(row)
    return post_id


def test_clean_post_on_relaxed_account_is_scheduled_by_the_gate(store: Store, team: Team) -> None:
    post = services.create_post(store, team.alice, account="uni-news", text="Open day!", at=LATER)
    post = services.submit_post(store, team.alice, post.id)
    assert post.state is PostState.SCHEDULED
    assert post.approval is not None and post.approval.automatic
    assert post.approval_status == "valid"


def test_account_requiring_approval_keeps_a_clean_post_in_review(store: Store, team: Team) -> None:
    post = services.get_post(store, _review_post(store, team))
    assert post.state is PostState.IN_REVIEW
    assert post.approval is None


def test_author_cannot_approve_own_post_even_as_approver(store: Store, team: Team) -> None:
    # bob is an approver, but here he wrote the post.
    post = services.create_post(store, team.bob, account=team.strict.name, text="Hi", at=LATER)
    services.submit_post(store, team.bob, post.id)
    with pytest.raises(PermissionDenied, match="separation of duties"):
        services.approve_post(store, team.bob, post.id)


def test_an_author_cannot_approve_at_all(store: Store, team: Team) -> None:
    post_id = _review_post(store, team)
    with pytest.raises(PermissionDenied, match="only approvers"):
        services.approve_post(store, team.dave, post_id)


def test_approver_approves_and_approval_binds_the_fingerprint(store: Store, team: Team) -> None:
    post_id = _review_post(store, team)
    post = services.approve_post(store, team.bob, post_id, comment="fine")
    assert post.state is PostState.SCHEDULED
    assert post.approval is not None
    assert post.approval.approver == "bob"
    assert post.approval.fingerprint == post.fingerprint
    assert post.approval_status == "valid"


def test_editing_an_approved_post_voids_approval_and_returns_it_to_draft(
    store: Store, team: Team
) -> None:
    post_id = _review_post(store, team)
    services.approve_post(store, team.bob, post_id)
    post = services.edit_post(store, team.alice, post_id, text="Open day on Sunday!")
    assert post.state is PostState.DRAFT
    assert post.approval is not None and post.approval.void
    assert post.approval_status == "void"
    assert "edit by alice" in (post.approval.void_reason or "")
    assert post.to_dict()["approval"]["void"] is True


@pytest.mark.parametrize(
    "change",
    [
        {"text": "Other words"},  # the text
        {"at": "2026-12-01 10:00"},  # the scheduled window
        {"links": ["https://example.ac.uk/other"]},  # a link target
        {"account": "uni-news"},  # the account
    ],
)
def test_every_part_of_the_fingerprint_voids_the_approval(
    store: Store, team: Team, change: dict[str, object]
) -> None:
    post_id = _review_post(store, team)
    before = services.approve_post(store, team.bob, post_id)
    after = services.edit_post(store, team.alice, post_id, **change)  # type: ignore[arg-type]
    assert after.fingerprint != before.fingerprint
    assert after.state is PostState.DRAFT
    assert after.approval_status == "void"


def test_changing_an_attached_asset_changes_the_fingerprint(store: Store, team: Team) -> None:
    first = services.add_asset(store, team.admin, make_png(1), filename="one.png")
    second = services.add_asset(store, team.admin, make_png(2), filename="two.png")
    post = services.create_post(
        store, team.alice, account="uni-news", text="Look", at=LATER, attachments=[first.id]
    )
    changed = services.edit_post(store, team.alice, post.id, attachments=[second.id])
    assert changed.fingerprint != post.fingerprint
    same_alt_changed = services.edit_post(
        store, team.alice, post.id, attachments=[(second.id, "a described picture")]
    )
    assert same_alt_changed.fingerprint != changed.fingerprint


def test_post_whose_content_changed_behind_the_approval_cannot_publish(
    store: Store, team: Team
) -> None:
    post_id = _review_post(store, team)
    services.approve_post(store, team.bob, post_id)
    # Someone changes the text directly in the database, bypassing the services.
    with store.write() as session:
        row = session.get(Post, post_id)
        assert row is not None
        row.text = "Something nobody approved"
        session.add(row)
    with store.write() as session:
        row = session.get(Post, post_id)
        assert row is not None
        assert not lifecycle.approval_matches(session, row)
        with pytest.raises(IllegalTransition, match="does not match what was approved"):
            lifecycle.transition(
                session, row, PostState.PUBLISHING, action="claim", actor="daemon", now=NOW
            )


def test_matching_post_can_be_claimed_for_publishing(store: Store, team: Team) -> None:
    post_id = _claimed(store, team, "Open day on Saturday!", owner="d1")
    assert services.get_post(store, post_id).state is PostState.PUBLISHING


def test_a_batch_moves_the_posts_that_may_move_and_leaves_the_other_as_it_was(
    store: Store, team: Team
) -> None:
    good, tampered, draft = (_review_post(store, team, f"Open day, part {i}") for i in range(3))
    for post_id in (good, tampered):
        services.approve_post(store, team.bob, post_id)
    with store.write() as session:
        row = session.get(Post, tampered)
        assert row is not None
        row.text = "Something nobody approved"
        session.add(row)
    events_before = services.verify_audit(store).events
    with store.write() as session:
        rows = [session.get(Post, i) for i in (good, tampered, draft)]
        assert all(rows)
        problems = lifecycle.transition_many(
            session,
            rows,  # type: ignore[arg-type]
            PostState.PUBLISHING,
            action="claim",
            actor="daemon",
            now=NOW,
            details=[{"daemon": "d1"}] * 3,
        )
    assert problems[0] is None
    assert problems[1] is not None and "does not match what was approved" in str(problems[1])
    assert problems[2] is not None and "cannot claim" in str(problems[2])
    assert services.get_post(store, good).state is PostState.PUBLISHING
    assert services.get_post(store, tampered).state is PostState.SCHEDULED
    assert services.get_post(store, draft).state is PostState.IN_REVIEW
    # One event for the post that moved, chained onto the log.
    report = services.verify_audit(store)
    assert report.ok and report.events == events_before + 1


def _leased(store: Store, team: Team, text: str, owner: str) -> tuple[int, int]:
    """An approved, scheduled post leased to the daemon ``owner``; (id, version)."""
    post_id = _review_post(store, team, text)
    services.approve_post(store, team.bob, post_id)
    with store.write() as session:
        row = session.get(Post, post_id)
        assert row is not None
        row.lease_owner = owner
        session.add(row)
        return post_id, row.version


def test_claiming_a_batch_checks_each_post_against_its_approval_and_its_lease(
    store: Store, team: Team
) -> None:
    good = _leased(store, team, "Open day, part 1", owner="d1")
    tampered = _leased(store, team, "Open day, part 2", owner="d1")
    other_daemons = _leased(store, team, "Open day, part 3", owner="d2")
    edited_since = _leased(store, team, "Open day, part 4", owner="d1")
    with store.write() as session:
        row = session.get(Post, tampered[0])
        assert row is not None
        row.text = "Something nobody approved"  # behind the services' back
        session.add(row)
    before = services.get_post(store, good[0])
    events_before = services.verify_audit(store).events
    with store.write() as session:
        outcome = lifecycle.claim_many(
            session,
            [
                lifecycle.Claim(good[0], good[1]),
                lifecycle.Claim(tampered[0], tampered[1]),
                lifecycle.Claim(other_daemons[0], other_daemons[1]),
                lifecycle.Claim(edited_since[0], edited_since[1] - 1),  # read before a change
            ],
            actor="daemon",
            now=NOW,
            lease_owner="d1",
            detail={"daemon": "d1"},
        )
    claimed = outcome[good[0]]
    assert isinstance(claimed, lifecycle.ClaimedPost)
    assert claimed.text == "Open day, part 1" and claimed.attempt_count == 1
    assert isinstance(outcome[tampered[0]], IllegalTransition)
    assert "does not match what was approved" in str(outcome[tampered[0]])
    for changed in (other_daemons[0], edited_since[0]):
        assert isinstance(outcome[changed], StaleEdit)
        assert "changed while it was being claimed" in str(outcome[changed])
    after = services.get_post(store, good[0])
    assert after.state is PostState.PUBLISHING
    assert after.version == before.version + 1 and after.fingerprint == before.fingerprint
    for post_id, _ in (tampered, other_daemons, edited_since):
        assert services.get_post(store, post_id).state is PostState.SCHEDULED
    # One event, the same a single claim makes, chained onto the log.
    report = services.verify_audit(store)
    assert report.ok and report.events == events_before + 1
    event = services.list_audit(store, subject=f"post:{good[0]}")[0]
    assert event.action == "post.claim" and event.actor == "daemon"
    assert event.before == {"state": "scheduled", "version": before.version}
    assert event.after == {
        "state": "publishing",
        "version": before.version + 1,
        "fingerprint": before.fingerprint,
        "daemon": "d1",
    }


def test_a_claim_that_settles_an_earlier_try_does_not_count_a_new_attempt(
    store: Store, team: Team
) -> None:
    post_id, version = _leased(store, team, "Open day", owner="d1")
    with store.write() as session:
        outcome = lifecycle.claim_many(
            session,
            [lifecycle.Claim(post_id, version, count_attempt=False)],
            actor="daemon",
            now=NOW,
            lease_owner="d1",
        )
    claimed = outcome[post_id]
    assert isinstance(claimed, lifecycle.ClaimedPost) and claimed.attempt_count == 0
    assert services.get_post(store, post_id).attempt_count == 0


def test_settling_a_batch_records_only_the_posts_still_leased_to_the_daemon(
    store: Store, team: Team
) -> None:
    ours = _claimed(store, team, "Open day, part 1", owner="d1")
    taken_over = _claimed(store, team, "Open day, part 2", owner="d2")
    before = services.get_post(store, ours)
    events_before = services.verify_audit(store).events
    with store.write() as session:
        moved = lifecycle.settle_many(
            session,
            [
                lifecycle.Settle(i, values={"remote_url": f"https://ex.social/{i}"})
                for i in (ours, taken_over)
            ],
            PostState.PUBLISHED,
            action="published",
            actor="daemon",
            now=NOW,
            lease_owner="d1",
        )
    assert moved == [ours]
    after = services.get_post(store, ours)
    assert after.state is PostState.PUBLISHED
    assert after.remote_url == f"https://ex.social/{ours}"
    assert after.version == before.version + 1 and after.lease_owner is None
    assert services.get_post(store, taken_over).state is PostState.PUBLISHING
    report = services.verify_audit(store)
    assert report.ok and report.events == events_before + 1


def test_settling_refuses_a_move_that_needs_an_approval(store: Store, team: Team) -> None:
    post_id = _claimed(store, team, "Open day", owner="d1")
    with store.write() as session, pytest.raises(IllegalTransition, match="cannot claim"):
        lifecycle.settle_many(
            session,
            [lifecycle.Settle(post_id)],
            PostState.SCHEDULED,
            action="claim",
            actor="daemon",
            now=NOW,
            lease_owner="d1",
        )
    assert services.get_post(store, post_id).state is PostState.PUBLISHING


def test_settling_a_batch_refuses_moves_that_set_different_columns(
    store: Store, team: Team
) -> None:
    first = _claimed(store, team, "Open day, part 1", owner="d1")
    second = _claimed(store, team, "Open day, part 2", owner="d1")
    with store.write() as session, pytest.raises(ValueError, match="same columns"):
        lifecycle.settle_many(
            session,
            [
                lifecycle.Settle(first, values={"remote_url": "https://ex.social/1"}),
                lifecycle.Settle(second, values={"last_error": ""}),
            ],
            PostState.PUBLISHED,
            action="published",
            actor="daemon",
            now=NOW,
            lease_owner="d1",
        )
    # Refused before anything was written: both posts are still being published.
    assert {services.get_post(store, i).state for i in (first, second)} == {PostState.PUBLISHING}


def test_second_save_of_the_same_version_is_refused(store: Store, team: Team) -> None:
    post = services.create_post(store, team.alice, account="uni-news", text="v1", at=LATER)
    services.edit_post(store, team.alice, post.id, expected_version=post.version, text="alice's")
    with pytest.raises(StaleEdit, match="changed since you read it"):
        services.edit_post(store, team.bob, post.id, expected_version=post.version, text="bob's")
    assert services.get_post(store, post.id).text == "alice's"


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (lambda s, t, p: services.approve_post(s, t.bob, p), IllegalTransition),  # draft
        (lambda s, t, p: services.reject_post(s, t.bob, p, comment="no"), IllegalTransition),
        (lambda s, t, p: services.retry_post(s, t.alice, p), IllegalTransition),
        (lambda s, t, p: services.confirm_held(s, t.alice, p), IllegalTransition),
    ],
)
def test_actions_that_a_draft_does_not_allow(store: Store, team: Team, action, error) -> None:  # type: ignore[no-untyped-def]
    post = services.create_post(store, team.alice, account="uni-news", text="Hi", at=LATER)
    with pytest.raises(error):
        action(store, team, post.id)
    assert services.get_post(store, post.id).state is PostState.DRAFT


def test_cancelled_post_is_final(store: Store, team: Team) -> None:
    post = services.create_post(store, team.alice, account="uni-news", text="Hi", at=LATER)
    services.cancel_post(store, team.alice, post.id, reason="not needed")
    with pytest.raises(IllegalTransition, match="cancelled"):
        services.edit_post(store, team.alice, post.id, text="again")
    with pytest.raises(IllegalTransition, match="nothing: it is final"):
        services.cancel_post(store, team.alice, post.id)


def test_reject_needs_a_comment_and_returns_to_draft(store: Store, team: Team) -> None:
    post_id = _review_post(store, team)
    with pytest.raises(InvalidInput, match="comment"):
        services.reject_post(store, team.bob, post_id, comment="  ")
    post = services.reject_post(store, team.bob, post_id, comment="wrong date")
    assert post.state is PostState.DRAFT
    assert post.state_reason == "wrong date"


def test_submit_refuses_a_post_without_time_or_with_a_passed_time(
    store: Store, team: Team, clock: SettableClock
) -> None:
    untimed = services.create_post(store, team.alice, account="uni-news", text="Hi")
    with pytest.raises(InvalidInput, match="no time"):
        services.submit_post(store, team.alice, untimed.id)
    timed = services.create_post(store, team.alice, account="uni-news", text="Hi", at=LATER)
    clock.set(NOW + timedelta(days=10))
    with pytest.raises(InvalidInput, match="passed"):
        services.submit_post(store, team.alice, timed.id)


def test_approve_refused_once_the_time_has_passed(
    store: Store, team: Team, clock: SettableClock
) -> None:
    post_id = _review_post(store, team)
    clock.set(NOW + timedelta(days=10))
    with pytest.raises(InvalidInput, match="passed"):
        services.approve_post(store, team.bob, post_id)


def test_another_author_cannot_edit_someone_elses_post(store: Store, team: Team) -> None:
    post = services.create_post(store, team.alice, account="uni-news", text="Hi", at=LATER)
    with pytest.raises(PermissionDenied, match="author or an approver"):
        services.edit_post(store, team.dave, post.id, text="mine now")


def test_an_approver_who_edits_a_post_cannot_then_approve_it(store: Store, team: Team) -> None:
    post_id = _review_post(store, team)
    services.edit_post(store, team.bob, post_id, text="Open day on Saturday, 10:00!")
    services.submit_post(store, team.alice, post_id)
    with pytest.raises(PermissionDenied, match="separation of duties"):
        services.approve_post(store, team.bob, post_id)
    assert services.approve_post(store, team.carol, post_id).state is PostState.SCHEDULED


def test_every_transition_in_the_table_is_reachable_from_a_real_state() -> None:
    # The table and the state list agree: no transition names a state that does not exist,
    # and every state but the final ones has a way out.
    sources = {src for src, _ in lifecycle.TRANSITIONS}
    assert sources | lifecycle.FINAL == set(PostState)
    for state in lifecycle.FINAL:
        assert lifecycle.actions_from(state) == []


def test_renaming_an_account_or_changing_its_grace_keeps_approvals(
    store: Store, team: Team
) -> None:
    post_id = _review_post(store, team)
    approved = services.approve_post(store, team.bob, post_id)
    services.update_account(store, team.admin, "uni-research", name="research", grace_minutes=60)
    after = services.get_post(store, post_id)
    assert after.approval_status == "valid"
    with store.read() as session:
        row = session.get(Post, post_id)
        assert row is not None
        assert lifecycle.approval_matches(session, row)
        assert row.fingerprint == approved.fingerprint


def test_moving_an_account_to_another_platform_voids_what_was_approved_for_it(
    store: Store, team: Team
) -> None:
    post_id = _review_post(store, team)
    services.approve_post(store, team.bob, post_id)
    services.update_account(store, team.admin, "uni-research", platform="mastodon")
    assert services.get_post(store, post_id).approval_status == "stale"
    with store.read() as session:
        row = session.get(Post, post_id)
        assert row is not None
        assert not lifecycle.approval_matches(session, row)
