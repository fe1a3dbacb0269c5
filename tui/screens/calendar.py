"""A week of one account: each post in its hour, in the account's own time zone.

Weeks start on Monday at midnight in the account's zone, so a week holding a clock
change has 167 or 169 hours, and a post is shown at the wall-clock time its readers
will see. ``[`` and ``]`` go to another week; ``<`` and ``>`` move the highlighted post
to the week before or after, at the same wall-clock time (an edit: it goes back to
draft for review).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import HorizontalGroup
from textual.coordinate import Coordinate
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Label, OptionList, Select
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from scheduler import services
from scheduler.calendar import posts_between
from scheduler.errors import GatepostError
from scheduler.lifecycle import EDITABLE
from scheduler.store import Store
from scheduler.views import AccountView, Actor, PostView
from tui.theme import STYLE_VARIABLES, state_colour_variable
from tui.widgets.statusbar import StatusBar, ViewsBar

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: Posts drawn in one cell before "+n more".
CELL_POSTS = 3

#: Characters of a day column.
DAY_WIDTH = 14


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def week_window(monday: date, tz_name: str) -> tuple[datetime, datetime]:
    """The UTC instants of Monday 00:00 and the next Monday 00:00 in ``tz_name``."""
    zone = ZoneInfo(tz_name)
    start = datetime.combine(monday, time(0, 0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0, 0), tzinfo=zone).astimezone(UTC)
    return start, end


def slot_of(post: PostView, monday: date) -> tuple[int, int] | None:
    """(hour row, day column) of a post in the week starting ``monday``, in its zone."""
    if post.scheduled_at is None:
        return None
    local = post.scheduled_at.astimezone(ZoneInfo(post.timezone))
    day = (local.date() - monday).days
    if not 0 <= day < 7:
        return None
    return local.hour, day


def state_style(state: str) -> str:
    colour = STYLE_VARIABLES.get(state_colour_variable(state), "")
    return f"bold {colour}" if colour else "bold"


@dataclass(frozen=True)
class WeekData:
    """One account's week, as loaded."""

    account: AccountView
    monday: date
    posts: tuple[PostView, ...]


