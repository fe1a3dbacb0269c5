"""The queue: every post, filtered as you type, a page of rows at a time."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from scheduler import services
from scheduler.errors import NotFound
from scheduler.views import PostView
from tui.screens.prompt import TextPrompt
from tui.widgets.statusbar import StatusBar, ViewsBar
from tui.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from scheduler.store import Store
    from tui.app import GatepostApp

# Actions on the highlighted post, and the states they apply to.
POST_ACTION_STATES: dict[str, frozenset[str]] = {
    "confirm_held": frozenset({"held"}),
    "retry_failed": frozenset({"failed"}),
    "went_out": frozenset({"unknown"}),
    "send_unknown": frozenset({"unknown"}),
    "submit": frozenset({"draft"}),
    "cancel_post": frozenset({"draft", "in_review", "scheduled", "held", "failed", "unknown"}),
}
# States whose text can still be changed (enter opens the editor).
EDITABLE_STATES = frozenset({"draft", "in_review", "scheduled", "held", "failed"})

# The order the state filter cycles through (None: every state).
STATE_CYCLE: tuple[str | None, ...] = (
    None,
    "draft",
    "in_review",
    "scheduled",
    "publishing",
    "published",
    "held",
    "failed",
    "unknown",
    "cancelled",
    "retracted",
)

# (services sort key, how the screen names it)
SORTS: tuple[tuple[str, str], ...] = (
    ("scheduled_at", "scheduled time"),
    ("id", "post number"),
    ("state", "state"),
    ("account", "account"),
    ("updated_at", "last change"),
)

COLUMNS = (
    Column("id", "#", 7, justify="right"),
    Column("state", "State", 10),
    Column("account", "Account", 16),
    Column("scheduled_at", "Scheduled (local)", 22),
    Column("findings", "Finds", 5, justify="right"),
    Column("text", "Text", None),
)

_TOKEN = re.compile(r"(?:(?:state|is):(?P<state>[\w-]+))|(?:@(?P<account>\S+))|(?:#(?P<id>\d+))")


@dataclass(frozen=True)
class QueueQuery:
    """One view of the queue: what is filtered and how it is sorted."""

    text: str = ""
    state: str | None = None
    account: str | None = None
    post_id: int | None = None
    sort: str = "scheduled_at"
    descending: bool = False


def parse_filter(typed: str, base: QueueQuery) -> QueueQuery:
    """The words typed in the filter box, over the state/account chosen by keys.

    `state:held` (or `is:held`), `@account` and `#123` are picked out; the other words
    are searched for in the text.
    """
    state, account, post_id = base.state, base.account, None
    for match in _TOKEN.finditer(typed):
        if match["state"]:
            state = match["state"].replace("-", "_").lower()
        elif match["account"]:
            account = match["account"]
        elif match["id"]:
            post_id = int(match["id"])
    text = " ".join(_TOKEN.sub(" ", typed).split())
    return replace(base, text=text, state=state, account=account, post_id=post_id)


class PostsSource:
    """The queue's rows for one query, read through the scheduler's services."""

    def __init__(self, store: Store, query: QueueQuery) -> None:
        self.store = store
        self.query = query

    def _filters(self) -> dict[str, Any]:
        q = self.query
        return {
            "text": q.text or None,
            "states": [q.state] if q.state else None,
            "account": q.account,
        }

    def _one(self) -> list[PostView]:
        # `#123`: that post alone, if it also fits the other filters.
        assert self.query.post_id is not None
        try:
            post = services.get_post(self.store, self.query.post_id)
        except NotFound:
            return []
        q = self.query
        if (
            (q.state and post.state != q.state)
            or (q.account and post.account != q.account)
            or (q.text and q.text.lower() not in post.text.lower())
        ):
            return []
        return [post]

    def count(self) -> int:
        if self.query.post_id is not None:
            return len(self._one())
        return services.count_posts(self.store, **self._filters())

    def page(self, offset: int, limit: int) -> Sequence[PostView]:
        if self.query.post_id is not None:
            return self._one()[offset : offset + limit]
        return services.list_posts(
            self.store,
            **self._filters(),
            order_by=self.query.sort,
            descending=self.query.descending,
            offset=offset,
            limit=limit,
        )


def local_time(when: datetime | None, zone: str) -> str:
    """A UTC time as the account's wall clock, with the zone's abbreviation."""
    if when is None:
        return "—"
    local = when.astimezone(ZoneInfo(zone))
    return local.strftime("%a %d %b %H:%M %Z")


class QueueScreen(Screen[None]):
    """Every post, with its state, account, local time and findings; filter as you type."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("s", "cycle_state", "State"),
        Binding("a", "cycle_account", "Account"),
        Binding("o", "cycle_sort", "Sort"),
        Binding("r", "reverse_sort", "Reverse", show=False),
        Binding("g", "jump", "Go to #", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("c", "confirm_held", "Confirm held"),
        Binding("t", "retry_failed", "Retry"),
        Binding("w", "went_out", "It went out"),
        Binding("R", "send_unknown", "Send it"),
        Binding("ctrl+r", "submit", "Submit"),
        Binding("x", "cancel_post", "Cancel post"),
    ]

    HELP_NOTES: ClassVar[tuple[tuple[str, str], ...]] = (
        ("ctrl+r", "On a draft: submit it to the gate"),
        ("c", "On a held post: confirm it, it goes out now"),
        ("t", "On a failed post: retry"),
        ("w", "On an unknown post: it went out (give its link)"),
        ("R", "On an unknown post: send it (when it is not out)"),
        ("x", "On a post not yet out: cancel it"),
        ("H / F / U", "Show held / failed / unknown posts"),
    )

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.query_state = QueueQuery()
        self.accounts: list[str] = []
        self.current: PostView | None = None
        self._labels: dict[str, tuple[str, str]] = {}

    @property
    def gatepost(self) -> GatepostApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield ViewsBar("queue")
        with Horizontal(id="queue-filters"):
            yield Input(
                placeholder="/ words @account state:held #id",
                id="queue-filter",
            )
            yield Static("", id="queue-filter-state")
            yield Static("", id="queue-filter-account")
            yield Static("", id="queue-sort")
            yield Static("", id="queue-count")
        yield VirtualTable(
            COLUMNS, self.render_cells, empty_message="No posts match.", id="queue-table"
        )
        yield Static("", id="queue-detail", classes="-empty")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()
        self.load_accounts()
        self.requery()
        self.watch(self.gatepost, "posts_version", self.posts_changed, init=False)

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#queue-table", VirtualTable)

    # -- data -------------------------------------------------------------------------

    def load_accounts(self) -> None:
        def read() -> None:
            accounts = services.list_accounts(self.store)
            self.app.call_from_thread(self._accounts_loaded, accounts)

        self.run_worker(read, thread=True, group="queue-accounts", exit_on_error=False)

    def _accounts_loaded(self, accounts: Sequence[Any]) -> None:
        self.accounts = [a.name for a in accounts]

    def requery(self) -> None:
        typed = self.query_one("#queue-filter", Input).value
        query = parse_filter(typed, self.query_state)
        self.table.sort_key = query.sort
        self.table.sort_descending = query.descending
        self.table.source = PostsSource(self.store, query)
        self._show_query(query)

    def posts_changed(self) -> None:
        if self.is_current:
            self.table.reload()

    def on_screen_resume(self) -> None:
        # Coming back from another view: posts may have changed meanwhile. (The first
        # resume follows the mount, whose query is already on its way.)
        if self.table.painted_generation:
            self.table.reload()

    def render_cells(self, post: PostView) -> Sequence[str | Text]:
        variables = self.app.theme_variables
        colour = variables.get("state-" + post.state.replace("_", "-"), "")
        findings = post.open_findings
        return (
            str(post.id),
            Text(post.state.replace("_", " "), style=colour),
            post.account,
            local_time(post.scheduled_at, post.timezone),
            Text(str(findings), style="bold " + variables.get("state-in-review", ""))
            if findings
            else "·",
            " ".join(post.text.split()),
        )

    # -- what the user sees besides the rows --------------------------------------------

    def _show_query(self, query: QueueQuery) -> None:
        label = dict(SORTS).get(query.sort, query.sort)
        arrow = "▼" if query.descending else "▲"
        state = (query.state or "all").replace("_", " ")
        self._set_label("#queue-filter-state", "[dim]s[/dim] state [b]$value[/b]", state)
        self._set_label(
            "#queue-filter-account", "[dim]a[/dim] account [b]$value[/b]", query.account or "all"
        )
        self._set_label("#queue-sort", "[dim]o[/dim] sort [b]$value[/b]", f"{label} {arrow}")

    def _set_label(self, selector: str, markup: str, value: str) -> None:
        """Change a label of the filter line, only when its text changes.

        The labels have fixed widths (app.tcss), so no new layout is needed: typing in
        the filter repaints the table and these labels, not the whole screen.
        """
        if self._labels.get(selector) == (markup, value):
            return
        self._labels[selector] = (markup, value)
        content = Content.from_markup(markup, value=value)
        self.query_one(selector, Static).update(content, layout=False)

    @on(VirtualTable.Loaded)
    def _loaded(self, event: VirtualTable.Loaded) -> None:
        noun = "post" if event.total == 1 else "posts"
        self._set_label("#queue-count", "$value", f"{event.total:,} {noun}")
        if event.total == 0:
            table = self.query_one("#queue-table", VirtualTable)
            unfiltered = not self.query_one("#queue-filter", Input).value and (
                self.query_state == QueueQuery()
            )
            table.empty_message = (
                "No posts yet: n writes the first one." if unfiltered else "No posts match."
            )
            self._show_detail(None)

    @on(VirtualTable.RowHighlighted)
    def _highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        # After the table's rows are drawn: the rows are what the user waits for.
        self.call_after_refresh(self._show_detail, event.row)

    @on(VirtualTable.LoadFailed)
    def _load_failed(self, event: VirtualTable.LoadFailed) -> None:
        self.gatepost.report_error(event.error, title="Could not read the queue")

    @on(VirtualTable.HeaderSelected)
    def _header(self, event: VirtualTable.HeaderSelected) -> None:
        if event.column_key not in dict(SORTS):
            return
        if self.query_state.sort == event.column_key:
            self.query_state = replace(self.query_state, descending=not self.query_state.descending)
        else:
            self.query_state = replace(self.query_state, sort=event.column_key, descending=False)
        self.requery()

    @on(VirtualTable.RowSelected)
    def _selected(self, event: VirtualTable.RowSelected) -> None:
        post: PostView = event.row
        if post.state in EDITABLE_STATES:
            self.gatepost.edit_post(post.id)
        else:
            self.notify(
                f"Post #{post.id} is {post.state.replace('_', ' ')}: it can no longer be edited.",
                title="Read only",
            )

    def _show_detail(self, post: PostView | None) -> None:
        previous = self.current
        self.current = post
        detail = self.query_one("#queue-detail", Static)
        # The footer rebuilds its keys on every refresh of the bindings, so only ask when
        # the post's state (which decides the keys offered) changes.
        if (previous.state if previous else None) != (post.state if post else None):
            self.refresh_bindings()
        detail.set_class(post is None, "-empty")
        if post is None:
            detail.update("No post selected.", layout=False)
            return
        zone = post.timezone
        lines = [
            Content.from_markup(
                "[b]#$id[/b]  [b]$state[/b]  $account  [dim]$when ($zone)  by $author[/dim]",
                id=str(post.id),
                state=post.state.replace("_", " "),
                account=post.account,
                when=local_time(post.scheduled_at, zone),
                zone=zone,
                author=post.author,
            )
        ]
        if post.state_reason:
            lines.append(Content.from_markup("[$warning]$reason[/]", reason=post.state_reason))
        if post.last_error and post.state in ("failed", "unknown"):
            lines.append(Content.from_markup("[$error]$error[/]", error=post.last_error))
        if post.remote_url and post.state in ("published", "retracted"):
            lines.append(Content.from_markup("[dim]out at[/dim] $url", url=post.remote_url))
        if post.state == "scheduled" and post.approval is not None:
            who = (
                "the gate (nothing to hold it)"
                if post.approval.automatic
                else post.approval.approver
            )
            lines.append(Content.from_markup("[dim]approved by[/dim] $who", who=who))
        lines.append(Content(post.text))
        hints = self._action_hints(post)
        if hints:
            lines.append(Content.from_markup("[dim]$hints[/dim]", hints=hints))
        detail.update(Content("\n").join(lines), layout=False)

    @staticmethod
    def _action_hints(post: PostView) -> str:
        return {
            "held": "c confirm: publish it now anyway   (it missed its time)",
            "failed": "t retry",
            "unknown": "w it went out (give the link)   R send it (only if it is not there)",
            "in_review": "waiting for an approver: 2 opens the review inbox",
        }.get(post.state, "")

    # -- keys -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        wanted = POST_ACTION_STATES.get(action)
        if wanted is None:
            return True
        # Hidden unless the highlighted post is in a state the action applies to.
        return self.current is not None and self.current.state in wanted

    def action_focus_filter(self) -> None:
        self.query_one("#queue-filter", Input).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#queue-filter", Input)
        if box.value or self.query_state != QueueQuery():
            box.value = ""
            self.query_state = QueueQuery()
            self.requery()
        self.table.focus()

    @on(Input.Changed, "#queue-filter")
    def _filter_typed(self) -> None:
        # Every keystroke asks for a new query; the table runs at most one count at a
        # time and drops stale results, so fast typing coalesces instead of queueing.
        self.requery()

    @on(Input.Submitted, "#queue-filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def on_key(self, event: Any) -> None:
        if event.key == "down" and isinstance(self.focused, Input):
            self.table.focus()
            event.stop()

    def show_post(self, post_id: int) -> None:
        """Show one post by its number (the filter becomes `#number`)."""
        self.query_state = QueueQuery()
        self.query_one("#queue-filter", Input).value = f"#{post_id}"
        self.requery()
        self.table.focus()

    def show_state(self, state: str | None) -> None:
        """Show only posts in `state` (the status bar's keys)."""
        self.query_one("#queue-filter", Input).value = ""
        self.query_state = QueueQuery(state=state)
        self.requery()
        self.table.focus()

    def action_cycle_state(self) -> None:
        index = (
            STATE_CYCLE.index(self.query_state.state)
            if self.query_state.state in STATE_CYCLE
            else 0
        )
        self.query_state = replace(
            self.query_state, state=STATE_CYCLE[(index + 1) % len(STATE_CYCLE)]
        )
        self.requery()

    def action_cycle_account(self) -> None:
        choices: list[str | None] = [None, *self.accounts]
        current = self.query_state.account
        index = choices.index(current) if current in choices else 0
        self.query_state = replace(self.query_state, account=choices[(index + 1) % len(choices)])
        self.requery()

    def action_cycle_sort(self) -> None:
        keys = [key for key, _ in SORTS]
        index = keys.index(self.query_state.sort) if self.query_state.sort in keys else 0
        self.query_state = replace(
            self.query_state, sort=keys[(index + 1) % len(keys)], descending=False
        )
        self.requery()

    def action_reverse_sort(self) -> None:
        self.query_state = replace(self.query_state, descending=not self.query_state.descending)
        self.requery()

    def action_jump(self) -> None:
        def jump(answer: str | None) -> None:
            if not answer:
                return
            number = answer.lstrip("#").strip()
            if not number.isdigit():
                self.notify(
                    f"{answer!r} is not a post number.", title="Go to post", severity="error"
                )
                return
            self.gatepost.open_post(int(number))

        self.app.push_screen(
            TextPrompt("Go to post number", placeholder="e.g. 1234", confirm_label="Go"), jump
        )

    # -- a person's decisions on posts the daemon could not finish ------------------------

    def action_confirm_held(self) -> None:
        if self.current is not None:
            self.gatepost.run_post_action("confirm", self.current.id)

    def action_retry_failed(self) -> None:
        if self.current is not None:
            self.gatepost.run_post_action("retry", self.current.id)

    def action_send_unknown(self) -> None:
        if self.current is not None:
            self.gatepost.run_post_action("resend", self.current.id)

    def action_submit(self) -> None:
        if self.current is not None:
            self.gatepost.run_post_action("submit", self.current.id)

    def action_cancel_post(self) -> None:
        post = self.current
        if post is None:
            return

        def cancel(reason: str | None) -> None:
            if reason is not None:
                self.gatepost.run_post_action("cancel", post.id, reason=reason)

        self.app.push_screen(
            TextPrompt(
                f"Cancel post #{post.id}?",
                detail="It will never be published. This cannot be undone.",
                placeholder="Why (recorded in the audit log)",
                confirm_label="Cancel the post",
            ),
            cancel,
        )

    def action_went_out(self) -> None:
        post = self.current
        if post is None:
            return

        def resolve(link: str | None) -> None:
            if link is not None:
                self.gatepost.run_post_action("resolve", post.id, link=link)

        self.app.push_screen(
            TextPrompt(
                f"Post #{post.id} went out: where is it?",
                detail="Paste its link on the platform; it is recorded as published.",
                placeholder="https://…",
                confirm_label="Mark published",
                required=True,
            ),
            resolve,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.gatepost.report_error(event.worker.error)
