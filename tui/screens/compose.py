"""Write or edit a post: live counters and findings, images, a time, previews.

Typing never waits for anything. Counting runs on every keystroke (it is cheap); the
gate runs in a thread worker a moment after the last keystroke, and its answer is
shown only if the text is still the text it checked. Loading and saving run in
workers too, and their results come back through one ``Worker.StateChanged`` handler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, HorizontalGroup, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Button, Footer, Label, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from compliance import Finding
from scheduler import services
from scheduler.draft_check import check_draft
from scheduler.errors import GatepostError, StaleEdit
from scheduler.lifecycle import EDITABLE
from scheduler.models import PostState
from scheduler.store import Store
from scheduler.views import AccountView, Actor, AssetView, Attachment, PostView
from tui.screens.assets import AssetPickerScreen, permission_text
from tui.widgets.counter import (
    CounterBar,
    CounterTarget,
    Measure,
    PlatformCounter,
    measure_for_account,
)
from tui.widgets.findings import FindingsList, FindingTextArea
from tui.widgets.preview import PlatformPreview
from tui.widgets.schedule_picker import SchedulePicker

#: How long typing must pause before the gate runs, in seconds.
CHECK_DELAY = 0.3


#: Said when there is nowhere to post yet (a new database).
NO_ACCOUNTS = (
    "There is no account to post to yet. An admin adds one on the command line, "
    "e.g. `gatepost accounts add news --platform outbox --option dir=$HOME/outbox` "
    "(README: Connecting real accounts)."
)


@dataclass(frozen=True)
class ComposeData:
    """What the screen loads before the author can write."""

    accounts: tuple[AccountView, ...]
    measures: dict[str, Measure]
    post: PostView | None
    assets: dict[int, AssetView]


@dataclass(frozen=True)
class GateAnswer:
    """The gate's findings for exactly this account and text."""

    account: str
    text: str
    attachments: tuple[Attachment, ...]
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class SaveOutcome:
    """A save: the post as saved, or the newer version that made it stale."""

    post: PostView | None
    submit: bool
    conflict: PostView | None = None
    conflict_message: str = ""


@dataclass
class AttachedImage:
    """An image attached in the editor (saved as an ``Attachment``)."""

    asset: AssetView
    alt: str = ""

    def as_attachment(self) -> Attachment:
        return Attachment(asset_id=self.asset.id, alt=self.alt)


@dataclass
class EditorContent:
    """What is in the editor, as the services take it."""

    account: str
    text: str
    at: datetime | None
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


