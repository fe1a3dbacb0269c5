"""The accounts Gatepost posts to: platform, connection, limits and time zone.

Connection status comes from two places: whether the credential store holds the
account's credentials, and whether the daemon last failed a post because the platform
no longer accepted them (it then fails the post with "reconnect account ..."). A
platform is never called from here just to test a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from connectors import ConnectorError
from connectors.credentials import CredentialStore
from scheduler import services
from scheduler.errors import GatepostError
from scheduler.models import PostState
from scheduler.store import Store
from scheduler.views import AccountView, Actor, PostView
from tui.widgets.counter import measure_for_account
from tui.widgets.statusbar import StatusBar, ViewsBar

#: What the daemon writes on a post failed for expired credentials.
RECONNECT_PREFIX = "reconnect account"


@dataclass(frozen=True)
class Connection:
    """How an account stands with its platform, for a person."""

    status: str  # "local", "connected", "needs reconnecting", "not connected", "unknown"
    detail: str

    @property
    def ok(self) -> bool:
        return self.status in ("local", "connected")


@dataclass(frozen=True)
class AccountRow:
    """One account and what the screen shows about it."""

    account: AccountView
    connection: Connection
    text_limit: str
    last_published: PostView | None


def connection_of(
    account: AccountView,
    credentials: dict[str, str] | None,
    store_problem: str | None,
    auth_failure: PostView | None,
) -> Connection:
    """Work out the account's connection status from what is known locally."""
    if account.platform == "outbox":
        folder = str(account.options.get("dir", "")).strip()
        if not folder:
            return Connection("not connected", "no folder set: give the account a 'dir' option")
        return Connection("local", f"writes to {folder}; no token needed")
    if auth_failure is not None:
        return Connection(
            "needs reconnecting",
            f"post #{auth_failure.id} failed: {auth_failure.last_error}; run "
            f"`gatepost accounts connect {account.name}`",
        )
    if store_problem is not None:
        return Connection("unknown", f"credentials cannot be read: {store_problem}")
    if not credentials:
        return Connection(
            "not connected",
            f"no credentials stored; run `gatepost accounts connect {account.name}`",
        )
    refresh = " (refreshes its own token)" if credentials.get("refresh_token") else ""
    return Connection("connected", f"token valid as far as Gatepost knows{refresh}")


CONNECTION_STYLE = {
    "local": "green",
    "connected": "bold green",
    "needs reconnecting": "bold red",
    "not connected": "yellow",
    "unknown": "yellow",
}


def limits_text(account: AccountView) -> str:
    parts = []
    if account.max_per_hour:
        parts.append(f"{account.max_per_hour}/hour")
    if account.max_per_day:
        parts.append(f"{account.max_per_day}/day")
    return ", ".join(parts) if parts else "no limit"


