"""Publishing due posts against a loopback platform that never de-duplicates.

Every path of the publish step: a receipt, a lost answer, a temporary failure, a rate
limit, a refusal, expired credentials, a late post, an edited post, the gate saying no,
a crash between sending and recording, a platform that cannot tell, posting limits, and
two publishers racing. The fake keeps every post it accepts, so a duplicate would show.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from scheduler.models import Post
from scheduler.pacing import WorkerLimit
from scheduler.publishing import Outcome, Publisher, RetryPolicy
from scheduler.store import Store
from tests.daemon_support import (
    SettableClock,
    add_account,
    add_scheduled_post,
    attempts,
    post_row,
)
from tests.fakes.ledger import LedgerPlatform, ledger_connector_factory


@pytest.fixture
def fake() -> Iterator[LedgerPlatform]:
    with LedgerPlatform() as platform:
        yield platform


def make_publisher(
    store: Store, clock: SettableClock, owner: str = "d1", **kw: object
) -> Publisher:
    return Publisher(
        store,
        owner,
        ledger_connector_factory,
        now=clock,
        lease_seconds=30,
        **kw,  # type: ignore[arg-type]
    )


def due_post(
    store: Store, account: int, clock: Callable[[], datetime], text: str, late: float = 60
) -> int:
    return add_scheduled_post(store, account, text, clock() - timedelta(seconds=late))


def test_a_due_post_is_published_once_and_its_attempt_recorded(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    post_id = due_post(store, account, clock, "Open day on Saturday")

    result = make_publisher(store, clock).publish(post_id)

    assert result.kind == "published"
    post = post_row(store, post_id)
    assert post.state == "published"
    assert post.remote_url == fake.posts[0]["url"]
    assert post.lease_owner is None
    assert [p["text"] for p in fake.posts] == ["Open day on Saturday"]
    (attempt,) = attempts(store, post_id)
    assert attempt.outcome == Outcome.PUBLISHED
    assert attempt.remote_id == fake.posts[0]["id"]


def test_a_post_not_yet_due_is_left_alone(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    post_id = add_scheduled_post(store, account, "Tomorrow", clock() + timedelta(days=1))

    result = make_publisher(store, clock).publish(post_id)

    assert result.kind == "skipped"
    assert post_row(store, post_id).state == "scheduled"
    assert fake.posts == []


def test_a_lost_answer_is_found_by_lookup_and_never_sent_again(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    post_id = due_post(store, account, clock, "Results are out")
    fake.inject("drop_after", path="/api/posts")  # stored, then the connection drops
    publisher = make_publisher(store, clock)

    first = publisher.publish(post_id)
    assert first.kind == "waiting"  # a transient failure: the answer was lost
    assert post_row(store, post_id).state == "scheduled"
    clock.advance(minutes=5)
    second = publisher.publish(post_id)

    assert second.kind == "published"
    assert len(fake.posts) == 1  # looked up, not sent again
    assert post_row(store, post_id).remote_id == fake.posts[0]["id"]
    outcomes = [a.outcome for a in attempts(store, post_id)]
    assert outcomes == [Outcome.FOUND]  # the ambiguous attempt was settled by the lookup


def test_a_server_error_is_retried_after_a_lookup_shows_it_did_not_go_out(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    post_id = due_post(store, account, clock, "Library hours")
    fake.inject("500", path="/api/posts")
    publisher = make_publisher(store, clock)

    assert publisher.publish(post_id).kind == "waiting"
    waiting = post_row(store, post_id)
    assert waiting.not_before is not None and waiting.not_before > clock()
    assert "temporary failure" in waiting.last_error
    clock.advance(minutes=5)
    assert publisher.publish(post_id).kind == "published"

    assert len(fake.posts) == 1
    outcomes = [a.outcome for a in attempts(store, post_id)]
    assert outcomes == [Outcome.NOT_SENT, Outcome.PUBLISHED]


def test_transient_failures_give_up_after_the_retry_budget_with_the_reason(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    post_id = due_post(store, account, clock, "Flaky")
    fake.inject("500", path="/api/posts", times=10)
    publisher = make_publisher(store, clock, retry=RetryPolicy(max_attempts=3, base_seconds=1))

    kinds = []
    for _ in range(5):
        kinds.append(publisher.publish(post_id).kind)
        clock.advance(seconds=30)

    assert kinds[:3] == ["waiting", "waiting", "failed"]
    post = post_row(store, post_id)
    assert post.state == "failed"
    assert "gave up after 3 tries" in post.state_reason
    assert fake.posts == []


def test_a_rate_limit_waits_for_the_reset_without_stalling_other_accounts(store, fake, clock):
    limited = add_account(store, "news", api_base=fake.base_url)
    other = add_account(store, "sport", api_base=fake.base_url)
    first = due_post(store, limited, clock, "News one")
    second = due_post(store, limited, clock, "News two")
    elsewhere = due_post(store, other, clock, "Sport one")
    fake.rate_limit_reset = int((clock() + timedelta(minutes=10)).timestamp())
    fake.inject("429", path="/api/posts")
    publisher = make_publisher(store, clock)

    hit = publisher.publish(first)
    assert hit.kind == "waiting"
    assert hit.retry_at is not None and hit.retry_at >= clock() + timedelta(minutes=9)
    # The same account waits without calling the platform; another account goes now.
    assert publisher.publish(second).kind == "waiting"
    assert publisher.publish(elsewhere).kind == "published"
    assert [p["text"] for p in fake.posts] == ["Sport one"]
    assert "rate limited" in post_row(store, second).last_error

    clock.advance(minutes=11)
    assert publisher.publish(first).kind == "published"
    assert publisher.publish(second).kind == "published"
    assert sorted(p["text"] for p in fake.posts) == ["News one", "News two", "Sport one"]
    assert [a.outcome for a in attempts(store, first)] == [Outcome.RATE_LIMITED, Outcome.PUBLISHED]


def test_a_refusal_fails_the_post_with_the_platforms_reason(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    post_id = due_post(store, account, clock, "This says REFUSE-ME")

    result = make_publisher(store, clock).publish(post_id)

    assert result.kind == "failed"
    post = post_row(store, post_id)
    assert post.state == "failed"
    assert "REFUSE-ME" in post.state_reason
    assert [a.outcome for a in attempts(store, post_id)] == [Outcome.FAILED]


def test_expired_credentials_fail_every_post_of_that_account_only(store, fake, clock):
    broken = add_account(store, "news", api_base=fake.base_url)
    fine = add_account(store, "sport", api_base=fake.base_url)
    first = due_post(store, broken, clock, "News one")
    later = add_scheduled_post(store, broken, "News next week", clock() + timedelta(days=7))
    other = add_scheduled_post(store, fine, "Sport next week", clock() + timedelta(days=7))
    fake.inject("expired", path="/api/posts")

    result = make_publisher(store, clock).publish(first)

    assert result.kind == "failed"
    for post_id in (first, later):
        post = post_row(store, post_id)
        assert post.state == "failed"
        assert "reconnect account news" in post.state_reason
    assert post_row(store, other).state == "scheduled"


def test_a_post_later_than_its_grace_period_is_held_not_published(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url, grace_minutes=15)
    post_id = due_post(store, account, clock, "Good morning!", late=20 * 60)

    result = make_publisher(store, clock).publish(post_id)

    assert result.kind == "held"
    post = post_row(store, post_id)
    assert post.state == "held"
    assert "more than 15 minutes late" in post.state_reason
    assert fake.posts == []


def test_a_post_edited_behind_the_approvals_back_goes_back_to_review(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    post_id = due_post(store, account, clock, "Approved text")
    with store.write() as session:  # a change that bypassed the services
        session.execute(sa.update(Post).where(Post.id == post_id).values(text="Sneaky text"))

    result = make_publisher(store, clock).publish(post_id)

    assert result.kind == "in_review"
    post = post_row(store, post_id)
    assert post.state == "in_review"
    assert "no longer matches" in post.state_reason
    assert fake.posts == []


def test_the_gate_run_again_at_publish_time_sends_the_post_back_with_its_reason(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    post_id = due_post(store, account, clock, "With the crest")

    def gate(session, post, account, now):
        return "asset 'University crest' permission was revoked"

    result = make_publisher(store, clock, gate=gate).publish(post_id)

    assert result.kind == "in_review"
    assert "revoked" in post_row(store, post_id).state_reason
    assert fake.posts == []


class _Crash(BaseException):
    """Stands in for SIGKILL: nothing after it runs."""


def _crash_after_publish(config):
    connector = ledger_connector_factory(config)
    real = connector.publish

    def publish(request):
        real(request)
        raise _Crash

    connector.publish = publish  # type: ignore[method-assign]
    return connector


def _crash_before_publish(config):
    connector = ledger_connector_factory(config)

    def publish(request):
        raise _Crash

    connector.publish = publish  # type: ignore[method-assign]
    return connector


@pytest.mark.parametrize(
    ("factory", "copies_before"),
    [
        (_crash_after_publish, 1),  # sent, then died before recording: found by lookup
        (_crash_before_publish, 0),  # died before the request left: sent by the next daemon
    ],
)
def test_a_crashed_daemons_post_is_settled_by_lookup_once_its_lease_runs_out(
    store, fake, clock, factory, copies_before
):
    account = add_account(store, "news", api_base=fake.base_url)
    post_id = due_post(store, account, clock, "Graduation livestream")
    dying = Publisher(store, "dead", factory, now=clock, lease_seconds=30)
    with pytest.raises(_Crash):
        dying.publish(post_id)
    assert post_row(store, post_id).state == "publishing"
    assert [a.outcome for a in attempts(store, post_id)] == [Outcome.PENDING]
    assert len(fake.posts) == copies_before

    survivor = make_publisher(store, clock, owner="d2")
    assert survivor.reconcile_stale() == []  # the lease has not run out yet
    clock.advance(seconds=31)
    (result,) = survivor.reconcile_stale()

    assert result.kind == "published"
    assert len(fake.posts) == 1
    assert post_row(store, post_id).remote_id == fake.posts[0]["id"]


def test_a_platform_that_cannot_tell_leaves_the_post_unknown_for_a_person(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url, options={"lookup": "none"})
    post_id = due_post(store, account, clock, "Who knows")
    dying = Publisher(store, "dead", _crash_after_publish, now=clock, lease_seconds=30)
    with pytest.raises(_Crash):
        dying.publish(post_id)
    clock.advance(seconds=31)

    (result,) = make_publisher(store, clock, owner="d2").reconcile_stale()

    assert result.kind == "unknown"
    post = post_row(store, post_id)
    assert post.state == "unknown"
    assert "could not say whether it went out" in post.state_reason
    assert len(fake.posts) == 1  # never sent a second time
    assert [a.outcome for a in attempts(store, post_id)] == [Outcome.UNKNOWN]


def test_a_lookup_that_keeps_failing_ends_in_unknown_not_in_a_resend(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    post_id = due_post(store, account, clock, "Lost")
    dying = Publisher(store, "dead", _crash_after_publish, now=clock, lease_seconds=30)
    with pytest.raises(_Crash):
        dying.publish(post_id)
    fake.inject("500", path="/api/lookup", times=50)  # the platform cannot be asked
    survivor = make_publisher(store, clock, owner="d2", retry=RetryPolicy(max_attempts=2))

    kinds = []
    for _ in range(6):
        clock.advance(seconds=31)
        kinds += [r.kind for r in survivor.reconcile_stale()]
        kinds += [r.kind for r in survivor.publish_due()]

    assert "unknown" in kinds
    assert post_row(store, post_id).state == "unknown"
    assert len(fake.posts) == 1


def test_posting_limits_make_the_post_wait_for_the_next_slot(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url, max_per_hour=2)
    ids = [due_post(store, account, clock, f"Update {i}") for i in range(3)]
    publisher = make_publisher(store, clock)

    kinds = [r.kind for r in publisher.publish_many(ids)]

    assert kinds.count("published") == 2
    assert kinds.count("waiting") == 1
    (waiting,) = [post_row(store, i) for i in ids if post_row(store, i).state == "scheduled"]
    assert "limit of 2 posts per hour" in waiting.last_error
    assert waiting.not_before is not None
    assert waiting.not_before >= clock() + timedelta(minutes=59)
    assert len(fake.posts) == 2


def test_two_publishers_racing_for_the_same_posts_publish_each_once(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    ids = [due_post(store, account, clock, f"Race {i}") for i in range(30)]
    publishers = [make_publisher(store, clock, owner=f"d{n}") for n in range(3)]
    barrier = threading.Barrier(len(publishers))

    def run(publisher: Publisher) -> None:
        barrier.wait()
        for post_id in ids:
            publisher.publish_due(post_id, batch=5)

    threads = [threading.Thread(target=run, args=(p,)) for p in publishers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(fake.copies_by_key().values()) == [1] * 30
    assert {post_row(store, i).state for i in ids} == {"published"}


@pytest.mark.parametrize(
    ("attempts_made", "after_seconds", "expected"),
    [
        (1, 0, "retry"),  # first failure, plenty of time
        (4, 0, "retry"),  # last try still allowed
        (5, 0, "give up"),  # tries used up
        (1, 14 * 60 + 59, "give up"),  # the next try would land past the grace window
    ],
)
def test_retry_policy_is_bounded_by_count_and_by_the_grace_window(
    attempts_made, after_seconds, expected
):
    policy = RetryPolicy(max_attempts=5, base_seconds=2, max_seconds=300)
    start = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    now = start + timedelta(seconds=after_seconds)
    deadline = start + timedelta(minutes=15)
    at = policy.next_try(attempts_made, now, deadline)
    assert (at is not None) == (expected == "retry")


@pytest.mark.parametrize("retry_number", [1, 2, 3, 8, 20])
def test_backoff_grows_exponentially_with_jitter_and_a_ceiling(retry_number):
    policy = RetryPolicy(base_seconds=2, max_seconds=300)
    ceiling = min(300, 2 * 2 ** (retry_number - 1))
    delays = [policy.delay(retry_number) for _ in range(200)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len({round(d, 6) for d in delays}) > 1  # jittered, not fixed


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 120), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 10, 140, 110), fill="navy")
    draw.rectangle((60, 40, 100, 80), fill="gold")
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("revoke", [False, True])
def test_an_asset_revoked_after_approval_sends_the_post_back_at_publish_time(
    store, team, fake, clock, revoke
):
    from scheduler import services
    from scheduler.daemon import PublishTimeGate

    asset = services.add_asset(store, team.admin, _png(), filename="crest.png", title="Crest")
    services.set_asset_permission(store, team.admin, asset.id, "approved")
    add_account(store, "ledger-news", api_base=fake.base_url)
    draft = services.create_post(
        store,
        team.alice,
        account="ledger-news",
        text="Our new crest",
        at=clock() + timedelta(minutes=30),
        attachments=[(asset.id, "The crest: a gold square on a navy disc")],
    )
    view = services.submit_post(store, team.alice, draft.id)
    if view.state.value == "in_review":
        for finding in view.findings:
            services.sign_off_finding(store, team.bob, draft.id, finding.id, comment="fine")
        services.approve_post(store, team.bob, draft.id)
    assert services.get_post(store, draft.id).state.value == "scheduled"
    if revoke:
        services.set_asset_permission(store, team.admin, asset.id, "revoked")
    clock.advance(minutes=31)

    result = make_publisher(store, clock, gate=PublishTimeGate()).publish(draft.id)

    if revoke:
        assert result.kind == "in_review"
        assert "the gate found at publish time" in post_row(store, draft.id).state_reason
        assert fake.posts == []
    else:
        assert result.kind == "published"
        assert len(fake.posts) == 1


def test_without_its_own_limits_an_account_follows_the_policys_frequency_rule(store, fake, clock):
    from scheduler.daemon import policy_frequency

    account = add_account(store, "news", api_base=fake.base_url)  # official, no own limits
    ids = [due_post(store, account, clock, f"Item {i}") for i in range(5)]

    results = make_publisher(store, clock, frequency=policy_frequency(store)).publish_many(ids)

    kinds = sorted(r.kind for r in results)
    assert kinds == ["published"] * 4 + ["waiting"]  # the shipped policy: 4 an hour
    (waiting,) = [r for r in results if r.kind == "waiting"]
    assert "limit of 4 posts per hour" in waiting.message


def test_a_post_whose_lease_ran_out_mid_batch_is_not_sent_by_the_slow_daemon(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    first = due_post(store, account, clock, "Slow one")
    second = due_post(store, account, clock, "Left behind")

    def slow_factory(config):
        connector = ledger_connector_factory(config)
        real = connector.publish

        def publish(request):
            receipt = real(request)
            clock.advance(seconds=31)  # this call outlived the whole lease
            return receipt

        connector.publish = publish  # type: ignore[method-assign]
        return connector

    slow = Publisher(store, "slow", slow_factory, now=clock, lease_seconds=30)
    kinds = {r.post_id: r.kind for r in slow.publish_many([first, second])}

    assert kinds[second] == "skipped"  # its lease had run out: another daemon may have it
    assert [p["text"] for p in fake.posts] == ["Slow one"]
    (taken,) = make_publisher(store, clock, owner="other").reconcile_stale()
    assert (taken.post_id, taken.kind) == (second, "published")
    assert sorted(fake.copies_by_key().values()) == [1, 1]


def test_an_account_whose_connector_cannot_be_built_fails_its_post_with_the_reason(
    store, fake, clock
):
    account = add_account(store, "news", api_base=fake.base_url)
    post_id = due_post(store, account, clock, "Nowhere to go")

    def broken(config):
        raise KeyError("token")

    result = Publisher(store, "d1", broken, now=clock).publish(post_id)

    assert result.kind == "failed"
    assert "cannot set up the connector" in post_row(store, post_id).state_reason
    assert fake.posts == []


def test_stopping_mid_batch_records_what_went_out_and_hands_back_the_rest(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    ids = [due_post(store, account, clock, f"Batch {i}") for i in range(3)]
    holder: list[Publisher] = []

    def stop_after_first(config):
        connector = ledger_connector_factory(config)
        real = connector.publish

        def publish(request):
            receipt = real(request)
            holder[0].stopping.set()  # SIGTERM arrives while this post is in flight
            return receipt

        connector.publish = publish  # type: ignore[method-assign]
        return connector

    publisher = Publisher(store, "d1", stop_after_first, now=clock, lease_seconds=30)
    holder.append(publisher)
    kinds = sorted(r.kind for r in publisher.publish_many(ids))

    assert kinds == ["handed_back", "handed_back", "published"]
    assert len(fake.posts) == 1
    states = sorted(post_row(store, i).state for i in ids)
    assert states == ["published", "scheduled", "scheduled"]
    handed = [i for i in ids if post_row(store, i).state == "scheduled"]
    assert all(post_row(store, i).lease_owner is None for i in handed)
    assert all(a.outcome == Outcome.NOT_SENT for i in handed for a in attempts(store, i))


def test_a_few_due_posts_are_shared_out_so_every_thread_has_some(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    ids = [due_post(store, account, clock, f"Update {i}", late=60 - i) for i in range(8)]
    publisher = make_publisher(store, clock, workers=4)

    results = publisher.publish_due(ids[0], batch=50)

    # Eight due posts and four threads: this thread takes two, the others the rest.
    assert [r.post_id for r in results] == ids[:2]
    assert [post_row(store, i).state for i in ids[2:]] == ["scheduled"] * 6


def test_while_threads_sit_out_the_threads_at_work_take_bigger_batches(store, fake, clock):
    account = add_account(store, "news", api_base=fake.base_url)
    ids = [due_post(store, account, clock, f"Update {i}", late=60 - i) for i in range(30)]
    publisher = make_publisher(store, clock, workers=4)
    meter = {"now": 0.0, "cpu": 0.0}
    publisher.turns = WorkerLimit(
        4, minimum=1, window=1.0, clock=lambda: meter["now"], cpu=lambda: meter["cpu"]
    )
    for _ in range(3):  # the process is busy: one thread fewer a window, down to one
        meter["now"] += 1.0
        meter["cpu"] += 1.0
        with publisher.turns.turn():
            pass
    assert publisher.turns.limit == 1

    results = publisher.publish_due(ids[0], batch=5)

    # One thread at work instead of four: a batch of 4 x 5 instead of 5.
    assert [r.post_id for r in results] == ids[:20]
    assert [post_row(store, i).state for i in ids[20:]] == ["scheduled"] * 10


def test_a_post_changed_under_the_claim_is_left_scheduled_for_the_next_pass(
    store, fake, clock, monkeypatch
):
    from scheduler import lifecycle
    from scheduler.errors import StaleEdit

    account = add_account(store, "news", api_base=fake.base_url)
    changed, fine = (due_post(store, account, clock, f"Update {i}") for i in range(2))
    claim_many = lifecycle.claim_many

    def one_changed(session, claims, **kw):  # type: ignore[no-untyped-def]
        outcome = claim_many(session, [c for c in claims if c.post_id != changed], **kw)
        outcome[changed] = StaleEdit(f"post {changed} changed while it was being claimed")
        return outcome

    monkeypatch.setattr(lifecycle, "claim_many", one_changed)
    results = {r.post_id: r for r in make_publisher(store, clock).publish_many([changed, fine])}

    assert results[fine].kind == "published"
    assert results[changed].kind == "skipped"
    row = post_row(store, changed)
    assert row.state == "scheduled" and row.lease_owner is None
    assert fake.copies_by_key() and len(fake.posts) == 1


def test_a_held_post_confirmed_by_a_person_goes_out_when_its_job_runs_again(
    store, fake, clock, team
):
    from scheduler import services

    account = add_account(store, "news", api_base=fake.base_url, grace_minutes=15)
    late = due_post(store, account, clock, "Good morning!", late=20 * 60)
    on_time = due_post(store, account, clock, "Lunch menu")
    publisher = make_publisher(store, clock)

    kinds = {r.post_id: r.kind for r in publisher.publish_due(on_time, batch=50)}
    assert kinds == {late: "held", on_time: "published"}
    services.confirm_held(store, team.carol, late)

    (result,) = publisher.publish_due(late, batch=50)

    assert result.kind == "published"
    assert sorted(p["text"] for p in fake.posts) == ["Good morning!", "Lunch menu"]
    # The job of a post already sent ends without sending anything again.
    assert publisher.publish_due(on_time, batch=50) == []
    assert len(fake.posts) == 2


def test_a_stores_write_lock_goes_with_the_store(tmp_path):
    # The daemon's SQLite writers queue on a lock per store. Kept by id(), locks
    # outlived their stores, and a new store given the id of one gone shared its lock
    # with whatever still held it.
    import gc

    from scheduler import publishing
    from scheduler.store import sqlite_url

    gone = Store(sqlite_url(tmp_path / "gone.sqlite3"), migrate=False)
    held = publishing._sqlite_write_lock(gone)
    assert held is not None and held.acquire()  # a thread that never lets go
    gone.dispose()
    del gone
    gc.collect()
    assert all(lock is not held for lock in list(publishing._write_locks.values()))
    new = Store(sqlite_url(tmp_path / "new.sqlite3"), migrate=False)
    lock = publishing._sqlite_write_lock(new)
    assert lock is not None and lock is not held and lock.acquire(timeout=1)
    lock.release()
    new.dispose()
