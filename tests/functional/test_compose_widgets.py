"""The compose screen's widgets, each mounted alone in a small app (Pilot)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image
from textual.app import App, ComposeResult
from textual.color import Color
from textual.widget import Widget
from textual.widgets import RadioButton

from compliance.model import Finding, Severity
from connectors import TextMeasure
from tui.widgets.counter import CounterBar, CounterTarget, PlatformCounter
from tui.widgets.findings import FindingsList, FindingTextArea
from tui.widgets.image_preview import ImagePreview
from tui.widgets.preview import PlatformPreview, fitting_length, render_preview
from tui.widgets.schedule_picker import SchedulePicker

# 2026-03-01 12:00 UTC: before both of 2026's clock changes in Europe/London.
FIXED_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def length_limit(limit: int):
    return lambda text: TextMeasure(len(text), limit)


class OneWidget(App[None]):
    """Mounts the widgets under test and nothing else."""

    def __init__(self, *widgets: Widget) -> None:
        super().__init__()
        self._widgets = widgets

    def compose(self) -> ComposeResult:
        yield from self._widgets


async def test_counter_turns_red_one_past_the_limit() -> None:
    bar = CounterBar([CounterTarget("@uni", "mastodon", length_limit(10))])
    async with OneWidget(bar).run_test(size=(120, 40)) as pilot:
        counter = bar.query_one(PlatformCounter)
        bar.text = "x" * 10
        await pilot.pause()
        assert not counter.has_class("-over")
        assert "10/10" in str(counter.content)
        error_colour = Color.parse(pilot.app.theme_variables["text-error"])
        # At the limit exactly the counter warns (near) but is not red.
        assert counter.has_class("-near")
        assert counter.styles.color != error_colour
        bar.text = "x" * 11
        await pilot.pause()
        assert counter.has_class("-over")
        assert bar.any_over
        assert "11/10 (+1)" in str(counter.content)
        # What the user sees: the counter is drawn in the theme's error colour.
        assert counter.styles.color == error_colour
        assert counter.styles.background.a > 0


async def test_counter_targets_can_change_with_the_account() -> None:
    bar = CounterBar([CounterTarget("@a", "x", length_limit(5))])
    async with OneWidget(bar).run_test(size=(120, 40)) as pilot:
        bar.text = "abcdefg"
        await pilot.pause()
        assert bar.any_over
        await bar.set_targets([CounterTarget("@b", "linkedin", length_limit(3000))])
        await pilot.pause()
        counters = list(bar.query(PlatformCounter))
        assert [c.target.label for c in counters] == ["@b"]
        assert not bar.any_over


async def test_findings_are_listed_worst_first_and_their_spans_marked() -> None:
    text = "Call 01234 567890\nor mail jo@example.ac.uk — confidential"
    area = FindingTextArea(text)
    findings_list = FindingsList()
    at_email, at_secret = text.index("jo@"), text.index("confidential")
    email = Finding(
        "personal-data", Severity.REVIEW, "4.2", "An email", span=(at_email, at_email + 16)
    )
    secret = Finding(
        "confidential", Severity.BLOCK, "3.1", "Confidential", span=(at_secret, at_secret + 12)
    )
    async with OneWidget(area, findings_list).run_test(size=(120, 40)) as pilot:
        area.mark_findings([email, secret])
        findings_list.show_findings([email, secret])
        await pilot.pause()
        assert findings_list.findings == (secret, email)
        assert findings_list.status_text == "2 findings — must be edited away"
        assert findings_list.has_class("-blocked")
        # Row 1 holds both spans, converted to columns of that line.
        assert area.marked_rows == {1: [(8, 24, Severity.REVIEW), (27, 39, Severity.BLOCK)]}
        line = area.get_line(1)
        marked = {(span.start, span.end) for span in line.spans}
        assert (8, 24) in marked and (27, 39) in marked
        assert line.plain[8:24] == "jo@example.ac.uk"
        assert line.plain[27:39] == "confidential"


async def test_picking_a_finding_selects_its_span_in_the_text() -> None:
    area = FindingTextArea("first line\nsecond line has it")
    findings_list = FindingsList()
    finding = Finding("r", Severity.REVIEW, "c", "m", span=(23, 29))

    class Wired(OneWidget):
        def on_findings_list_picked(self, event: FindingsList.Picked) -> None:
            assert event.finding.span is not None
            area.select_span(event.finding.span)

    async with Wired(area, findings_list).run_test(size=(120, 40)) as pilot:
        findings_list.show_findings([finding])
        findings_list.query_one("#findings-options").focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert area.selected_text == "has it"


async def test_no_findings_says_so() -> None:
    findings_list = FindingsList()
    async with OneWidget(findings_list).run_test(size=(120, 40)):
        findings_list.show_findings([])
        assert findings_list.status_text.startswith("No findings")


async def test_schedule_picker_explains_and_refuses_a_time_in_the_spring_gap() -> None:
    picker = SchedulePicker("Europe/London", clock=lambda: FIXED_NOW)
    async with OneWidget(picker).run_test(size=(120, 40)) as pilot:
        picker.query_one("#schedule-date").focus()
        await pilot.press(*"2026-03-29")
        picker.query_one("#schedule-time").focus()
        await pilot.press(*"01:30")
        await pilot.pause()
        assert picker.value is None
        assert picker.has_class("-gap")
        assert "does not exist in Europe/London" in picker.note
        assert "clocks go forward from 01:00 to 02:00" in picker.note


async def test_schedule_picker_asks_which_of_the_two_autumn_times() -> None:
    changes: list[SchedulePicker.Changed] = []

    class Recording(OneWidget):
        def on_schedule_picker_changed(self, event: SchedulePicker.Changed) -> None:
            changes.append(event)

    picker = SchedulePicker("Europe/London", clock=lambda: FIXED_NOW)
    async with Recording(picker).run_test(size=(120, 40)) as pilot:
        picker.set_wall_time("2026-10-25", "01:30")
        await pilot.pause()
        assert picker.value is None
        assert picker.has_class("-fold")
        assert "happens twice in Europe/London" in picker.note
        fold_set = picker.query_one("#schedule-fold")
        assert fold_set.display
        second = picker.query_one("#fold-second", RadioButton)
        assert "GMT" in str(second.label)
        await pilot.click(second)
        await pilot.pause()
        # The second 01:30 is GMT, so 01:30 UTC; the first would have been 00:30 UTC.
        assert picker.value == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
        assert changes[-1].value == picker.value
        assert "Goes out Sun 25 Oct 2026 at 01:30 GMT" in picker.note


async def test_schedule_picker_converts_an_ordinary_time_from_the_zone() -> None:
    picker = SchedulePicker("America/New_York", clock=lambda: FIXED_NOW)
    async with OneWidget(picker).run_test(size=(120, 40)) as pilot:
        picker.set_wall_time("2026-07-01", "09:00")
        await pilot.pause()
        assert picker.value == datetime(2026, 7, 1, 13, 0, tzinfo=UTC)
        assert picker.problem is None


@pytest.mark.parametrize(
    ("date_text", "time_text", "expected"),
    [
        ("2026-02-01", "09:00", "is in the past"),  # before the fixed clock
        ("2026-13-01", "09:00", "YYYY-MM-DD"),  # no 13th month
        ("tomorrow", "9am", "YYYY-MM-DD"),  # not the format asked for
    ],
)
async def test_schedule_picker_refuses_what_it_cannot_use(
    date_text: str, time_text: str, expected: str
) -> None:
    picker = SchedulePicker("Europe/London", clock=lambda: FIXED_NOW)
    async with OneWidget(picker).run_test(size=(120, 40)) as pilot:
        picker.set_wall_time(date_text, time_text)
        await pilot.pause()
        assert picker.value is None
        assert picker.problem is not None and expected in picker.problem
        assert expected in picker.note


async def test_schedule_picker_shows_a_saved_time_in_the_accounts_zone() -> None:
    saved = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # the second 01:30 in London
    picker = SchedulePicker("Europe/London", saved, clock=lambda: FIXED_NOW)
    async with OneWidget(picker).run_test(size=(120, 40)):
        assert picker.query_one("#schedule-time").value == "01:30"
        assert picker.value == saved
        assert picker.query_one("#fold-second", RadioButton).value


def test_preview_marks_what_does_not_fit_and_where_linkedin_folds() -> None:
    text = "word " * 60  # 300 characters
    x_view = render_preview("x", text, length_limit(280))
    assert "20 characters will not fit on X" in x_view.plain
    linkedin_view = render_preview("linkedin", text, length_limit(3000))
    assert "…see more" in linkedin_view.plain
    assert linkedin_view.plain.index("…see more") == 210


def test_preview_shortens_links_on_x() -> None:
    text = "Read https://www.example.ac.uk/news/2026/a-very-long-article-name today"
    view = render_preview("x", text, length_limit(280))
    assert "example.ac.uk/news/202…" in view.plain
    assert "a-very-long-article-name" not in view.plain


@pytest.mark.parametrize("limit", [0, 1, 7, 12])
def test_fitting_length_is_the_longest_prefix_within_the_limit(limit: int) -> None:
    assert fitting_length("abcdefghijkl", length_limit(limit)) == min(limit, 12)


async def test_preview_cards_follow_the_text() -> None:
    preview = PlatformPreview(
        [
            CounterTarget("@uni", "x", length_limit(280)),
            CounterTarget("Uni page", "facebook", length_limit(63206)),
        ]
    )
    async with OneWidget(preview).run_test(size=(120, 40)) as pilot:
        preview.text = "Open day on Saturday"
        await pilot.pause()
        assert preview.card_text(0) == "Open day on Saturday"
        assert preview.card_text(1) == "Open day on Saturday"


def png_bytes(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_image_preview_draws_half_blocks() -> None:
    preview = ImagePreview(png_bytes(64, 32, (200, 0, 0)), columns=16, rows=8)
    async with OneWidget(preview).run_test(size=(120, 40)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert preview.drawn
        lines = preview.render_lines(preview.region.reset_offset)
        cells = "".join(segment.text for line in lines for segment in line)
        assert "▄" in cells
        assert preview.size.width >= 16


async def test_image_preview_says_when_bytes_are_not_an_image() -> None:
    preview = ImagePreview(b"not a picture")
    async with OneWidget(preview).run_test(size=(120, 40)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert not preview.drawn
        assert preview.error is not None
        assert "Cannot show this image" in str(preview.content)