class PostChooser(ModalScreen[int | None]):
    """Several posts share a slot: choose which one to open."""

    DEFAULT_CSS = """
    PostChooser {
        align: center middle;
    }
    PostChooser > OptionList {
        width: 80;
        height: auto;
        max-height: 20;
        border: thick $accent;
        background: $surface;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, posts: list[PostView]) -> None:
        super().__init__()
        self.posts = posts

    def compose(self) -> ComposeResult:
        yield OptionList(
            *(
                Option(
                    Text.assemble(
                        f"{p.scheduled_local}  #{p.id} ",
                        (p.state.value, state_style(p.state.value)),
                        f"  {p.text[:50]}",
                    )
                )
                for p in self.posts
            )
        )

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.posts[event.option_index].id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CalendarScreen(Screen[None]):
    """A week of one account's posts, hour by hour; open or move a post from here."""

    CSS_PATH = "calendar.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left_square_bracket", "week(-1)", "Previous week"),
        Binding("right_square_bracket", "week(1)", "Next week"),
        Binding("t", "this_week", "This week"),
        Binding("a", "focus_account", "Account"),
        Binding("o", "open", "Open post"),
        Binding("less_than_sign", "move(-1)", "Move post a week earlier", show=False),
        Binding("greater_than_sign", "move(1)", "Move post a week later", show=False),
    ]

    def __init__(
        self,
        store: Store,
        actor: Actor | None = None,
        *,
        account: str | None = None,
        week_of: date | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self._actor = actor
        self.account_name = account
        self.monday: date | None = week_start(week_of) if week_of else None
        self.accounts: dict[str, AccountView] = {}
        self.posts: tuple[PostView, ...] = ()
        self.cells: dict[tuple[int, int], list[PostView]] = {}

    @property
    def actor(self) -> Actor:
        """Who is looking: the one given, else the app's current person."""
        if self._actor is not None:
            return self._actor
        return self.app.actor  # type: ignore[attr-defined,no-any-return]

    def compose(self) -> ComposeResult:
        yield ViewsBar("calendar")
        with HorizontalGroup(id="calendar-head"):
            yield Select[str]((), prompt="Account", allow_blank=True, id="calendar-account")
            yield Label("", id="calendar-week")
        yield DataTable(id="calendar-grid", cursor_type="cell", zebra_stripes=False)
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        grid = self.query_one("#calendar-grid", DataTable)
        grid.focus()
        self._load_accounts()
        if hasattr(self.app, "posts_version"):
            self.watch(self.app, "posts_version", self._posts_changed, init=False)

    def on_screen_resume(self) -> None:
        if self.accounts:
            self._reload()

    def _posts_changed(self) -> None:
        if self.is_current and self.accounts:
            self._reload()

    # -- loading ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="calendar", name="accounts")
    def _load_accounts(self) -> list[AccountView]:
        return services.list_accounts(self.store)

    def _accounts_loaded(self, accounts: list[AccountView]) -> None:
        self.accounts = {a.name: a for a in accounts}
        select = self.query_one("#calendar-account", Select)
        with self.prevent(Select.Changed):
            select.set_options((f"{a.name} ({a.timezone})", a.name) for a in accounts)
        if self.account_name not in self.accounts:
            self.account_name = accounts[0].name if accounts else None
        if self.account_name is None:
            self.query_one("#calendar-week", Label).update("No accounts yet.")
            return
        with self.prevent(Select.Changed):
            select.value = self.account_name
        if self.monday is None:
            account = self.accounts[self.account_name]
            today = self.store.now().astimezone(ZoneInfo(account.timezone)).date()
            self.monday = week_start(today)
        self._reload()

    def _reload(self) -> None:
        if self.account_name is None or self.monday is None:
            return
        self._load_week(self.accounts[self.account_name], self.monday)

    @work(thread=True, exclusive=True, exit_on_error=False, group="calendar", name="week")
    def _load_week(self, account: AccountView, monday: date) -> WeekData:
        start, end = week_window(monday, account.timezone)
        posts = posts_between(self.store, start=start, end=end, account=account.name)
        return WeekData(account, monday, tuple(posts))

    def _week_loaded(self, week: WeekData) -> None:
        if week.account.name != self.account_name or week.monday != self.monday:
            return  # the user has moved on
        grid = self.query_one("#calendar-grid", DataTable)
        keep = grid.cursor_coordinate
        self.posts = week.posts
        self.cells = defaultdict(list)
        for post in week.posts:
            slot = slot_of(post, week.monday)
            if slot is not None:
                self.cells[slot].append(post)
        sunday = week.monday + timedelta(days=6)
        self.query_one("#calendar-week", Label).update(
            f"Week of {week.monday:%a %d %b} – {sunday:%a %d %b %Y} · "
            f"{week.account.timezone} · {len(week.posts)} post{'' if len(week.posts) == 1 else 's'}"
        )
        grid.clear(columns=True)
        grid.add_column("", key="hour", width=5)
        today = self.store.now().astimezone(ZoneInfo(week.account.timezone)).date()
        for offset, name in enumerate(DAYS):
            day = week.monday + timedelta(days=offset)
            label = Text(f"{name} {day:%d %b}", "bold reverse" if day == today else "")
            grid.add_column(label, key=day.isoformat(), width=DAY_WIDTH)
        for hour in range(24):
            row_posts = [self.cells.get((hour, day), []) for day in range(7)]
            height = max(1, *(min(len(p), CELL_POSTS) for p in row_posts))
            grid.add_row(
                Text(f"{hour:02d}:00", "dim"),
                *(self._cell(posts) for posts in row_posts),
                height=height,
                key=str(hour),
            )
        if keep.row == 0 and keep.column == 0 and self.posts:
            first = slot_of(self.posts[0], week.monday)
            if first is not None:
                keep = Coordinate(first[0], first[1] + 1)
        grid.cursor_coordinate = keep

    @staticmethod
    def _cell(posts: list[PostView]) -> Text:
        cell = Text(no_wrap=True, overflow="ellipsis")
        for index, post in enumerate(posts[:CELL_POSTS]):
            if index:
                cell.append("\n")
            if index == CELL_POSTS - 1 and len(posts) > CELL_POSTS:
                cell.append(f"+{len(posts) - index} more", "italic")
                break
            local = post.scheduled_at.astimezone(ZoneInfo(post.timezone))  # type: ignore[union-attr]
            cell.append(f"{local:%H:%M}", state_style(post.state.value))
            room = DAY_WIDTH - 6
            words = " ".join(post.text.split())
            cell.append(" " + (words if len(words) <= room else words[: room - 1] + "…"))
        return cell

    # -- what the user does -----------------------------------------------------------

    @on(Select.Changed, "#calendar-account")
    def _account_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.account_name:
            self.account_name = event.value
            self._reload()

    def action_focus_account(self) -> None:
        self.query_one("#calendar-account", Select).focus()

    def action_week(self, step: int) -> None:
        if self.monday is None:
            return
        self.monday += timedelta(days=7 * step)
        self._reload()

    def action_this_week(self) -> None:
        if self.account_name is None:
            return
        account = self.accounts[self.account_name]
        self.monday = week_start(self.store.now().astimezone(ZoneInfo(account.timezone)).date())
        self._reload()

    @property
    def posts_in_cell(self) -> list[PostView]:
        """The posts in the highlighted cell."""
        coordinate = self.query_one("#calendar-grid", DataTable).cursor_coordinate
        if coordinate.column == 0:
            return []
        return list(self.cells.get((coordinate.row, coordinate.column - 1), []))

    @on(DataTable.CellSelected, "#calendar-grid")
    def _cell_chosen(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        posts = self.posts_in_cell
        if not posts:
            return
        if len(posts) == 1:
            self._open(posts[0].id)
            return

        def chosen(post_id: int | None) -> None:
            if post_id is not None:
                self._open(post_id)

        self.app.push_screen(PostChooser(posts), chosen)

    def _open(self, post_id: int) -> None:
        """Open the post in the editor (the app's way when it has one)."""
        editor = getattr(self.app, "edit_post", None)
        if editor is not None:
            editor(post_id)
            return
        from tui.screens.compose import ComposeScreen

        self.app.push_screen(ComposeScreen(self.store, self.actor, post_id=post_id))

    def action_move(self, weeks: int) -> None:
        posts = [p for p in self.posts_in_cell if p.state in EDITABLE]
        if not posts:
            self.notify("No post here that can still be moved.", severity="warning")
            return
        post = posts[0]
        assert post.scheduled_at is not None
        local = post.scheduled_at.astimezone(ZoneInfo(post.timezone))
        wall = local.replace(tzinfo=None) + timedelta(days=7 * weeks)
        self._move(post, wall, local.fold)

    @work(thread=True, exclusive=True, exit_on_error=False, group="calendar-move", name="move")
    def _move(self, post: PostView, wall: datetime, fold: int) -> PostView:
        # The same wall-clock time a week away: the services convert it in the account's
        # zone and refuse a time the clock change removes.
        return services.edit_post(
            self.store, self.actor, post.id, expected_version=post.version, at=wall, fold=fold
        )

    def _moved(self, post: PostView) -> None:
        self.notify(
            f"Post #{post.id} moved to {post.scheduled_local}; it is a {post.state.value} "
            "again until it is submitted.",
            title="Moved",
        )
        changed = getattr(self.app, "posts_changed", None)
        if changed is not None:
            changed()
        if post.scheduled_at is not None:
            # Follow the post to its new week.
            local = post.scheduled_at.astimezone(ZoneInfo(post.timezone))
            self.monday = week_start(local.date())
        self._reload()

    # -- worker results and failures --------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        if event.state is WorkerState.SUCCESS:
            handler = {
                "accounts": self._accounts_loaded,
                "week": self._week_loaded,
                "move": self._moved,
            }.get(worker.name)
            if handler is not None:
                handler(worker.result)
        elif event.state is WorkerState.ERROR and worker.error is not None:
            title = "Not moved" if worker.name == "move" else "Calendar"
            report = getattr(self.app, "report_error", None)
            if report is not None:
                report(worker.error, title=title)
                return
            error = worker.error
            message = error.message if isinstance(error, GatepostError) else str(error)
            self.notify(message, title=title, severity="error", timeout=8)