class AccountsScreen(Screen[None]):
    """Every account with its platform, connection status, limits and time zone."""

    CSS_PATH = "accounts.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "reload", "Reload")]

    def __init__(
        self,
        store: Store,
        actor: Actor | None = None,
        *,
        credentials: CredentialStore | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self._actor = actor
        self._credentials = credentials
        self.rows: list[AccountRow] = []

    @property
    def actor(self) -> Actor:
        """Who is looking: the one given, else the app's current person."""
        if self._actor is not None:
            return self._actor
        return self.app.actor  # type: ignore[attr-defined,no-any-return]

    def compose(self) -> ComposeResult:
        yield ViewsBar("accounts")
        yield DataTable(id="accounts-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="accounts-detail")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#accounts-table", DataTable)
        for label, key in (
            ("Account", "name"),
            ("Platform", "platform"),
            ("Handle", "handle"),
            ("Connection", "connection"),
            ("Text limit", "text"),
            ("Posting limits", "limits"),
            ("Time zone", "timezone"),
        ):
            table.add_column(label, key=key)
        table.focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        if self.rows:
            self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="accounts", name="accounts")
    def _load(self) -> list[AccountRow]:
        store_problem: str | None = None
        credentials = self._credentials
        if credentials is None:
            try:
                credentials = CredentialStore()
            except ConnectorError as exc:
                store_problem = exc.message
        rows = []
        for account in services.list_accounts(self.store):
            stored: dict[str, str] | None = None
            if credentials is not None and account.platform != "outbox":
                try:
                    stored = credentials.get(account.name)
                except ConnectorError as exc:
                    store_problem = exc.message
            failed = services.list_posts(
                self.store,
                states=[PostState.FAILED],
                account=account.id,
                order_by="updated_at",
                descending=True,
                limit=20,
            )
            auth_failure = next(
                (p for p in failed if p.last_error.startswith(RECONNECT_PREFIX)), None
            )
            published = services.list_posts(
                self.store,
                states=[PostState.PUBLISHED],
                account=account.id,
                order_by="updated_at",
                descending=True,
                limit=1,
            )
            measure = measure_for_account(
                name=account.name,
                platform=account.platform,
                handle=account.handle,
                api_base=account.api_base,
                options=account.options,
                credentials=stored,
            )("")
            rows.append(
                AccountRow(
                    account=account,
                    connection=connection_of(account, stored, store_problem, auth_failure),
                    text_limit=f"{measure.limit} {measure.unit}",
                    last_published=published[0] if published else None,
                )
            )
        return rows

    def _loaded(self, rows: list[AccountRow]) -> None:
        self.rows = rows
        table = self.query_one("#accounts-table", DataTable)
        keep = table.cursor_row
        table.clear()
        for row in rows:
            account = row.account
            name = Text(account.name, "" if account.active else "dim strike")
            table.add_row(
                name,
                account.platform,
                account.handle,
                Text(row.connection.status, CONNECTION_STYLE.get(row.connection.status, "")),
                row.text_limit,
                limits_text(account),
                account.timezone,
                key=account.name,
            )
        if rows:
            table.move_cursor(row=min(keep or 0, len(rows) - 1))
        self._show_detail()

    @property
    def current(self) -> AccountRow | None:
        row = self.query_one("#accounts-table", DataTable).cursor_row
        if not self.rows or row is None or not 0 <= row < len(self.rows):
            return None
        return self.rows[row]

    @on(DataTable.RowHighlighted, "#accounts-table")
    def _show_detail(self) -> None:
        detail = self.query_one("#accounts-detail", Static)
        current = self.current
        if current is None:
            detail.update("No accounts yet: an admin adds them with `gatepost accounts add`.")
            return
        account = current.account
        connection = current.connection
        text = Text()
        text.append(f"{account.name}", "bold")
        text.append(f" · {account.platform} {account.handle} · {account.kind} account")
        if not account.active:
            text.append(" · inactive", "bold yellow")
        text.append("\nconnection: ")
        text.append(connection.status, CONNECTION_STYLE.get(connection.status, ""))
        text.append(f" — {connection.detail}")
        last = current.last_published
        if last is not None and last.published_at is not None:
            when = f"{last.published_at:%Y-%m-%d %H:%M} UTC"
            text.append(f"\nlast published: post #{last.id} at {when}")
        text.append(
            f"\ntime zone: {account.timezone} · posts more than {account.grace_minutes} min "
            "late are held for a person"
        )
        text.append(
            "\nevery post needs an approver"
            if account.require_approval
            else "\nposts the gate passes go out without an approver"
        )
        detail.update(text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        if event.state is WorkerState.SUCCESS and worker.name == "accounts":
            self._loaded(worker.result)
        elif event.state is WorkerState.ERROR and worker.error is not None:
            report = getattr(self.app, "report_error", None)
            if report is not None:
                report(worker.error, title="Accounts")
                return
            error = worker.error
            message = error.message if isinstance(error, GatepostError) else str(error)
            self.notify(message, title="Accounts", severity="error", timeout=8)
