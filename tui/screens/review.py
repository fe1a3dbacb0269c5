"""The review inbox: posts waiting for sign-off, oldest first, one finding at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, ListItem, ListView, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from scheduler import services
from scheduler.views import Actor, FindingView, PostView
from tui.screens.prompt import TextPrompt
from tui.widgets.image_preview import ImagePreview
from tui.widgets.statusbar import StatusBar, ViewsBar

if TYPE_CHECKING:
    from scheduler.store import Store
    from tui.app import GatepostApp

SEVERITY_STYLE = {"block": "$error", "review": "$warning", "info": "$text-muted"}


def highlighted_text(text: str, findings: Sequence[FindingView], current: int | None) -> Content:
    """The post's text with every finding's span marked, the current one strongest."""
    content = Content(text)
    spans: list[tuple[int, int, str]] = []
    for finding in findings:
        if finding.span is None:
            continue
        start, end = max(0, finding.span[0]), min(len(text), finding.span[1])
        if end <= start:
            continue
        colour = SEVERITY_STYLE.get(finding.severity, "$warning")
        style = f"underline {colour}"
        if finding.id == current:
            style = f"bold reverse {colour}"
        elif finding.signed_off:
            style = "underline $success"
        spans.append((start, end, style))
    for start, end, style in spans:
        content = content.stylize(style, start, end)
    return content


def describe_finding(finding: FindingView, asset_titles: dict[int, str]) -> Content:
    """One finding as the inbox lists it: state, severity, message, clause, sign-off."""
    colour = SEVERITY_STYLE.get(finding.severity, "$warning")
    if finding.signed_off:
        mark = Content.from_markup("[$success]✓ signed off[/]")
    elif finding.severity == "block":
        mark = Content.from_markup("[$error]✗ blocks[/]")
    elif finding.severity == "info":
        mark = Content.from_markup("[dim]i note[/dim]")
    else:
        mark = Content.from_markup("[$warning]• to sign off[/]")
    where = ""
    if finding.asset_id is not None:
        where = f"image: {asset_titles.get(finding.asset_id, f'asset {finding.asset_id}')}"
    lines = [
        Content.assemble(
            mark,
            "  ",
            (finding.severity.upper(), f"bold {colour}"),
            "  ",
            (finding.rule, "dim"),
        ),
        Content.assemble("  ", finding.message, (f"  ({where})" if where else "", "dim")),
    ]
    if finding.clause:
        lines.append(Content.assemble(("  Guidance: ", "dim"), (finding.clause, "italic")))
    if finding.signed_off:
        comment = f": “{finding.sign_off_comment}”" if finding.sign_off_comment else ""
        lines.append(
            Content.assemble(("  signed off by ", "dim"), f"{finding.signed_off_by}{comment}")
        )
    return Content("\n").join(lines)


class ReviewScreen(Screen[None]):
    """Approvers read each finding, sign it off with a comment, then approve or send back.

    Authors see the inbox read-only; nobody sees approve actions on their own posts.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,o", "sign_off", "Sign off finding"),
        Binding("a", "approve", "Approve"),
        Binding("b", "send_back", "Send back"),
        Binding("right,l", "focus_findings", "Findings", show=False),
        Binding("left,h", "focus_posts", "Posts", show=False),
    ]

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.posts: list[PostView] = []
        self.post: PostView | None = None
        self.asset_titles: dict[int, str] = {}
        self._want_post_id: int | None = None
        self._refilling = asyncio.Lock()  # one inbox refill at a time

    @property
    def gatepost(self) -> GatepostApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield ViewsBar("review")
        with Horizontal():
            yield ListView(id="review-list")
            with Vertical(id="review-main"):
                yield Static("", id="review-heading")
                yield Static("", id="review-text")
                yield ImagePreview(id="review-image", columns=48, rows=10)
                yield OptionList(id="review-findings")
                yield Static("", id="review-verdict")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#review-list", ListView).focus()
        self.watch(self.gatepost, "posts_version", self._posts_changed, init=False)

    def on_screen_resume(self) -> None:
        # On first showing too: a screen is resumed right after it is mounted.
        self.load_inbox()

    def _posts_changed(self) -> None:
        if self.is_current:
            self.load_inbox()

    # -- who may do what --------------------------------------------------------------

    @property
    def may_decide(self) -> bool:
        """Whether the acting person may sign off and approve the post shown."""
        actor = self.gatepost.actor
        if self.post is None or not actor.can_approve:
            return False
        # Separation of duties: nobody reviews their own post.
        return self.post.author != actor.login

    @property
    def all_signed_off(self) -> bool:
        return self.post is not None and not any(f.holds_post for f in self.post.findings)

    @property
    def current_finding(self) -> FindingView | None:
        if self.post is None:
            return None
        index = self.query_one("#review-findings", OptionList).highlighted
        findings = self.post.findings
        if index is None or not 0 <= index < len(findings):
            return None
        return findings[index]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("approve", "send_back", "sign_off"):
            if not self.may_decide:
                return False  # hidden: not yours to decide
            if action == "approve":
                return True if self.all_signed_off else None  # shown, greyed out
            if action == "sign_off":
                finding = self.current_finding
                return (
                    finding is not None and not finding.signed_off and (finding.severity != "block")
                )
        return True

    # -- loading ----------------------------------------------------------------------

    def load_inbox(self) -> None:
        actor = self.gatepost.actor

        def read() -> None:
            if actor.can_approve:
                posts = services.review_inbox(self.store, actor)
            else:
                # Authors follow their own posts through review, read-only.
                posts = services.list_posts(
                    self.store,
                    states=["in_review"],
                    author=actor.login,
                    order_by="updated_at",
                )
            self.app.call_from_thread(self._inbox_loaded, posts)

        self.run_worker(
            read, thread=True, group="review-inbox", exclusive=True, exit_on_error=False
        )

    async def _inbox_loaded(self, posts: Sequence[PostView]) -> None:
        async with self._refilling:
            await self._refill(posts)

    async def _refill(self, posts: Sequence[PostView]) -> None:
        keep = self._want_post_id or (self.post.id if self.post is not None else None)
        self.posts = list(posts)
        listing = self.query_one("#review-list", ListView)
        # Wait for the old rows to go before the new ones come: an index set while both
        # are in the list points at the wrong post once the old ones are pruned.
        await listing.clear()
        await listing.extend(
            ListItem(Static(self._list_label(post)), name=str(post.id)) for post in self.posts
        )
        if not self.posts:
            self.post = None
            self._show_post(None)
            return
        ids = [p.id for p in self.posts]
        index = ids.index(keep) if keep in ids else 0
        listing.index = index
        self.load_post(self.posts[index].id)

    def _list_label(self, post: PostView) -> Content:
        first_line = " ".join(post.text.split())[:80]
        return Content.from_markup(
            "[b]#$id[/b] $account [dim]$findings[/dim]\n[dim]$text[/dim]",
            id=str(post.id),
            account=post.account,
            findings=f"{post.open_findings} to sign off" if post.open_findings else "",
            text=first_line,
        )

    def load_post(self, post_id: int) -> None:
        self._want_post_id = post_id

        def read() -> None:
            post = services.get_post(self.store, post_id)
            titles = {a.asset_id: a.title for a in post.attachments}
            self.app.call_from_thread(self._post_loaded, post, titles)

        self.run_worker(read, thread=True, group="review-post", exclusive=True, exit_on_error=False)

    def _post_loaded(self, post: PostView, titles: dict[int, str]) -> None:
        if post.id != self._want_post_id:
            return
        self._want_post_id = None
        self.asset_titles = titles
        self._show_post(post)

    # -- showing ----------------------------------------------------------------------

    def _show_post(self, post: PostView | None) -> None:
        previous = self.current_finding
        self.post = post
        heading = self.query_one("#review-heading", Static)
        findings = self.query_one("#review-findings", OptionList)
        findings.clear_options()
        if post is None:
            heading.update(
                "Nothing waits for review."
                if self.gatepost.actor.can_approve
                else "No posts wait for review."
            )
            self.query_one("#review-text", Static).update("")
            self.query_one("#review-image", ImagePreview).display = False
            self.query_one("#review-verdict", Static).update("")
            self.refresh_bindings()
            return
        heading.update(
            Content.from_markup(
                "#$id on [b]$account[/b] ($platform) by $author · for $when",
                id=str(post.id),
                account=post.account,
                platform=post.platform,
                author=post.author,
                when=post.scheduled_local,
            )
        )
        findings.add_options(
            Option(describe_finding(f, self.asset_titles), id=str(f.id)) for f in post.findings
        )
        if not post.findings:
            findings.add_option(
                Option("The gate found nothing to hold this post.", id="none", disabled=True)
            )
        if post.findings:
            findings.highlighted = self._next_to_sign(post.findings, previous)
        self._show_text()
        self._show_image()
        self._show_verdict()
        self.refresh_bindings()

    @staticmethod
    def _next_to_sign(findings: Sequence[FindingView], previous: FindingView | None) -> int:
        """Which finding to highlight: the one the approver was on, unless it is now
        signed off; then the next one still waiting, so space signs off the next one
        instead of doing nothing."""
        ids = [f.id for f in findings]
        start = ids.index(previous.id) if previous is not None and previous.id in ids else 0
        order = list(range(start, len(findings))) + list(range(start))
        waiting = [
            i for i in order if findings[i].severity == "review" and not findings[i].signed_off
        ]
        if previous is not None and previous.id in ids and not findings[start].signed_off:
            return start  # still on it (or it cannot be signed off): stay put
        return waiting[0] if waiting else start

    def _show_text(self) -> None:
        if self.post is None:
            return
        current = self.current_finding
        self.query_one("#review-text", Static).update(
            highlighted_text(
                self.post.text, self.post.findings, current.id if current is not None else None
            )
        )

    def _show_verdict(self) -> None:
        verdict = self.query_one("#review-verdict", Static)
        post = self.post
        if post is None:
            return
        actor = self.gatepost.actor
        blocking = [f for f in post.findings if f.severity == "block"]
        waiting = [f for f in post.findings if f.holds_post and f.severity != "block"]
        ready = not blocking and not waiting
        verdict.set_class(ready, "-ready")
        verdict.set_class(not ready, "-blocked")
        if actor.login in (post.author, post.edited_by):
            verdict.update("You wrote this post: another approver reviews it.")
        elif not actor.can_approve:
            verdict.update("Waiting for an approver; only approvers sign off and approve.")
        elif blocking:
            verdict.update(
                f"{len(blocking)} finding(s) block this post: send it back (b) for changes."
            )
        elif waiting:
            verdict.update(
                f"{len(waiting)} finding(s) still to sign off (space) before it can be approved."
            )
        elif not post.findings:
            verdict.update(
                "No findings; this account needs approval for every post: "
                "a approves, b sends it back."
            )
        else:
            verdict.update("Every finding is signed off: a approves, b sends it back.")

    @on(ListView.Highlighted, "#review-list")
    def _post_highlighted(self, event: ListView.Highlighted) -> None:
        if event.item is not event.list_view.highlighted_child:
            return  # a highlight the list has since moved on from (a reload re-sets it)
        if event.item is not None and event.item.name is not None:
            post_id = int(event.item.name)
            if self.post is None or self.post.id != post_id:
                self.load_post(post_id)

    @on(ListView.Selected, "#review-list")
    def _post_selected(self) -> None:
        self.action_focus_findings()

    @on(OptionList.OptionHighlighted, "#review-findings")
    def _finding_highlighted(self) -> None:
        self._show_text()
        self._show_image()
        self.refresh_bindings()

    def _finding_asset(self, finding: FindingView | None) -> int | None:
        """The library asset a finding is about, if it is about an image."""
        if finding is None or self.post is None:
            return None
        if finding.asset_id is not None:
            return finding.asset_id
        attachments = self.post.attachments
        if finding.image_index is not None and 0 <= finding.image_index < len(attachments):
            return attachments[finding.image_index].asset_id
        return None

    def _show_image(self) -> None:
        """Show the image the highlighted finding concerns (hidden for text findings)."""
        preview = self.query_one("#review-image", ImagePreview)
        asset_id = self._finding_asset(self.current_finding)
        preview.display = asset_id is not None
        if asset_id is None:
            return

        def read() -> None:
            data = services.asset_data(self.store, asset_id)
            self.app.call_from_thread(preview.show, data)

        self.run_worker(
            read, thread=True, group="review-image", exclusive=True, exit_on_error=False
        )

    @on(OptionList.OptionSelected, "#review-findings")
    def _finding_selected(self) -> None:
        if self.check_action("sign_off", ()) is True:
            self.action_sign_off()

    def action_focus_findings(self) -> None:
        self.query_one("#review-findings", OptionList).focus()

    def action_focus_posts(self) -> None:
        self.query_one("#review-list", ListView).focus()

    # -- decisions ----------------------------------------------------------------------

    def action_sign_off(self) -> None:
        finding = self.current_finding
        post = self.post
        if finding is None or post is None:
            return

        def sign(comment: str | None) -> None:
            if comment is None:
                return
            self._decide(
                lambda actor: services.sign_off_finding(
                    self.store, actor, post.id, finding.id, comment=comment
                ),
                f"Finding signed off on post #{post.id}.",
            )

        self.app.push_screen(
            TextPrompt(
                "Sign off this finding",
                detail=finding.message,
                placeholder="Why it is fine (recorded with your name)",
                confirm_label="Sign off",
                required=True,
            ),
            sign,
        )

    def action_approve(self) -> None:
        post = self.post
        if post is None or not self.all_signed_off:
            return
        version = post.version

        def approve(comment: str | None) -> None:
            if comment is None:
                return
            self._decide(
                lambda actor: services.approve_post(
                    self.store, actor, post.id, comment=comment, expected_version=version
                ),
                f"Post #{post.id} approved: it is scheduled for {post.scheduled_local}.",
            )

        self.app.push_screen(
            TextPrompt(
                f"Approve post #{post.id}?",
                detail="It will be published as it stands; any edit voids this approval.",
                placeholder="Comment (optional)",
                confirm_label="Approve",
            ),
            approve,
        )

    def action_send_back(self) -> None:
        post = self.post
        if post is None:
            return

        def send_back(comment: str | None) -> None:
            if comment is None:
                return
            self._decide(
                lambda actor: services.reject_post(
                    self.store, actor, post.id, comment=comment, expected_version=post.version
                ),
                f"Post #{post.id} sent back to {post.author}.",
            )

        self.app.push_screen(
            TextPrompt(
                f"Send post #{post.id} back to {post.author}",
                detail="It returns to draft with your comment.",
                placeholder="What needs to change",
                confirm_label="Send back",
                required=True,
            ),
            send_back,
        )

    def _decide(self, call: Callable[[Actor], object], done: str) -> None:
        actor = self.gatepost.actor

        def work() -> None:
            call(actor)
            self.app.call_from_thread(self._decided, done)

        self.run_worker(work, thread=True, group="review-decide", exit_on_error=False)

    def _decided(self, done: str) -> None:
        self.notify(done, title="Review")
        self.gatepost.posts_changed()
        self.load_inbox()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.gatepost.report_error(event.worker.error)
