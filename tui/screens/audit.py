"""The audit log: who did what to which post, account, asset or person, and whether the
hash chain that links the entries still holds.

The chain is verified in a worker when the screen opens and on ``v``; the status line
says "chain intact" with the number of events checked, or names the first event that
does not fit and marks its row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import HorizontalGroup
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from scheduler import services
from scheduler.errors import GatepostError
from scheduler.store import Store
from scheduler.views import Actor, AuditEventView, AuditReport
from tui.widgets.statusbar import StatusBar, ViewsBar

#: How many of the newest events the screen reads (the filter then narrows them).
PAGE = 1000

# "post:12", "user:bob", "asset:3": a subject, looked up in the database itself.
_SUBJECT = re.compile(r"^[a-z]+:\S+$")


def summarise(changes: Mapping[str, Any], width: int = 60) -> str:
    """One line of ``key=value`` pairs, cut to ``width``."""
    text = ", ".join(
        f"{key}={json.dumps(value, ensure_ascii=False, default=str)}"
        for key, value in changes.items()
    )
    return text if len(text) <= width else text[: width - 1] + "…"


def matches(event: AuditEventView, words: list[str]) -> bool:
    """Whether every word appears in the event's actor, action, subject or changes."""
    haystack = " ".join(
        (event.actor, event.action, event.subject, json.dumps(event.after, default=str))
    ).lower()
    return all(word in haystack for word in words)


@dataclass(frozen=True)
class AuditPage:
    """Events read for one filter."""

    filter_text: str
    events: tuple[AuditEventView, ...]


class AuditScreen(Screen[None]):
    """The audit log, newest first, filterable, with the chain's verification status."""

    CSS_PATH = "audit.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("v", "verify", "Verify chain"),
        Binding("r", "reload", "Reload"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self, store: Store, actor: Actor | None = None) -> None:
        super().__init__()
        self.store = store
        self._actor = actor
        self.events: tuple[AuditEventView, ...] = ()
        self.report: AuditReport | None = None

    def compose(self) -> ComposeResult:
        yield ViewsBar("audit")
        with HorizontalGroup(id="audit-head"):
            yield Input(
                placeholder="Filter: words, or a subject such as post:12 (press /)",
                id="audit-filter",
            )
            yield Label("Verifying the chain…", id="audit-chain")
        yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="audit-detail")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#audit-table", DataTable)
        table.add_column("#", key="seq")
        table.add_column("When (UTC)", key="at")
        table.add_column("Who", key="actor")
        table.add_column("Did", key="action")
        table.add_column("To", key="subject")
        table.add_column("Now", key="after")
        table.focus()
        self.action_reload()
        self.action_verify()
        if hasattr(self.app, "posts_version"):
            self.watch(self.app, "posts_version", self._changed, init=False)

    def _changed(self) -> None:
        if self.is_current:
            self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()
        self.action_verify()

    # -- reading ----------------------------------------------------------------------

    @property
    def filter_text(self) -> str:
        return self.query_one("#audit-filter", Input).value.strip()

    def action_reload(self) -> None:
        self._load(self.filter_text)

    def action_verify(self) -> None:
        label = self.query_one("#audit-chain", Label)
        label.set_classes("")
        label.update("Verifying the chain…")
        self._verify()

    @work(thread=True, exclusive=True, exit_on_error=False, group="audit", name="page")
    def _load(self, filter_text: str) -> AuditPage:
        if _SUBJECT.match(filter_text):
            events = services.list_audit(self.store, subject=filter_text, limit=PAGE)
        else:
            words = filter_text.lower().split()
            events = [e for e in services.list_audit(self.store, limit=PAGE) if matches(e, words)]
        return AuditPage(filter_text, tuple(events))

    @work(thread=True, exclusive=True, exit_on_error=False, group="audit-verify", name="verify")
    def _verify(self) -> AuditReport:
        return services.verify_audit(self.store)

    @on(Input.Changed, "#audit-filter")
    def _filter_changed(self) -> None:
        self.action_reload()

    @on(Input.Submitted, "#audit-filter")
    def _filter_done(self) -> None:
        self.query_one("#audit-table", DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#audit-filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#audit-filter", Input).value = ""
        self.query_one("#audit-table", DataTable).focus()

    def _page_loaded(self, page: AuditPage) -> None:
        if page.filter_text != self.filter_text:
            return  # typed on since; a newer page is coming
        self.events = page.events
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#audit-table", DataTable)
        bad = self.report.bad_seq if self.report is not None and not self.report.ok else None
        table.clear()
        for event in self.events:
            style = "bold red" if event.seq == bad else ""
            table.add_row(
                Text(str(event.seq), style),
                Text(f"{event.at:%Y-%m-%d %H:%M:%S}", style),
                Text(event.actor, style),
                Text(event.action, style),
                Text(event.subject, style),
                Text(summarise(event.after), style or "dim"),
                key=str(event.seq),
            )
        self._show_detail()

    def _verified(self, report: AuditReport) -> None:
        self.report = report
        label = self.query_one("#audit-chain", Label)
        if report.ok:
            label.set_classes("-intact")
            label.update(f"✔ Chain intact: {report.events} events verified")
        else:
            label.set_classes("-broken")
            label.update(f"✘ Chain broken at event #{report.bad_seq}: {report.problem}")
        self._fill()

    @on(DataTable.RowHighlighted, "#audit-table")
    def _show_detail(self) -> None:
        table = self.query_one("#audit-table", DataTable)
        detail = self.query_one("#audit-detail", Static)
        row = table.cursor_row
        if not self.events or row is None or not 0 <= row < len(self.events):
            detail.update("No events match." if self.filter_text else "")
            return
        event = self.events[row]
        text = Text()
        text.append(f"#{event.seq} {event.action} on {event.subject} by {event.actor}", "bold")
        text.append(f"  hash {event.hash[:16]}…\n", "dim")
        if event.before:
            text.append(f"before: {summarise(event.before, 200)}\n")
        text.append(f"after:  {summarise(event.after, 200)}")
        detail.update(text)

    # -- worker results and failures --------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        if event.state is WorkerState.SUCCESS:
            if worker.name == "page":
                self._page_loaded(worker.result)
            elif worker.name == "verify":
                self._verified(worker.result)
        elif event.state is WorkerState.ERROR and worker.error is not None:
            error = worker.error
            if worker.name == "verify":
                label = self.query_one("#audit-chain", Label)
                label.set_classes("-broken")
                label.update(f"Could not verify the chain: {error}")
            report = getattr(self.app, "report_error", None)
            if report is not None:
                report(error, title="Audit log")
                return
            message = error.message if isinstance(error, GatepostError) else str(error)
            self.notify(message, title="Audit log", severity="error", timeout=8)
