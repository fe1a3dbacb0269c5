"""Gate findings: a list to read them and a text area that marks their spans.

A finding's ``span`` is ``(start, end)`` into the text the gate was given, counted in
Python characters (code points). :class:`FindingTextArea` turns those offsets into
(row, column) pairs of its own document and paints them through ``get_line``, the
hook Textual's ``TextArea`` documents for extra styling.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, OptionList, TextArea
from textual.widgets.option_list import Option
from textual.widgets.text_area import Selection

from compliance.model import Finding, Severity

#: Severity -> how a person reads it in a list.
SEVERITY_LABEL: dict[Severity, str] = {
    Severity.BLOCK: "BLOCK",
    Severity.REVIEW: "REVIEW",
    Severity.INFO: "INFO",
}

_SEVERITY_ORDER = {Severity.BLOCK: 0, Severity.REVIEW: 1, Severity.INFO: 2}


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Worst first, then in the order they appear in the text."""
    return sorted(
        findings,
        key=lambda f: (_SEVERITY_ORDER.get(f.severity, 3), f.span[0] if f.span else -1),
    )


def offset_to_location(line_starts: Sequence[int], offset: int) -> tuple[int, int]:
    """Turn a character offset into ``(row, column)`` given each line's start offset."""
    row = max(bisect_right(line_starts, offset) - 1, 0)
    return row, offset - line_starts[row]


class FindingTextArea(TextArea):
    """A text area that underlines the spans the gate found, coloured by severity."""

    COMPONENT_CLASSES: ClassVar[set[str]] = TextArea.COMPONENT_CLASSES | {
        "finding-text-area--block",
        "finding-text-area--review",
        "finding-text-area--info",
    }

    DEFAULT_CSS = """
    FindingTextArea > .finding-text-area--block {
        background: $error-muted;
        color: $text-error;
        text-style: bold underline;
    }
    FindingTextArea > .finding-text-area--review {
        background: $warning-muted;
        color: $text-warning;
        text-style: underline;
    }
    FindingTextArea > .finding-text-area--info {
        text-style: underline;
    }
    """

    def __init__(self, text: str = "", **kwargs: object) -> None:
        # The cursor line's style is painted over what ``get_line`` returns, so it would
        # hide the marks on the line being typed; prose needs no cursor-line band anyway.
        kwargs.setdefault("highlight_cursor_line", False)
        super().__init__(text, **kwargs)  # type: ignore[arg-type]
        # row -> [(start column, end column, severity)], for the text last checked.
        self._marks: dict[int, list[tuple[int, int, Severity]]] = {}

    def _line_starts(self) -> list[int]:
        starts = [0]
        newline_length = len(self.document.newline)
        for line in self.document.lines[:-1]:
            starts.append(starts[-1] + len(line) + newline_length)
        return starts

    def mark_findings(self, findings: Iterable[Finding]) -> None:
        """Paint the spans of ``findings`` (those with a span) over the current text."""
        starts = self._line_starts()
        lines = self.document.lines
        marks: dict[int, list[tuple[int, int, Severity]]] = defaultdict(list)
        text_length = starts[-1] + len(lines[-1]) if lines else 0
        for finding in findings:
            if finding.span is None:
                continue
            start, end = finding.span
            start, end = max(0, start), min(end, text_length)
            if end <= start:
                continue
            start_row, start_col = offset_to_location(starts, start)
            end_row, end_col = offset_to_location(starts, end)
            for row in range(start_row, end_row + 1):
                first = start_col if row == start_row else 0
                last = end_col if row == end_row else len(lines[row])
                if last > first:
                    marks[row].append((first, last, finding.severity))
        self._marks = dict(marks)
        # TextArea caches rendered lines on keys that know nothing of these marks;
        # a style update is the public way to drop that cache.
        self.notify_style_update()
        self.refresh()

    @property
    def marked_rows(self) -> dict[int, list[tuple[int, int, Severity]]]:
        """What is painted, by row: ``(start column, end column, severity)``."""
        return dict(self._marks)

    def select_span(self, span: tuple[int, int]) -> None:
        """Select the characters ``span`` covers (to show a finding the user picked)."""
        starts = self._line_starts()
        self.selection = Selection(
            offset_to_location(starts, span[0]), offset_to_location(starts, span[1])
        )
        self.scroll_cursor_visible()

    def get_line(self, line_index: int) -> Text:
        line = super().get_line(line_index)
        for start, end, severity in self._marks.get(line_index, ()):
            style = self.get_component_rich_style(
                f"finding-text-area--{severity.value}", partial=True
            )
            line.stylize(style, start, end)
        return line


