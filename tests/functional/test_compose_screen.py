"""The compose screen on a real store, mounted alone (Pilot)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList

import compliance
from scheduler import services
from scheduler.models import PostState
from scheduler.views import Attachment
from tests.functional.screen_harness import (
    ScreenHarness,
    World,
    gatepost_app,
    make_world,
    wait_for_workers,
)
from tui.screens.assets import AssetPickerScreen
from tui.screens.compose import (
    CHECK_DELAY,
    ComposeScreen,
    DiscardChangesScreen,
    EditConflictScreen,
)
from tui.widgets.counter import PlatformCounter
from tui.widgets.findings import FindingsList, FindingTextArea
from tui.widgets.preview import PlatformPreview
from tui.widgets.schedule_picker import SchedulePicker


@pytest.fixture
def world(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = make_world(tmp_path, tmp_path_factory.getbasetemp())
    yield world
    world.store.dispose()


def compose_app(world: World, **options: object) -> ScreenHarness:
    return ScreenHarness(
        lambda: ComposeScreen(world.store, world.author, check_delay=0.05, **options)  # type: ignore[arg-type]
    )


async def test_typing_a_flagged_text_shows_the_finding_and_marks_it(world: World) -> None:
    app = compose_app(world, account="uni-x")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        # Typed, not pasted: the check runs on what arrives key by key.
        screen.query_one(FindingTextArea).insert("Mail jo@example.ac.")
        await pilot.press(*"uk")
        await wait_for_workers(pilot)
        findings = screen.query_one(FindingsList)
        assert [f.rule for f in findings.findings] == ["personal_data"]
        assert "needs an approver's sign-off" in findings.status_text
        area = screen.query_one(FindingTextArea)
        # The email (characters 5 to 21) is painted in the text area, in the colours of
        # a finding that needs review.
        assert area.marked_rows == {0: [(5, 21, findings.findings[0].severity)]}
        review_style = area.get_component_rich_style("finding-text-area--review")
        painted = [s for s in area.render_line(0) if s.text == "jo@example.ac.uk"]
        assert painted and painted[0].style is not None
        assert painted[0].style.bgcolor == review_style.bgcolor
        # Editing the email away clears the finding.
        area.delete((0, 5), (0, 21))
        await pilot.press(*"office")
        await wait_for_workers(pilot)
        assert screen.text == "Mail office"
        assert findings.findings == ()
        assert area.marked_rows == {}
        assert findings.status_text.startswith("No findings")


async def test_counter_turns_red_one_past_the_accounts_limit(world: World) -> None:
    # uni-news publishes through the outbox connector with a 40-character limit.
    app = compose_app(world, account="uni-news")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        counter = app.screen.query_one(PlatformCounter)
        app.screen.query_one(FindingTextArea).insert("a" * 39)
        await pilot.press("a")
        await pilot.pause()
        assert counter.measure is not None and counter.measure.limit == 40
        assert not counter.has_class("-over")
        await pilot.press("b")
        await pilot.pause()
        assert counter.has_class("-over")
        assert "41/40 (+1)" in str(counter.content)


async def test_other_platforms_are_counted_beside_the_posts_own(world: World) -> None:
    app = compose_app(world, account="uni-news")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        screen.query_one(FindingTextArea).insert("a" * 41)
        await wait_for_workers(pilot)
        counters = list(screen.query(PlatformCounter))
        assert [c.target.label for c in counters] == ["@uninews", "x"]
        # Too long for the outbox account (40), fine for X (280).
        assert [c.has_class("-over") for c in counters] == [True, False]
        assert counters[1].has_class("-other")
        # A card per platform shows how each would show it.
        preview = screen.query_one(PlatformPreview)
        assert "1 characters will not fit on Outbox" in preview.card_text(0)
        assert preview.card_text(1) == "a" * 41
        # Submitting a text too long for its own account is refused, with the numbers.
        screen.query_one(SchedulePicker).set_wall_time("2026-12-01", "09:00")
        await pilot.press("ctrl+r")
        await wait_for_workers(pilot)
        errors = [(n.title, n.message) for n in app._notifications if n.severity == "error"]
        assert errors == [
            (
                "Too long",
                "@uninews takes 40 characters; this text is 41. Shorten it before submitting.",
            )
        ]
        assert services.count_posts(world.store) == 0


async def test_the_x_counter_weighs_links_and_emoji(world: World) -> None:
    app = compose_app(world, account="uni-x")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        area = app.screen.query_one(FindingTextArea)
        area.insert("See https://example.ac.uk/a/very/long/path/to/the/news 🎓")
        await pilot.pause()
        counter = app.screen.query_one(PlatformCounter)
        # "See " 4 + URL 23 + " " 1 + emoji 2 = 30 by X's rules.
        assert counter.measure is not None and counter.measure.used == 30
        assert counter.measure.limit == 280


async def test_saving_a_new_draft_then_submitting_a_flagged_post(world: World) -> None:
    app = compose_app(world, account="uni-x")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        screen.query_one(FindingTextArea).insert("Embargoed until Friday")
        screen.query_one(SchedulePicker).set_wall_time("2026-12-01", "09:00")
        await pilot.press("ctrl+s")
        await wait_for_workers(pilot)
        assert screen.post is not None
        saved = services.get_post(world.store, screen.post.id)
        assert saved.text == "Embargoed until Friday"
        assert saved.state is PostState.DRAFT
        # 09:00 in London on 1 December is 09:00 UTC (GMT).
        assert saved.scheduled_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        await pilot.press("ctrl+r")
        await wait_for_workers(pilot)
        submitted = services.get_post(world.store, saved.id)
        assert submitted.state is PostState.IN_REVIEW
        assert submitted.open_findings >= 1
        # Submitting closes the editor.
        assert not isinstance(app.screen, ComposeScreen)


async def test_a_time_in_the_spring_gap_is_explained_and_not_saved(world: World) -> None:
    app = compose_app(world, account="uni-news")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        screen.query_one(FindingTextArea).insert("Clocks go forward")
        picker = screen.query_one(SchedulePicker)
        picker.set_wall_time("2027-03-28", "01:30")
        await pilot.pause()
        assert "does not exist in Europe/London" in picker.note
        await pilot.press("ctrl+s")
        await wait_for_workers(pilot)
        assert screen.post is None
        assert services.count_posts(world.store) == 0


async def test_saving_a_stale_edit_shows_the_conflict(world: World) -> None:
    post = services.create_post(world.store, world.author, account="uni-news", text="Version one")
    app = compose_app(world, post_id=post.id)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        assert screen.text == "Version one"
        # Someone else saves while the author is still typing.
        services.edit_post(
            world.store, world.approver, post.id, expected_version=post.version, text="Theirs"
        )
        area = screen.query_one(FindingTextArea)
        area.move_cursor(area.document.end)
        area.insert(" and mine")
        await pilot.press("ctrl+s")
        await wait_for_workers(pilot)
        dialog = app.screen
        assert isinstance(dialog, EditConflictScreen)
        assert "changed by someone else" in str(dialog.query_one("#conflict-title").content)
        assert "bob saved version 2" in str(dialog.query_one("#conflict-message").content)
        await pilot.press("t")  # take theirs
        await wait_for_workers(pilot)
        assert app.screen is screen
        assert screen.text == "Theirs"
        assert screen.post is not None and screen.post.version == 2


async def test_overwriting_after_a_conflict_saves_mine(world: World) -> None:
    post = services.create_post(world.store, world.author, account="uni-news", text="One")
    app = compose_app(world, post_id=post.id)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        services.edit_post(world.store, world.approver, post.id, text="Theirs")
        screen.query_one(FindingTextArea).load_text("Mine")
        await pilot.press("ctrl+s")
        await wait_for_workers(pilot)
        assert isinstance(app.screen, EditConflictScreen)
        await pilot.press("o")
        await wait_for_workers(pilot)
        assert services.get_post(world.store, post.id).text == "Mine"


async def test_a_published_post_opens_read_only(world: World) -> None:
    post = services.create_post(world.store, world.author, account="uni-news", text="Gone")
    services.cancel_post(world.store, world.author, post.id, reason="not needed")
    app = compose_app(world, post_id=post.id)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        assert screen.query_one(FindingTextArea).read_only
        notice = str(screen.query_one("#compose-notice").content)
        assert "cancelled: it can no longer be edited" in notice
        assert screen.check_action("save", ()) is False


async def test_attaching_an_image_shows_its_permission_and_is_checked(world: World) -> None:
    app = compose_app(world, account="uni-x")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        screen.query_one(FindingTextArea).insert("Open day")
        await pilot.press("ctrl+o")
        await wait_for_workers(pilot)
        picker = app.screen
        assert isinstance(picker, AssetPickerScreen)
        titles = [a.title for a in picker.assets]
        # Newest first: the pending photo, then the approved crest.
        assert titles == ["Open day photo", "University crest"]
        await pilot.press("enter")
        picker.query_one("#picker-alt", Input).value = "Students on the lawn"
        await pilot.press("enter")
        await wait_for_workers(pilot)
        assert app.screen is screen
        images = screen.query_one("#compose-images")
        shown = str(images.get_option_at_index(0).prompt)
        assert "Open day photo — pending, not allowed on uni-x" in shown
        assert "alt: Students on the lawn" in shown
        assert [i.as_attachment() for i in screen.images] == [
            Attachment(world.pending.id, "Students on the lawn")
        ]
        # Saved with the post, in order, with its alt text.
        await pilot.press("ctrl+s")
        await wait_for_workers(pilot)
        assert screen.post is not None
        saved = services.get_post(world.store, screen.post.id)
        assert [(a.asset_id, a.alt) for a in saved.attachments] == [
            (world.pending.id, "Students on the lawn")
        ]


async def test_the_gate_checks_attached_images_as_you_write(world: World) -> None:
    app = compose_app(world, account="uni-x")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        screen.query_one(FindingTextArea).insert("Open day")
        await pilot.press("ctrl+o")
        await wait_for_workers(pilot)
        await pilot.press("enter", "enter")
        await wait_for_workers(pilot)
        # The photo is pending and not allowed on uni-x: the gate holds it back, and
        # the image's line says so.
        assert any(f.asset_id == str(world.pending.id) for f in screen.findings)
        shown = str(screen.query_one("#compose-images", OptionList).get_option_at_index(0).prompt)
        assert "⚠" in shown and "finding" in shown


async def test_in_the_app_n_opens_the_editor_and_a_flagged_post_goes_to_review(
    world: World,
) -> None:
    app = gatepost_app(world, world.author)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("n")
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        assert screen.actor == world.author  # the app's person
        # Printable keys go to the text, not to the app's one-key bindings.
        await pilot.press("n", "1")
        screen.query_one(FindingTextArea).insert(" mail jo@example.ac.u")
        await pilot.press("k")
        # The app's editor waits for a pause in typing before it checks.
        await pilot.pause(CHECK_DELAY + 0.1)
        await wait_for_workers(pilot)
        assert screen.text == "n1 mail jo@example.ac.uk"
        findings = screen.query_one(FindingsList)
        assert [f.rule for f in findings.findings] == ["personal_data"]
        assert screen.query_one(FindingTextArea).marked_rows
        screen.query_one(SchedulePicker).set_wall_time("2026-12-01", "09:00")
        await pilot.press("ctrl+r")
        await wait_for_workers(pilot)
        assert not isinstance(app.screen, ComposeScreen)
        posts = services.list_posts(world.store, author="alice")
        assert [(p.text, p.state) for p in posts] == [
            ("n1 mail jo@example.ac.uk", PostState.IN_REVIEW)
        ]


@pytest.mark.parametrize(
    ("key", "closes", "saved"),
    [
        ("escape", False, False),  # keep editing: nothing lost, nothing written
        ("d", True, False),  # discard: the editor closes, nothing written
        ("s", True, True),  # save: written as a draft, then the editor closes
    ],
)
async def test_leaving_with_unsaved_changes_asks_first(
    world: World, key: str, closes: bool, saved: bool
) -> None:
    app = compose_app(world, account="uni-news")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        screen.query_one(FindingTextArea).insert("Half a thought")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DiscardChangesScreen)
        await pilot.press(key)
        await wait_for_workers(pilot)
        assert (app.screen is not screen) is closes
        texts = [p.text for p in services.list_posts(world.store)]
        assert texts == (["Half a thought"] if saved else [])


async def test_a_time_the_autumn_change_repeats_is_saved_only_once_chosen(world: World) -> None:
    app = compose_app(world, account="uni-news")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        screen.query_one(FindingTextArea).insert("Clocks go back tonight")
        picker = screen.query_one(SchedulePicker)
        picker.set_wall_time("2027-10-31", "01:30")
        await pilot.pause()
        assert "happens twice in Europe/London" in picker.note
        await pilot.press("ctrl+s")
        await wait_for_workers(pilot)
        assert screen.post is None  # refused until the author says which 01:30
        await pilot.click("#fold-first")
        await pilot.press("ctrl+s")
        await wait_for_workers(pilot)
        assert screen.post is not None
        # The first 01:30 is still BST: 00:30 UTC.
        saved = services.get_post(world.store, screen.post.id)
        assert saved.scheduled_at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
        assert saved.scheduled_local == "2027-10-31 01:30 BST"


async def test_a_policy_file_broken_since_it_was_chosen_is_said_while_typing(
    world: World, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_bytes((Path(compliance.__file__).parent / "policy.toml").read_bytes())
    services.set_policy_path(world.store, world.admin, str(policy))
    policy.write_text("[rules.broken\n", encoding="utf-8")  # someone saves a typo
    app = compose_app(world, account="uni-news")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        screen.query_one(FindingTextArea).insert("Hello")
        await wait_for_workers(pilot)
        status = screen.query_one(FindingsList).status_text
        assert status.startswith("Could not check: the compliance gate cannot run")
        assert "not valid TOML" in status
        # Typing goes on; the editor still saves a draft.
        await pilot.press("ctrl+s")
        await wait_for_workers(pilot)
        assert screen.post is not None


async def test_opening_a_post_that_does_not_exist_says_so(world: World) -> None:
    app = compose_app(world, post_id=9999)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        errors = [(n.title, n.message) for n in app._notifications if n.severity == "error"]
        assert errors == [("Cannot open the post", "no post 9999")]
        assert not app.screen.query_one("#compose-editor").loading


async def test_submitting_without_a_time_asks_for_one(world: World) -> None:
    app = compose_app(world, account="uni-news")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        screen.query_one(FindingTextArea).insert("No time yet")
        await pilot.press("ctrl+r")
        await wait_for_workers(pilot)
        titles = [n.title for n in app._notifications if n.severity == "error"]
        assert titles == ["Not scheduled"]
        assert screen.focused is screen.query_one("#schedule-date")
        assert services.count_posts(world.store) == 0
