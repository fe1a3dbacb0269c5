"""The review inbox: approvers sign off each finding, then approve or send back; authors
never see approve actions on their own posts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import ListView

from scheduler import services
from scheduler.store import Store
from tests.snapshots.demo_app import (
    SIZE,
    demo_app,
    open_store,
    settled,
    shared_demo_database,
    wait_until,
)
from tui.screens.prompt import TextPrompt
from tui.screens.review import ReviewScreen
from tui.widgets.image_preview import ImagePreview


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_demo_database(tmp_path_factory)


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Store]:
    store = open_store(template, tmp_path)
    yield store
    store.dispose()


def footer_actions(app: object) -> set[str]:
    """The actions the footer offers (what a person sees they can do)."""
    screen = app.screen  # type: ignore[attr-defined]
    return {active.binding.action for active in screen.active_bindings.values()}


async def open_inbox(pilot: Pilot[Any]) -> ReviewScreen:
    """Press 2 and wait for the review inbox to be shown and loaded."""
    await pilot.press("2")
    await settled(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ReviewScreen)
    return screen


async def test_inbox_is_oldest_first_and_marks_each_finding(store: Store) -> None:
    app = demo_app(store, login="bob")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inbox(pilot)
        bob = services.resolve_actor(store, as_login="bob")
        assert [p.id for p in screen.posts] == [p.id for p in services.review_inbox(store, bob)]
        flagged = next(p for p in screen.posts if p.open_findings)
        screen.load_post(flagged.id)
        await settled(pilot)
        finding = screen.post.findings[0]
        text = screen.query_one("#review-text").render()
        start, end = finding.span
        # The finding's span is marked in the text.
        marked = [span for span in text.spans if span.start <= start and span.end >= end]
        assert marked, "the finding's span is not highlighted"
        listing = str(screen.query_one("#review-findings").get_option_at_index(0).prompt)
        assert finding.message in listing
        assert "Guidance:" in listing
        # Approve is offered but not possible until the finding is signed off.
        assert screen.check_action("approve", ()) is None


async def test_approver_signs_off_then_approves(store: Store) -> None:
    flagged = next(p for p in services.list_posts(store, states=["in_review"]) if p.open_findings)
    app = demo_app(store, login="bob")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inbox(pilot)
        screen.load_post(flagged.id)
        await settled(pilot)
        await pilot.press("a")  # not yet: the finding is not signed off
        assert not isinstance(app.screen, TextPrompt)
        await pilot.press("space")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("enter")  # a sign-off needs a comment
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"shared inbox", "enter")
        await wait_until(pilot, lambda: services.list_findings(store, flagged.id)[0].signed_off)
        await settled(pilot)
        signed = services.list_findings(store, flagged.id)[0]
        assert signed.signed_off_by == "bob"
        assert signed.sign_off_comment == "shared inbox"
        assert screen.check_action("approve", ()) is True
        await pilot.press("a")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"ok", "enter")
        await wait_until(pilot, lambda: services.get_post(store, flagged.id).state != "in_review")
        await settled(pilot)
        approved = services.get_post(store, flagged.id)
        assert approved.state == "scheduled"
        assert approved.approval is not None and approved.approval.approver == "bob"
        assert flagged.id not in [p.id for p in screen.posts]


async def test_send_back_needs_a_comment_and_returns_the_post_to_draft(store: Store) -> None:
    app = demo_app(store, login="bob")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inbox(pilot)
        post = screen.post
        assert post is not None
        await pilot.press("b")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"cut the link", "enter")
        await wait_until(pilot, lambda: services.get_post(store, post.id).state == "draft")
        returned = services.get_post(store, post.id)
        assert returned.state == "draft"
        assert returned.state_reason == "cut the link"


async def test_an_author_never_sees_approve_on_their_own_post(store: Store) -> None:
    own = services.list_posts(store, states=["in_review"], author="alice")
    assert own
    app = demo_app(store, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inbox(pilot)
        assert [p.id for p in screen.posts] == [p.id for p in own]
        assert not {"approve", "sign_off", "send_back"} & footer_actions(app)
        await pilot.press("a", "space", "b")
        await settled(pilot)
        assert not isinstance(app.screen, TextPrompt)
        assert all(services.get_post(store, p.id).state == "in_review" for p in own)
        verdict = str(screen.query_one("#review-verdict").render())
        assert "another approver" in verdict or "only approvers" in verdict
        # Nor does the command palette offer it.
        titles = {command.title for command in app.get_system_commands(screen)}
        assert "Approve" not in titles


async def test_switching_to_the_approver_shows_their_inbox(store: Store) -> None:
    app = demo_app(store, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settled(pilot)
        await pilot.press("u")  # alice -> bob (the next person of the demo)
        await settled(pilot)
        assert app.actor.login == "bob"
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert screen.post is not None and not screen.post.open_findings
        # The oldest post has nothing to sign off: bob may approve or send it back.
        assert {"approve", "send_back"} <= footer_actions(app)
        assert "sign_off" not in footer_actions(app)
        titles = {command.title for command in app.get_system_commands(screen)}
        assert {"Approve", "Send back"} <= titles


async def test_a_finding_about_an_image_shows_the_image(store: Store) -> None:
    alice = services.resolve_actor(store, as_login="alice")
    with_pending_image = next(
        p for p in services.list_posts(store, states=["draft"]) if p.attachments
    )
    submitted = services.submit_post(store, alice, with_pending_image.id)
    assert submitted.state == "in_review"
    app = demo_app(store, login="bob")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inbox(pilot)
        screen.load_post(submitted.id)
        await settled(pilot)
        finding = screen.current_finding
        assert finding is not None and finding.asset_id is not None
        preview = screen.query_one("#review-image", ImagePreview)
        await wait_until(pilot, lambda: preview.drawn)
        assert preview.display
        # A finding about the text hides it again.
        screen.load_post(
            next(p.id for p in screen.posts if p.open_findings and p.id != submitted.id)
        )
        await settled(pilot)
        assert screen.current_finding is not None and screen.current_finding.span is not None
        assert not preview.display


async def test_after_one_sign_off_space_moves_on_to_the_next_finding(store: Store) -> None:
    alice = services.resolve_actor(store, as_login="alice")
    post = services.create_post(
        store,
        alice,
        account="uni-news",
        text="Call Jo on 07700 900123 about the embargoed results",
        at=datetime.now(UTC) + timedelta(days=2),
    )
    post = services.submit_post(store, alice, post.id)
    assert len(post.findings) == 2  # a phone number and an embargo
    app = demo_app(store, login="bob")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inbox(pilot)
        # Choose the post in the inbox list itself, so no later highlight reloads another.
        await wait_until(pilot, lambda: post.id in [p.id for p in screen.posts])
        listing = screen.query_one("#review-list", ListView)
        listing.index = [p.id for p in screen.posts].index(post.id)
        await wait_until(pilot, lambda: screen.post is not None and screen.post.id == post.id)
        await settled(pilot)
        await pilot.press("space", *"public switchboard", "enter")
        # wait for the screen itself to show the sign-off, not just the database
        await wait_until(
            pilot, lambda: screen.post is not None and screen.post.findings[0].signed_off
        )
        await settled(pilot)
        # The approver presses space again: the second finding, not nothing.
        await pilot.press("space")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"results are public today", "enter")
        await wait_until(
            pilot, lambda: all(f.signed_off for f in services.list_findings(store, post.id))
        )
        await settled(pilot)
        assert screen.check_action("approve", ()) is True
