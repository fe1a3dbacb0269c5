"""A demo database: outbox accounts, three people, a few assets, posts in every state.

``gatepost demo`` calls :func:`seed_demo` on a fresh database of its own and marks it
as a demo, the only kind of database where ``--as LOGIN`` may switch identity.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from scheduler import lifecycle, services
from scheduler.models import Post, PostState
from scheduler.store import Store
from scheduler.views import Actor, Attachment, PostView

AUTHOR = "alice"
APPROVER = "bob"


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`seed_demo` made."""

    admin: str
    users: tuple[str, ...]
    accounts: tuple[str, ...]
    assets: tuple[int, ...]
    posts: tuple[PostView, ...]


def _png(colour: tuple[int, int, int], size: tuple[int, int], mark: str) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.ellipse(
        (width // 4, height // 4, 3 * width // 4, 3 * height // 4), outline="white", width=6
    )
    draw.text((width // 2 - 20, height // 2 - 6), mark, fill="white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def seed_demo(store: Store, outbox_dir: Path) -> DemoSummary:
    """Fill a new database with demo data and mark it as a demo.

    The current login becomes the admin; ``alice`` is an author and ``bob`` an approver.
    Accounts publish through the ``outbox`` connector into folders under ``outbox_dir``.
    Posts already out are written as if the daemon had handled them earlier today.
    """
    outbox_dir = Path(outbox_dir)
    outbox_dir.mkdir(parents=True, exist_ok=True)
    admin_view = services.init_database(store)
    services.mark_demo(store)
    admin = Actor(admin_view.login, admin_view.role)
    alice_view = services.add_user(store, admin, AUTHOR, role="author", display_name="Alice Author")
    bob_view = services.add_user(
        store, admin, APPROVER, role="approver", display_name="Bob Approver"
    )
    alice = Actor(alice_view.login, alice_view.role)
    bob = Actor(bob_view.login, bob_view.role)

    def outbox(name: str) -> dict[str, str]:
        return {"dir": str(outbox_dir / name)}

    news = services.add_account(
        store, admin, "uni-news", platform="outbox", handle="@uninews", options=outbox("uni-news")
    )
    research = services.add_account(
        store,
        admin,
        "uni-research",
        platform="outbox",
        handle="@uniresearch",
        options=outbox("uni-research"),
        require_approval=True,
        max_per_hour=4,
    )
    personal = services.add_account(
        store,
        admin,
        "vc-personal",
        platform="outbox",
        handle="@vicechancellor",
        kind="personal",
        options=outbox("vc-personal"),
    )

    logo = services.add_asset(
        store,
        admin,
        _png((20, 40, 120), (256, 256), "UNI"),
        filename="university-logo.png",
        title="University crest",
        kind="logo",
        owner="Brand team",
        rights="University of the demo",
    )
    services.set_asset_permission(store, admin, logo.id, "approved", comment="brand guidelines")
    campus = services.add_asset(
        store,
        admin,
        _png((30, 110, 60), (640, 400), "LAWN"),
        filename="campus-lawn.png",
        title="Campus lawn in spring",
        owner="Comms photo library",
        rights="Staff photographer",
        licence="all rights reserved",
    )
    services.set_asset_permission(store, admin, campus.id, "approved")
    pending = services.add_asset(
        store,
        alice,
        _png((140, 60, 20), (400, 400), "NEW"),
        filename="new-building.png",
        title="New building render",
        owner="Estates",
    )

    real_clock = store.clock
    now = real_clock()

    def at(delta: timedelta) -> Callable[[], datetime]:
        return lambda: now + delta

    made: list[PostView] = []

    # Earlier today: posts the daemon has already dealt with.
    store.clock = at(timedelta(hours=-6))
    try:
        history = [
            ("Good morning! The library opens at 8:00 today.", PostState.PUBLISHED),
            ("Congratulations to our graduating class of 2026!", PostState.RETRACTED),
            ("Reminder: the careers fair is in the Great Hall.", PostState.FAILED),
            ("Our rowing team won the regatta this weekend.", PostState.UNKNOWN),
            ("Good morning from a sunny campus!", PostState.HELD),
            ("Tonight's public lecture starts at 19:00.", PostState.PUBLISHING),
        ]
        for index, (text, final) in enumerate(history):
            post = services.create_post(
                store,
                alice,
                account=news.name,
                text=text,
                at=now + timedelta(hours=-5, minutes=10 * index),
            )
            post = services.submit_post(store, alice, post.id)
            made.append(_drive(store, post.id, final, now=now, index=index))
    finally:
        store.clock = real_clock

    # Now: the queue as people find it.
    draft = services.create_post(
        store,
        alice,
        account=news.name,
        text="Draft: open day schedule for next month (times to be confirmed).",
    )
    made.append(draft)
    review = services.create_post(
        store,
        alice,
        account=research.name,
        text="New research on coastal erosion, published today: https://example.ac.uk/erosion",
        at=now + timedelta(days=1, hours=2),
        attachments=[Attachment(campus.id, "The campus lawn in spring sunshine")],
    )
    made.append(services.submit_post(store, alice, review.id))
    flagged = services.create_post(
        store,
        alice,
        account=news.name,
        text="Questions about the open day? Email admissions.help@example.ac.uk",
        at=now + timedelta(days=2),
    )
    made.append(services.submit_post(store, alice, flagged.id))
    scheduled = services.create_post(
        store,
        alice,
        account=news.name,
        text="Welcome week starts on Monday: see you on the lawn!",
        at=now + timedelta(hours=3),
        attachments=[Attachment(logo.id, "The university crest")],
    )
    made.append(services.submit_post(store, alice, scheduled.id))
    approved = services.create_post(
        store,
        alice,
        account=research.name,
        text="Our physics department is hiring two postdoctoral researchers.",
        at=now + timedelta(days=1),
    )
    approved = services.submit_post(store, alice, approved.id)
    if approved.state is PostState.IN_REVIEW and not approved.open_findings:
        approved = services.approve_post(store, bob, approved.id, comment="fine to go")
    made.append(approved)
    # Due in under a minute: someone opening the demo sees the daemon publish it.
    soon = services.create_post(
        store,
        alice,
        account=news.name,
        text="Welcome to the Gatepost demo: the daemon publishes this post within a minute.",
        at=now + timedelta(seconds=45),
    )
    made.append(services.submit_post(store, alice, soon.id))
    views_own = services.create_post(
        store,
        alice,
        account=personal.name,
        text="Proud of our students this week. Views are my own.",
        at=now + timedelta(days=3),
        attachments=[Attachment(pending.id, "Render of the new building")],
    )
    made.append(views_own)
    cancelled = services.create_post(
        store,
        alice,
        account=news.name,
        text="Fire drill at noon (postponed).",
        at=now + timedelta(hours=5),
    )
    made.append(services.cancel_post(store, alice, cancelled.id, reason="drill postponed"))

    return DemoSummary(
        admin=admin.login,
        users=(admin.login, AUTHOR, APPROVER),
        accounts=(news.name, research.name, personal.name),
        assets=(logo.id, campus.id, pending.id),
        posts=tuple(services.get_post(store, p.id) for p in made),
    )


def _drive(store: Store, post_id: int, final: PostState, *, now: datetime, index: int) -> PostView:
    """Move a scheduled post on as the daemon would have, to ``final``."""
    daemon = "gatepost-daemon@demo"
    with store.write() as session:
        post = session.get(Post, post_id)
        assert post is not None
        if post.state != PostState.SCHEDULED.value:
            return services.post_view(session, post)
        clock = store.now()

        def move(target: PostState, action: str, reason: str = "") -> None:
            lifecycle.transition(
                session, post, target, action=action, actor=daemon, now=clock, reason=reason
            )

        if final is PostState.HELD:
            move(PostState.HELD, "misfire", "missed its time by more than the grace period")
            return services.post_view(session, post)
        post.lease_owner = daemon
        post.lease_expires_at = now + timedelta(minutes=5)
        post.attempt_count = 1
        move(PostState.PUBLISHING, "claim")
        if final is PostState.PUBLISHING:
            return services.post_view(session, post)
        post.lease_owner = None
        post.lease_expires_at = None
        if final in (PostState.PUBLISHED, PostState.RETRACTED):
            post.remote_id = f"demo-{post.id}"
            post.remote_url = f"file://outbox/uni-news/demo-{post.id}"
            post.published_at = clock
            move(PostState.PUBLISHED, "published")
            if final is PostState.RETRACTED:
                move(PostState.RETRACTED, "retract", "the class year was wrong")
        elif final is PostState.FAILED:
            post.last_error = "the platform refused the post: duplicate content"
            move(PostState.FAILED, "fail", post.last_error)
        elif final is PostState.UNKNOWN:
            post.last_error = "the connection dropped after sending; the platform could not say"
            move(PostState.UNKNOWN, "outcome-unknown", post.last_error)
        return services.post_view(session, post)