class EditConflictScreen(ModalScreen[str]):
    """Someone saved the post while you were editing it: say so, and ask what to do.

    Dismisses with ``"overwrite"`` (save mine over theirs), ``"theirs"`` (discard mine,
    load theirs) or ``"edit"`` (keep editing, decide later).
    """

    DEFAULT_CSS = """
    EditConflictScreen {
        align: center middle;
    }
    EditConflictScreen > Vertical {
        width: 100;
        height: auto;
        max-height: 90%;
        background: $surface;
        border: thick $error;
        padding: 1 2;
    }
    EditConflictScreen #conflict-title {
        text-style: bold;
        color: $text-error;
    }
    EditConflictScreen #conflict-message {
        padding: 1 0;
    }
    EditConflictScreen .conflict-side {
        width: 1fr;
        height: auto;
        max-height: 12;
        border: round $panel-lighten-2;
        padding: 0 1;
    }
    EditConflictScreen Horizontal {
        height: auto;
    }
    EditConflictScreen #conflict-buttons {
        padding-top: 1;
        align-horizontal: right;
    }
    EditConflictScreen Button {
        margin-left: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "choose('edit')", "Keep editing"),
        Binding("o", "choose('overwrite')", "Save mine over theirs"),
        Binding("t", "choose('theirs')", "Take their version"),
    ]

    def __init__(self, mine: str, theirs: PostView, message: str) -> None:
        super().__init__()
        self.mine = mine
        self.theirs = theirs
        self.message = message

    def compose(self) -> ComposeResult:
        theirs = self.theirs
        with Vertical():
            yield Label(f"Post #{theirs.id} was changed by someone else", id="conflict-title")
            yield Static(
                f"{theirs.edited_by or theirs.author} saved version {theirs.version} "
                f"({theirs.state.value}) after you opened it. {self.message}",
                id="conflict-message",
            )
            with Horizontal():
                side = Static(self.mine, classes="conflict-side", id="conflict-mine")
                side.border_title = "Yours (not saved)"
                yield side
                side = Static(theirs.text, classes="conflict-side", id="conflict-theirs")
                side.border_title = f"Theirs (version {theirs.version})"
                yield side
            with Horizontal(id="conflict-buttons"):
                yield Button("Keep editing", id="edit")
                yield Button("Take theirs", id="theirs")
                yield Button("Save mine over theirs", id="overwrite", variant="error")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "edit")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)


class DiscardChangesScreen(ModalScreen[str]):
    """Leaving the editor with unsaved changes: save them, discard them, or stay.

    Dismisses with ``"save"``, ``"discard"`` or ``"stay"``.
    """

    DEFAULT_CSS = """
    DiscardChangesScreen {
        align: center middle;
    }
    DiscardChangesScreen > Vertical {
        width: 64;
        height: auto;
        background: $surface;
        border: thick $warning;
        padding: 1 2;
    }
    DiscardChangesScreen Horizontal {
        height: auto;
        align-horizontal: right;
        padding-top: 1;
    }
    DiscardChangesScreen Button {
        margin-left: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "choose('stay')", "Keep editing"),
        Binding("s", "choose('save')", "Save draft and close"),
        Binding("d", "choose('discard')", "Discard changes"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("This post has changes that are not saved.")
            with Horizontal():
                yield Button("Keep editing", id="stay")
                yield Button("Discard", id="discard", variant="error")
                yield Button("Save draft", id="save", variant="primary")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "stay")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)