class FindingsList(Vertical):
    """The gate's findings for the text being written, worst first.

    Shows "Checking…" while a check runs so a stale list is never mistaken for the
    answer. Highlighting or selecting a finding posts :class:`FindingsList.Picked`.
    """

    DEFAULT_CSS = """
    FindingsList {
        height: auto;
        max-height: 16;
    }
    FindingsList > #findings-status {
        width: 1fr;
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    FindingsList.-held > #findings-status {
        color: $text-warning;
        text-style: bold;
    }
    FindingsList.-blocked > #findings-status {
        color: $text-error;
        text-style: bold;
    }
    FindingsList > OptionList {
        height: auto;
        max-height: 14;
    }
    """

    @dataclass
    class Picked(Message):
        """The user moved to a finding in the list."""

        findings_list: FindingsList
        finding: Finding

        @property
        def control(self) -> FindingsList:
            return self.findings_list

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.findings: tuple[Finding, ...] = ()
        self._shown: list[Finding] = []

    def compose(self) -> ComposeResult:
        yield Label("Not checked yet", id="findings-status")
        options = OptionList(id="findings-options")
        options.display = False
        yield options

    @property
    def status_text(self) -> str:
        """The line above the list, as shown."""
        return str(self.query_one("#findings-status", Label).content)

    def show_checking(self) -> None:
        """Say that a check is running for newer text."""
        self.query_one("#findings-status", Label).update("Checking…", layout=False)

    def show_error(self, message: str) -> None:
        """Say that the check failed (the list keeps what it had)."""
        self.query_one("#findings-status", Label).update(f"Could not check: {message}")

    def show_findings(self, findings: Iterable[Finding]) -> None:
        """Replace the list with ``findings``."""
        self._shown = sort_findings(findings)
        self.findings = tuple(self._shown)
        blocked = any(f.severity is Severity.BLOCK for f in self._shown)
        held = any(f.severity is Severity.REVIEW for f in self._shown)
        self.set_class(blocked, "-blocked")
        self.set_class(held and not blocked, "-held")
        count = len(self._shown)
        if not count:
            status = "No findings: nothing holds the post back"
        else:
            noun = "finding" if count == 1 else "findings"
            what = (
                "must be edited away"
                if blocked
                else "needs an approver's sign-off"
                if held
                else "for information"
            )
            status = f"{count} {noun} — {what}"
        self.query_one("#findings-status", Label).update(status)
        options = self.query_one("#findings-options", OptionList)
        options.set_options(self._option(finding) for finding in self._shown)
        # An empty list would only draw an empty box under "No findings".
        options.display = bool(self._shown)

    @staticmethod
    def _option(finding: Finding) -> Option:
        prompt = Text()
        style = {
            Severity.BLOCK: "bold red",
            Severity.REVIEW: "bold yellow",
            Severity.INFO: "dim",
        }.get(finding.severity, "")
        prompt.append(f"{SEVERITY_LABEL.get(finding.severity, finding.severity)} ", style)
        prompt.append(finding.message)
        if finding.clause:
            # The clause can be a paragraph; its opening is enough to know which one.
            clause = finding.clause if len(finding.clause) <= 90 else finding.clause[:89] + "…"
            prompt.append(f"\n   {clause}", "italic dim")
        return Option(prompt)

    @on(OptionList.OptionHighlighted, "#findings-options")
    @on(OptionList.OptionSelected, "#findings-options")
    def _picked(self, event: OptionList.OptionHighlighted | OptionList.OptionSelected) -> None:
        event.stop()
        index = event.option_index
        if 0 <= index < len(self._shown):
            self.post_message(self.Picked(self, self._shown[index]))
