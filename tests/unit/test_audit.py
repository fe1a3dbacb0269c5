"""The audit chain: every change is logged, and any edit, removal or reordering shows."""

from __future__ import annotations

import sqlalchemy as sa

from scheduler import services
from scheduler.audit import DEFER, EventSpec, append_deferred, append_event, append_events
from scheduler.store import Store
from tests.conftest import NOW, Team, make_png


def _busy_log(store: Store, team: Team) -> None:
    post = services.create_post(
        store, team.alice, account="uni-research", text="Hello", at="2026-12-01 09:00"
    )
    services.submit_post(store, team.alice, post.id)
    services.approve_post(store, team.bob, post.id)
    services.grant_role(store, team.admin, "dave", "approver")
    asset = services.add_asset(store, team.admin, make_png(3), filename="logo.png", kind="logo")
    services.set_asset_permission(store, team.admin, asset.id, "approved")


def test_intact_log_verifies_and_records_each_kind_of_change(store: Store, team: Team) -> None:
    _busy_log(store, team)
    report = services.verify_audit(store)
    assert report.ok, report.problem
    actions = {e.action for e in services.list_audit(store, limit=1000)}
    assert {
        "user.add",
        "user.role",
        "account.add",
        "post.create",
        "post.submit",
        "post.approve",
        "asset.add",
        "asset.permission",
    } <= actions
    approve = services.list_audit(store, subject="post:1", limit=10)[0]
    assert approve.action == "post.approve"
    assert approve.actor == "bob"
    assert approve.before["state"] == "in_review"
    assert approve.after["state"] == "scheduled"


def _exec(store: Store, statement: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(statement))


def test_edited_event_is_named(store: Store, team: Team) -> None:
    _busy_log(store, team)
    _exec(store, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 7")
    report = services.verify_audit(store)
    assert not report.ok
    assert report.bad_seq == 7
    assert "audit event 7" in report.problem and "altered" in report.problem


def test_removed_event_is_named(store: Store, team: Team) -> None:
    _busy_log(store, team)
    _exec(store, "DELETE FROM audit_events WHERE seq = 5")
    report = services.verify_audit(store)
    assert not report.ok
    assert report.bad_seq == 5
    assert "missing" in report.problem


def test_reordered_events_are_found(store: Store, team: Team) -> None:
    _busy_log(store, team)
    # Swap the contents of two events but keep the sequence numbers in place.
    _exec(store, "UPDATE audit_events SET seq = -1 WHERE seq = 3")
    _exec(store, "UPDATE audit_events SET seq = 3 WHERE seq = 4")
    _exec(store, "UPDATE audit_events SET seq = 4 WHERE seq = -1")
    report = services.verify_audit(store)
    assert not report.ok
    assert report.bad_seq == 3


def test_events_cut_off_the_end_are_found(store: Store, team: Team) -> None:
    _busy_log(store, team)
    last = services.list_audit(store, limit=1)[0].seq
    _exec(store, f"DELETE FROM audit_events WHERE seq = {last}")
    report = services.verify_audit(store)
    assert not report.ok
    assert "removed from the end" in report.problem


def test_rehashing_an_edited_event_still_breaks_the_next_link(store: Store, team: Team) -> None:
    _busy_log(store, team)
    # A careful forger recomputes the edited event's own hash; the next event's link breaks.
    from scheduler.audit import event_hash
    from scheduler.models import AuditEvent

    with store.write() as session:
        event = session.exec(sa.select(AuditEvent).where(AuditEvent.seq == 4)).scalar_one()
        event.actor = "mallory"
        event.hash = event_hash(
            seq=event.seq,
            at=event.at,
            actor=event.actor,
            action=event.action,
            subject=event.subject,
            before=event.before,
            after=event.after,
            prev_hash=event.prev_hash,
        )
        session.add(event)
    report = services.verify_audit(store)
    assert not report.ok
    assert report.bad_seq == 5


def test_events_appended_as_a_batch_chain_like_single_ones(store: Store, team: Team) -> None:
    _busy_log(store, team)
    before = services.verify_audit(store).events
    with store.write() as session:
        append_events(
            session,
            [
                EventSpec(at=NOW, actor="daemon", action="post.claim", subject=f"post:{i}")
                for i in range(5)
            ],
        )
        append_event(session, at=NOW, actor="daemon", action="post.published", subject="post:0")
    report = services.verify_audit(store)
    assert report.ok and report.events == before + 6
    events = services.list_audit(store, limit=6)
    assert [e.subject for e in events] == [
        "post:0",
        "post:4",
        "post:3",
        "post:2",
        "post:1",
        "post:0",
    ]
    # A batch is as tamper-evident as anything else: edit its middle event.
    _exec(store, f"UPDATE audit_events SET actor = 'mallory' WHERE seq = {before + 3}")
    assert services.verify_audit(store).bad_seq == before + 3


def test_a_deferring_transaction_appends_its_events_in_order_just_before_its_commit(
    store: Store, team: Team
) -> None:
    _busy_log(store, team)
    before = services.verify_audit(store).events
    with store.write() as session:
        session.info[DEFER] = True
        append_event(session, at=NOW, actor="daemon", action="post.claim", subject="post:1")
        append_events(
            session, [EventSpec(at=NOW, actor="daemon", action="post.claim", subject="post:2")]
        )
        waiting = session.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one()
        assert waiting == before  # nothing written (the head not locked) until the end
        append_deferred(session)
    report = services.verify_audit(store)
    assert report.ok and report.events == before + 2
    assert [e.subject for e in services.list_audit(store, limit=2)] == ["post:2", "post:1"]