class ComposeScreen(Screen[int | None]):
    """Write a new post or edit one: text, account, images, time; save or submit.

    ``actor`` is who is writing; without one the screen acts as the app's current
    person (``app.actor``), so an identity switch applies at once. The screen
    dismisses with the post's id after a submit (or ``None`` when closed).
    """

    CSS_PATH = "compose.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save draft", priority=True),
        Binding("ctrl+r", "submit", "Submit", priority=True),
        Binding("ctrl+o", "attach", "Attach image", priority=True),
        Binding("ctrl+l", "focus_schedule", "Schedule", priority=True),
        Binding("ctrl+g", "focus_findings", "Findings", priority=True),
        Binding("delete", "remove_image", "Remove image", show=False),
        Binding("escape", "close", "Close"),
    ]

    @dataclass
    class Saved(Message):
        """A post was saved (``submitted``: and sent to the gate)."""

        post: PostView
        submitted: bool

    def __init__(
        self,
        store: Store,
        actor: Actor | None = None,
        *,
        post_id: int | None = None,
        account: str | None = None,
        check_delay: float = CHECK_DELAY,
    ) -> None:
        super().__init__()
        self.store = store
        self._actor = actor
        self.post_id = post_id
        self.post: PostView | None = None
        self.initial_account = account
        self.check_delay = check_delay
        self.accounts: dict[str, AccountView] = {}
        self.measures: dict[str, Measure] = {}
        self.assets: dict[int, AssetView] = {}
        self.images: list[AttachedImage] = []
        self.findings: tuple[Finding, ...] = ()
        self.loaded = False
        self.dirty = False
        self._check_timer: Timer | None = None
        self._close_after_save = False

    # -- who and what -----------------------------------------------------------------

    @property
    def actor(self) -> Actor:
        """Who is writing: the one given, else the app's current person."""
        if self._actor is not None:
            return self._actor
        return self.app.actor  # type: ignore[attr-defined,no-any-return]

    @property
    def account_name(self) -> str:
        value = self.query_one("#compose-account", Select).value
        return value if isinstance(value, str) else ""

    @property
    def text(self) -> str:
        return self.query_one("#compose-text", FindingTextArea).text

    @property
    def editable(self) -> bool:
        return self.post is None or self.post.state in EDITABLE

    def content(self) -> EditorContent:
        """The editor's content, as it would be saved."""
        picker = self.query_one("#compose-schedule", SchedulePicker)
        return EditorContent(
            account=self.account_name,
            text=self.text,
            at=picker.value,
            attachments=tuple(image.as_attachment() for image in self.images),
        )

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="compose-body"):
            with VerticalScroll(id="compose-editor"):
                yield Label("Loading…", id="compose-title")
                yield Static("", id="compose-notice")
                yield Select[str]((), prompt="Account", allow_blank=True, id="compose-account")
                yield FindingTextArea(
                    "",
                    id="compose-text",
                    soft_wrap=True,
                    show_line_numbers=False,
                    placeholder="Write the post…",
                )
                yield CounterBar(id="compose-counters")
                yield Label("Images", classes="compose-section")
                yield OptionList(id="compose-images")
                yield Label("When", classes="compose-section")
                yield SchedulePicker("UTC", clock=self.store.now, id="compose-schedule")
                with HorizontalGroup(id="compose-actions"):
                    yield Button("Save draft", id="compose-save")
                    yield Button("Submit", id="compose-submit", variant="primary")
                    yield Button("Attach image", id="compose-attach")
            with Vertical(id="compose-side"):
                yield Label("What the gate finds", classes="compose-section")
                yield FindingsList(id="compose-findings")
                yield Label("How it will look", classes="compose-section")
                yield PlatformPreview(id="compose-preview")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#compose-editor").loading = True
        self._load(self.post_id)

    # -- loading ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="compose-load", name="load")
    def _load(self, post_id: int | None) -> ComposeData:
        accounts = tuple(services.list_accounts(self.store, include_inactive=False))
        post = services.get_post(self.store, post_id) if post_id is not None else None
        if post is not None and all(a.name != post.account for a in accounts):
            accounts = (*accounts, services.get_account(self.store, post.account))
        measures = {
            a.name: measure_for_account(
                name=a.name,
                platform=a.platform,
                handle=a.handle,
                api_base=a.api_base,
                options=a.options,
            )
            for a in accounts
        }
        assets = {asset.id: asset for asset in services.list_assets(self.store)}
        return ComposeData(accounts, measures, post, assets)

    def _loaded(self, data: ComposeData) -> None:
        self.accounts = {a.name: a for a in data.accounts}
        self.measures = data.measures
        self.assets = data.assets
        select = self.query_one("#compose-account", Select)
        with self.prevent(Select.Changed):
            select.set_options(
                (f"{a.name} · {a.platform} {a.handle}".rstrip(), a.name) for a in data.accounts
            )
        self.query_one("#compose-editor").loading = False
        if data.post is not None:
            self._show_post(data.post)
        else:
            chosen = self.initial_account if self.initial_account in self.accounts else None
            if chosen is None and data.accounts:
                chosen = data.accounts[0].name
            if chosen is not None:
                with self.prevent(Select.Changed):
                    select.value = chosen
            elif not data.accounts:
                self.notify(NO_ACCOUNTS, title="No accounts yet", severity="warning", timeout=12)
            self._title()
            self._show_images()
        self.loaded = True
        self._account_changed()
        self.query_one("#compose-text", FindingTextArea).focus()

    def _show_post(self, post: PostView) -> None:
        """Fill the editor with ``post`` (after loading, or taking someone's version)."""
        self.post = post
        area = self.query_one("#compose-text", FindingTextArea)
        with self.prevent(FindingTextArea.Changed):
            area.load_text(post.text)
        select = self.query_one("#compose-account", Select)
        with self.prevent(Select.Changed):
            select.value = post.account
        self.images = [
            AttachedImage(self.assets[a.asset_id], a.alt)
            for a in post.attachments
            if a.asset_id in self.assets
        ]
        picker = self.query_one("#compose-schedule", SchedulePicker)
        with self.prevent(SchedulePicker.Changed):
            picker.tz_name = post.timezone
            picker.set_value(post.scheduled_at)
        area.read_only = not self.editable
        self.dirty = False
        self._title()
        self._show_images()

    def _title(self) -> None:
        title = self.query_one("#compose-title", Label)
        notice = self.query_one("#compose-notice", Static)
        post = self.post
        if post is None:
            title.update(f"New post by {self.actor.login}")
            notice.update("")
            notice.display = False
            return
        title.update(f"Post #{post.id} · {post.state.value} · version {post.version}")
        message = ""
        if not self.editable:
            message = f"This post is {post.state.value}: it can no longer be edited."
        elif post.state is not PostState.DRAFT:
            message = (
                f"This post is {post.state.value.replace('_', ' ')}. Saving a change voids "
                "its approval and returns it to draft."
            )
        if post.state_reason:
            message = f"{message} Reason: {post.state_reason}".strip()
        notice.update(message)
        notice.display = bool(message)
        self.query_one("#compose-save", Button).disabled = not self.editable
        self.query_one("#compose-submit", Button).disabled = not self.editable

    # -- reacting to the author -------------------------------------------------------

    @on(FindingTextArea.Changed, "#compose-text")
    def _text_changed(self) -> None:
        self.dirty = True
        self.query_one("#compose-counters", CounterBar).text = self.text
        self._schedule_check()

    @on(Select.Changed, "#compose-account")
    def _account_selected(self) -> None:
        if self.loaded:
            self.dirty = True
            self._account_changed()

    @on(SchedulePicker.Changed, "#compose-schedule")
    def _time_changed(self) -> None:
        self.dirty = True
        self._schedule_check()

    def _account_changed(self) -> None:
        """New account: new counters, previews and zone, and a new check."""
        account = self.accounts.get(self.account_name)
        if account is not None:
            self.query_one("#compose-schedule", SchedulePicker).tz_name = account.timezone
        self.call_later(self._set_targets, self.counter_targets())

    def counter_targets(self) -> list[CounterTarget]:
        """The post's own account first, then one account of each other platform.

        The text goes to one account, but authors often reuse it elsewhere: seeing at
        once that it would not fit on X or Bluesky saves a rewrite later.
        """
        chosen = self.accounts.get(self.account_name)
        targets: list[CounterTarget] = []
        platforms: set[str] = set()
        if chosen is not None:
            label = chosen.handle or chosen.name
            targets.append(CounterTarget(label, chosen.platform, self.measures[chosen.name]))
            platforms.add(chosen.platform)
        for account in self.accounts.values():
            if account.platform in platforms:
                continue
            platforms.add(account.platform)
            targets.append(
                CounterTarget(account.platform, account.platform, self.measures[account.name])
            )
        return targets

    async def _set_targets(self, targets: Sequence[CounterTarget]) -> None:
        counters = self.query_one("#compose-counters", CounterBar)
        await counters.set_targets(targets)
        counters.text = self.text
        await self.query_one("#compose-preview", PlatformPreview).set_targets(targets)
        self._schedule_check()

    def _schedule_check(self) -> None:
        """Check the text once typing pauses; a keystroke before then restarts the wait."""
        if not self.loaded:
            return
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(self.check_delay, self._check_now)

    def _check_now(self) -> None:
        self._check_timer = None
        self.query_one("#compose-findings", FindingsList).show_checking()
        content = self.content()
        preview = self.query_one("#compose-preview", PlatformPreview)
        preview.images = tuple(
            f"{image.asset.title} ({image.alt or 'no alt text'})" for image in self.images
        )
        preview.text = content.text
        if not content.account:
            return
        self._run_gate(content)

    @work(thread=True, exclusive=True, exit_on_error=False, group="gate", name="gate")
    def _run_gate(self, content: EditorContent) -> GateAnswer:
        findings = check_draft(
            self.store,
            account=content.account,
            text=content.text,
            attachments=content.attachments,
            at=content.at,
        )
        return GateAnswer(content.account, content.text, content.attachments, tuple(findings))

    def _gate_answered(self, answer: GateAnswer) -> None:
        current = self.content()
        if (answer.account, answer.text, answer.attachments) != (
            current.account,
            current.text,
            current.attachments,
        ):
            return  # the author has moved on; a newer check is on its way
        self.findings = answer.findings
        self.query_one("#compose-text", FindingTextArea).mark_findings(answer.findings)
        self.query_one("#compose-findings", FindingsList).show_findings(answer.findings)
        if self.images:
            self._show_images()

    @on(FindingsList.Picked, "#compose-findings")
    def _finding_picked(self, event: FindingsList.Picked) -> None:
        if event.finding.span is not None:
            self.query_one("#compose-text", FindingTextArea).select_span(event.finding.span)

    # -- images -----------------------------------------------------------------------

    def _show_images(self) -> None:
        listing = self.query_one("#compose-images", OptionList)
        if not self.images:
            listing.set_options([Option("No images (ctrl+o attaches one)", disabled=True)])
            return
        now = self.store.now()
        options = []
        for index, image in enumerate(self.images):
            line = Text(
                f"▣ {image.asset.title or image.asset.filename} — "
                f"{permission_text(image.asset, account=self.account_name, now=now)}"
                f" · alt: {image.alt or '(none)'}"
            )
            found = [
                f
                for f in self.findings
                if f.image_index == index or f.asset_id == str(image.asset.id)
            ]
            if found:
                noun = "finding" if len(found) == 1 else "findings"
                line.append(f"  ⚠ {len(found)} {noun}", "bold yellow")
            options.append(Option(line))
        listing.set_options(options)

    def action_attach(self) -> None:
        if not self.editable:
            return

        def attach(choice: tuple[AssetView, str] | None) -> None:
            if choice is None:
                return
            asset, alt = choice
            self.assets[asset.id] = asset
            self.images.append(AttachedImage(asset, alt))
            self.dirty = True
            self._show_images()
            self._schedule_check()

        self.app.push_screen(AssetPickerScreen(self.store, account=self.account_name), attach)

    def action_remove_image(self) -> None:
        listing = self.query_one("#compose-images", OptionList)
        if not listing.has_focus or not self.images or listing.highlighted is None:
            return
        del self.images[listing.highlighted]
        self.dirty = True
        self._show_images()
        self._schedule_check()

    # -- saving -----------------------------------------------------------------------

    def action_save(self) -> None:
        self._start_save(submit=False)

    def action_submit(self) -> None:
        self._start_save(submit=True)

    def _start_save(self, *, submit: bool, force_version: int | None = None) -> None:
        if not self.loaded or not self.editable:
            return
        picker = self.query_one("#compose-schedule", SchedulePicker)
        if picker.problem is not None:
            self.notify(picker.problem, title="Fix the time first", severity="error")
            picker.query_one("#schedule-date").focus()
            return
        content = self.content()
        if not content.account:
            if not self.accounts:
                self.notify(NO_ACCOUNTS, title="No accounts yet", severity="error", timeout=12)
            else:
                self.notify("Choose the account to post to.", title="No account", severity="error")
            return
        counters = self.query_one("#compose-counters", CounterBar)
        if submit and counters.first_over:
            first = counters.query(PlatformCounter).first()
            assert first.measure is not None
            self.notify(
                f"{first.target.label} takes {first.measure.limit} {first.measure.unit}; this "
                f"text is {first.measure.used}. Shorten it before submitting.",
                title="Too long",
                severity="error",
            )
            return
        if submit and content.at is None:
            self.notify(
                "Give the post a date and time before submitting it.",
                title="Not scheduled",
                severity="error",
            )
            picker.query_one("#schedule-date").focus()
            return
        self._save(content, submit, force_version)

    @work(thread=True, exclusive=True, exit_on_error=False, group="compose-save", name="save")
    def _save(self, content: EditorContent, submit: bool, force_version: int | None) -> SaveOutcome:
        actor = self.actor
        post = self.post
        try:
            if post is None:
                saved = services.create_post(
                    self.store,
                    actor,
                    account=content.account,
                    text=content.text,
                    at=content.at,
                    attachments=content.attachments,
                )
            else:
                saved = services.edit_post(
                    self.store,
                    actor,
                    post.id,
                    expected_version=force_version or post.version,
                    text=content.text,
                    at=content.at,
                    attachments=content.attachments,
                    account=content.account,
                )
        except StaleEdit as exc:
            assert post is not None
            latest = services.get_post(self.store, post.id)
            return SaveOutcome(None, submit, conflict=latest, conflict_message=exc.message)
        return SaveOutcome(saved, submit)

    def _saved(self, outcome: SaveOutcome) -> None:
        if outcome.conflict is not None:
            self._show_conflict(outcome)
            return
        post = outcome.post
        assert post is not None
        self.post = post
        self.post_id = post.id
        self.dirty = False
        self._title()
        self.post_message(self.Saved(post, submitted=False))
        _posts_changed(self)
        if outcome.submit:
            self._submit(post)
        else:
            self.notify(f"Post #{post.id} saved as a draft (version {post.version}).")
            if self._close_after_save:
                self._close(post.id)
        self._close_after_save = False

    def _show_conflict(self, outcome: SaveOutcome) -> None:
        theirs = outcome.conflict
        assert theirs is not None
        mine = self.text

        def decided(choice: str | None) -> None:
            if choice == "overwrite":
                self._start_save(submit=outcome.submit, force_version=theirs.version)
            elif choice == "theirs":
                self._show_post(theirs)
                self._schedule_check()

        self.app.push_screen(EditConflictScreen(mine, theirs, outcome.conflict_message), decided)

    @work(thread=True, exclusive=True, exit_on_error=False, group="compose-save", name="submit")
    def _submit(self, post: PostView) -> PostView:
        return services.submit_post(self.store, self.actor, post.id, expected_version=post.version)

    def _submitted(self, post: PostView) -> None:
        self.post = post
        self._title()
        holding = post.open_findings
        if post.state is PostState.SCHEDULED:
            what = f"scheduled for {post.scheduled_local}"
        elif holding:
            noun = "finding needs" if holding == 1 else "findings need"
            what = f"in review: {holding} {noun} an approver's sign-off"
        else:
            what = "in review: its account has every post approved by a person"
        self.notify(f"Post #{post.id} is {what}.", title="Submitted")
        self.post_message(self.Saved(post, submitted=True))
        _posts_changed(self)
        self._close(post.id)

    # -- leaving ----------------------------------------------------------------------

    def action_close(self) -> None:
        result = self.post.id if self.post is not None else None
        if not self.dirty or not self.editable:
            self._close(result)
            return

        def decided(choice: str | None) -> None:
            if choice == "discard":
                self._close(result)
            elif choice == "save":
                self._close_after_save = True
                self.action_save()

        self.app.push_screen(DiscardChangesScreen(), decided)

    def _close(self, result: int | None) -> None:
        if len(self.app.screen_stack) > 1 and self.app.screen is self:
            self.dismiss(result)

    def action_focus_schedule(self) -> None:
        self.query_one("#compose-schedule #schedule-date").focus()

    def action_focus_findings(self) -> None:
        self.query_one("#compose-findings #findings-options").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("save", "submit", "attach"):
            return self.editable
        return True

    @on(Button.Pressed, "#compose-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#compose-submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#compose-attach")
    def _attach_pressed(self) -> None:
        self.action_attach()

    # -- worker results and failures --------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        if event.state is WorkerState.SUCCESS:
            handler = {
                "load": self._loaded,
                "gate": self._gate_answered,
                "save": self._saved,
                "submit": self._submitted,
            }.get(worker.name)
            if handler is not None:
                handler(worker.result)
        elif event.state is WorkerState.ERROR and worker.error is not None:
            if worker.name == "gate":
                self.query_one("#compose-findings", FindingsList).show_error(_reason(worker.error))
                return
            if worker.name == "load":
                self.query_one("#compose-editor").loading = False
            title = {
                "load": "Cannot open the post",
                "save": "Not saved",
                "submit": "Not submitted",
            }.get(worker.name, "Error")
            _report(self, worker.error, title)


def _reason(error: BaseException) -> str:
    return error.message if isinstance(error, GatepostError) else f"{type(error).__name__}: {error}"


def _report(screen: Screen[Any], error: BaseException, title: str) -> None:
    """Show an error as a notification with its reason (the app's way when it has one)."""
    report = getattr(screen.app, "report_error", None)
    if report is not None:
        report(error, title=title)
        return
    screen.notify(_reason(error), title=title, severity="error", timeout=8)


def _posts_changed(screen: Screen[Any]) -> None:
    """Tell the app posts changed, so lists showing them reload."""
    changed = getattr(screen.app, "posts_changed", None)
    if changed is not None:
        changed()
