"""The asset library: every image and logo, whether it may be used, and where.

Everyone sees the library and a preview of each image; only admins see the actions
that change a permission (approve, reject, revoke). The services refuse those to
anyone else as well; hiding them here only spares people keys that cannot work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, HorizontalGroup, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from scheduler import services
from scheduler.errors import GatepostError
from scheduler.models import Permission
from scheduler.store import Store
from scheduler.views import Actor, AssetView
from tui.widgets.image_preview import ImagePreview
from tui.widgets.statusbar import StatusBar, ViewsBar

#: How each permission is drawn in lists.
PERMISSION_STYLE: dict[str, str] = {
    Permission.APPROVED.value: "bold green",
    Permission.PENDING.value: "bold yellow",
    Permission.REJECTED.value: "bold red",
    Permission.REVOKED.value: "bold red",
}


def validity_text(asset: AssetView, now: datetime) -> str:
    """The asset's validity window as a person reads it, relative to ``now``."""
    start, end = asset.valid_from, asset.valid_until
    if end is not None and end <= now:
        return f"expired {end:%Y-%m-%d}"
    if start is not None and start > now:
        return f"from {start:%Y-%m-%d}" + (f" to {end:%Y-%m-%d}" if end else "")
    if end is not None:
        return f"until {end:%Y-%m-%d}"
    return "no end date"


def usable(asset: AssetView, *, account: str = "", now: datetime) -> bool:
    """Whether the gate would let the asset go out on ``account`` at ``now``."""
    if asset.permission != Permission.APPROVED.value:
        return False
    if asset.valid_until is not None and asset.valid_until <= now:
        return False
    if asset.valid_from is not None and asset.valid_from > now:
        return False
    return not (account and asset.allowed_accounts and account not in asset.allowed_accounts)


def permission_text(asset: AssetView, *, account: str = "", now: datetime) -> str:
    """``approved``, ``pending``… plus why an approved asset still cannot be used."""
    parts = [asset.permission]
    validity = validity_text(asset, now)
    if validity.startswith(("expired", "from")):
        parts.append(validity)
    if account and asset.allowed_accounts and account not in asset.allowed_accounts:
        parts.append(f"not allowed on {account}")
    return ", ".join(parts)


def allowed_text(asset: AssetView) -> str:
    return ", ".join(asset.allowed_accounts) if asset.allowed_accounts else "any account"


def _styled_permission(asset: AssetView) -> Text:
    return Text(asset.permission, PERMISSION_STYLE.get(asset.permission, ""))


@dataclass(frozen=True)
class AssetImage:
    """An asset's bytes, loaded for the preview."""

    asset_id: int
    data: bytes


class AssetPickerScreen(ModalScreen[tuple[AssetView, str] | None]):
    """Choose an image from the library to attach, with its alt text.

    Shows each asset's permission status (for ``account``) and a preview; dismisses
    with ``(asset, alt text)`` or ``None``.
    """

    DEFAULT_CSS = """
    AssetPickerScreen {
        align: center middle;
    }
    AssetPickerScreen > Vertical {
        width: 110;
        height: 34;
        background: $surface;
        border: thick $accent;
        padding: 0 1;
    }
    AssetPickerScreen #picker-title {
        text-style: bold;
        padding-bottom: 1;
    }
    AssetPickerScreen #picker-body {
        height: 1fr;
    }
    AssetPickerScreen #picker-list {
        width: 1fr;
    }
    AssetPickerScreen #picker-preview {
        width: 44;
        padding-left: 1;
    }
    AssetPickerScreen #picker-actions {
        height: auto;
        align-horizontal: right;
    }
    AssetPickerScreen #picker-alt {
        width: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, store: Store, *, account: str = "") -> None:
        super().__init__()
        self.store = store
        self.account = account
        self.assets: list[AssetView] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            where = f" for {self.account}" if self.account else ""
            yield Label(f"Attach an image{where}", id="picker-title")
            with Horizontal(id="picker-body"):
                yield OptionList(id="picker-list")
                with Vertical(id="picker-preview"):
                    yield ImagePreview(id="picker-image", columns=40, rows=12)
                    yield Static("", id="picker-detail")
            with HorizontalGroup(id="picker-actions"):
                yield Input(placeholder="Alt text: what the image shows", id="picker-alt")
                yield Button("Attach", id="picker-attach", variant="primary")

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="asset-picker", name="list")
    def _load(self) -> list[AssetView]:
        return services.list_assets(self.store)

    @work(thread=True, exclusive=True, exit_on_error=False, group="asset-image", name="image")
    def _load_image(self, asset_id: int) -> AssetImage:
        return AssetImage(asset_id, services.asset_data(self.store, asset_id))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        if event.state is WorkerState.SUCCESS:
            if worker.name == "list":
                self._listed(worker.result)
            elif worker.name == "image":
                self.query_one("#picker-image", ImagePreview).show(worker.result.data)
        elif event.state is WorkerState.ERROR and worker.error is not None:
            _notify_error(self, worker.error, "Asset library")

    def _listed(self, assets: list[AssetView]) -> None:
        self.assets = assets
        now = self.store.now()
        listing = self.query_one("#picker-list", OptionList)
        if not assets:
            listing.set_options([Option("The library is empty.", disabled=True)])
            return
        options = []
        for asset in assets:
            line = Text(f"#{asset.id} {asset.title or asset.filename} ")
            status = permission_text(asset, account=self.account, now=now)
            style = "green" if usable(asset, account=self.account, now=now) else "yellow"
            line.append(f"[{status}]", style)
            options.append(Option(line))
        listing.set_options(options)
        listing.highlighted = 0
        listing.focus()

    @property
    def chosen(self) -> AssetView | None:
        index = self.query_one("#picker-list", OptionList).highlighted
        if index is None or not 0 <= index < len(self.assets):
            return None
        return self.assets[index]

    @on(OptionList.OptionHighlighted, "#picker-list")
    def _highlighted(self) -> None:
        asset = self.chosen
        if asset is None:
            return
        now = self.store.now()
        self.query_one("#picker-detail", Static).update(
            f"{asset.title}\nkind: {asset.kind} · owner: {asset.owner or '?'}\n"
            f"permission: {permission_text(asset, account=self.account, now=now)}\n"
            f"valid: {validity_text(asset, now)}\nallowed on: {allowed_text(asset)}"
        )
        self._load_image(asset.id)

    @on(OptionList.OptionSelected, "#picker-list")
    def _selected(self) -> None:
        self.query_one("#picker-alt", Input).focus()

    @on(Input.Submitted, "#picker-alt")
    @on(Button.Pressed, "#picker-attach")
    def _attach_chosen(self) -> None:
        asset = self.chosen
        if asset is None:
            self.notify("Choose an image first.", severity="warning")
            return
        self.dismiss((asset, self.query_one("#picker-alt", Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


class AssetsScreen(Screen[None]):
    """The library: permission, validity and allowed accounts of each asset, a preview
    of the highlighted one, and (for admins) approve, reject and revoke."""

    CSS_PATH = "assets.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "set_permission('approved')", "Approve"),
        Binding("x", "set_permission('rejected')", "Reject"),
        Binding("v", "set_permission('revoked')", "Revoke"),
        Binding("r", "reload", "Reload"),
    ]

    #: Actions only admins have.
    ADMIN_ACTIONS: ClassVar[frozenset[str]] = frozenset({"set_permission"})

    def __init__(self, store: Store, actor: Actor | None = None) -> None:
        super().__init__()
        self.store = store
        self._actor = actor
        self.assets: list[AssetView] = []

    @property
    def actor(self) -> Actor:
        """Who is looking: the one given, else the app's current person."""
        if self._actor is not None:
            return self._actor
        return self.app.actor  # type: ignore[attr-defined,no-any-return]

    def compose(self) -> ComposeResult:
        yield ViewsBar("assets")
        with Horizontal(id="assets-body"):
            yield DataTable(id="assets-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="assets-side"):
                yield ImagePreview(id="assets-image", columns=38, rows=14)
                yield Static("", id="assets-detail")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#assets-table", DataTable)
        table.add_column("#", key="id")
        table.add_column("Title", key="title")
        table.add_column("Kind", key="kind")
        table.add_column("Permission", key="permission")
        table.add_column("Validity", key="validity")
        table.add_column("Allowed on", key="allowed")
        table.focus()
        self.action_reload()
        if hasattr(self.app, "posts_version"):
            # The app bumps it on every change, a switch of person included.
            self.watch(self.app, "posts_version", self._app_changed, init=False)

    def _app_changed(self) -> None:
        if self.is_current:
            self.action_reload()

    def on_screen_resume(self) -> None:
        if self.assets:
            self.action_reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.ADMIN_ACTIONS:
            # Hidden, not greyed out: these are not the user's to take.
            return self.actor.is_admin
        return True

    # -- loading ----------------------------------------------------------------------

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="assets", name="list")
    def _load(self) -> list[AssetView]:
        return services.list_assets(self.store)

    @work(thread=True, exclusive=True, exit_on_error=False, group="asset-image", name="image")
    def _load_image(self, asset_id: int) -> AssetImage:
        return AssetImage(asset_id, services.asset_data(self.store, asset_id))

    @work(thread=True, exclusive=True, exit_on_error=False, group="asset-change", name="change")
    def _change(self, asset_id: int, permission: str, comment: str) -> AssetView:
        return services.set_asset_permission(
            self.store, self.actor, asset_id, permission, comment=comment
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        if event.state is WorkerState.SUCCESS:
            if worker.name == "list":
                self._listed(worker.result)
            elif worker.name == "image":
                current = self.current
                if current is not None and current.id == worker.result.asset_id:
                    self.query_one("#assets-image", ImagePreview).show(worker.result.data)
            elif worker.name == "change":
                asset: AssetView = worker.result
                self.notify(f"Asset #{asset.id} ({asset.title}) is now {asset.permission}.")
                self.action_reload()
        elif event.state is WorkerState.ERROR and worker.error is not None:
            title = "Permission not changed" if worker.name == "change" else "Asset library"
            _notify_error(self, worker.error, title)

    def _listed(self, assets: list[AssetView]) -> None:
        table = self.query_one("#assets-table", DataTable)
        keep = self.current.id if self.current is not None else None
        self.assets = assets
        now = self.store.now()
        table.clear()
        for asset in assets:
            table.add_row(
                str(asset.id),
                asset.title or asset.filename,
                asset.kind,
                _styled_permission(asset),
                validity_text(asset, now),
                allowed_text(asset),
                key=str(asset.id),
            )
        if keep is not None:
            for row, asset in enumerate(assets):
                if asset.id == keep:
                    table.move_cursor(row=row)
        self._show_current()

    @property
    def current(self) -> AssetView | None:
        table = self.query_one("#assets-table", DataTable)
        row = table.cursor_row
        if not self.assets or row is None or not 0 <= row < len(self.assets):
            return None
        return self.assets[row]

    @on(DataTable.RowHighlighted, "#assets-table")
    def _show_current(self) -> None:
        asset = self.current
        detail = self.query_one("#assets-detail", Static)
        if asset is None:
            detail.update("The library is empty." if not self.assets else "")
            self.query_one("#assets-image", ImagePreview).show(None)
            return
        now = self.store.now()
        lines = [
            Text(asset.title or asset.filename, "bold"),
            Text.assemble("permission: ", _styled_permission(asset)),
            Text(f"valid: {validity_text(asset, now)}"),
            Text(f"allowed on: {allowed_text(asset)}"),
            Text(f"owner: {asset.owner or '?'} · rights: {asset.rights or '?'}"),
            Text(f"licence: {asset.licence or '?'} · file: {asset.filename} ({asset.size:,} B)"),
        ]
        if asset.shows_people:
            lines.append(Text(f"shows people · consent: {asset.consent_ref or 'none recorded'}"))
        if self.actor.is_admin:
            lines.append(Text("a approve · x reject · v revoke", "dim"))
        detail.update(Text("\n").join(lines))
        self._load_image(asset.id)

    # -- admins -----------------------------------------------------------------------

    def action_set_permission(self, permission: str) -> None:
        asset = self.current
        if asset is None or not self.actor.is_admin:
            return
        if asset.permission == permission:
            self.notify(f"Asset #{asset.id} is already {permission}.", severity="warning")
            return
        if permission == Permission.APPROVED.value:
            self._change(asset.id, permission, "")
            return
        from tui.screens.prompt import TextPrompt

        verb = "Reject" if permission == Permission.REJECTED.value else "Revoke"

        def answered(comment: str | None) -> None:
            if comment:
                self._change(asset.id, permission, comment)

        self.app.push_screen(
            TextPrompt(
                f"{verb} asset #{asset.id} ({asset.title})",
                detail="Posts that use it are held back at their next check.",
                placeholder="Why (kept in the audit log)",
                confirm_label=verb,
                required=True,
            ),
            answered,
        )


def _notify_error(screen: Screen[Any], error: BaseException, title: str) -> None:
    report = getattr(screen.app, "report_error", None)
    if report is not None:
        report(error, title=title)
        return
    message = (
        error.message if isinstance(error, GatepostError) else f"{type(error).__name__}: {error}"
    )
    screen.notify(message, title=title, severity="error", timeout=8)
