"""The Gatepost terminal app: the views, who is acting, and the daemon's heartbeat.

`GatepostApp` gets everything it needs through its constructor (the store, the acting
person, whether this is the demo, and optionally a daemon to run in its threads); the
composition root that builds them is `tui/cli.py`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar, Protocol

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen, SystemModalScreen
from textual.worker import Worker, WorkerState

from scheduler import services
from scheduler.daemon import daemon_statuses
from scheduler.errors import GatepostError
from scheduler.store import Store
from scheduler.views import Actor, UserView
from tui.bridge import DaemonBridge
from tui.hangup import HangupWatch
from tui.messages import DaemonHeartbeat, DaemonReported
from tui.screens.accounts import AccountsScreen
from tui.screens.assets import AssetsScreen
from tui.screens.audit import AuditScreen
from tui.screens.calendar import CalendarScreen
from tui.screens.compose import ComposeScreen
from tui.screens.help import HelpScreen, describe_keys
from tui.screens.queue import QueueScreen
from tui.screens.review import ReviewScreen
from tui.theme import STYLE_VARIABLES
from tui.widgets.statusbar import StatusSnapshot

log = logging.getLogger(__name__)

# App actions that only work on a main view, not over the editor or a dialog.
MAIN_VIEW_ONLY = frozenset({"switch_identity", "new_post", "show_view", "show_state"})

# Daemon events worth a toast, and how loud.
DAEMON_NEWS: dict[str, SeverityLevel] = {
    "published": "information",
    "failed": "error",
    "unknown": "warning",
    "held": "warning",
    "in_review": "warning",
    "error": "error",
}


class RunsInThread(Protocol):
    """What the app needs of a daemon it hosts: start and stop, from a worker thread."""

    def start(self) -> Any: ...

    def stop(self) -> Any: ...

    def wake(self) -> Any: ...


#: Builds the daemon the app hosts, given the callback its events should go to.
DaemonFactory = Callable[[Callable[[Any], None]], RunsInThread]

# The views, in the order of their keys: (mode, key, label, screen class). Each screen
# takes the store; it acts as the app's current person (`app.actor`).
VIEWS: tuple[tuple[str, str, str, Callable[[Store], Screen[Any]]], ...] = (
    ("queue", "1", "Queue", QueueScreen),
    ("review", "2", "Review", ReviewScreen),
    ("calendar", "3", "Calendar", CalendarScreen),
    ("assets", "4", "Assets", AssetsScreen),
    ("accounts", "5", "Accounts", AccountsScreen),
    ("audit", "6", "Audit", AuditScreen),
)


class GatepostApp(App[None]):
    """Queue, review inbox and the other views, over one store, as one person."""

    CSS_PATH = "app.tcss"
    TITLE = "Gatepost"
    DEFAULT_MODE = "queue"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_view('queue')", "Queue", show=False),
        Binding("2", "show_view('review')", "Review", show=False),
        Binding("3", "show_view('calendar')", "Calendar", show=False),
        Binding("4", "show_view('assets')", "Assets", show=False),
        Binding("5", "show_view('accounts')", "Accounts", show=False),
        Binding("6", "show_view('audit')", "Audit", show=False),
        Binding("n", "new_post", "New post"),
        Binding("question_mark,f1", "help", "Keys"),
        Binding("u", "switch_identity", "Switch person", show=False),
        Binding("H", "show_state('held')", "Held posts", show=False),
        Binding("F", "show_state('failed')", "Failed posts", show=False),
        Binding("U", "show_state('unknown')", "Unknown posts", show=False),
    ]

    # Bumped whenever posts may have changed; screens showing posts watch it.
    posts_version: reactive[int] = reactive(0)
    status: reactive[StatusSnapshot] = reactive(StatusSnapshot)

    def __init__(
        self,
        store: Store,
        actor: Actor,
        *,
        demo: bool = False,
        daemon_factory: DaemonFactory | None = None,
        status_interval: float = 2.0,
    ) -> None:
        super().__init__()
        self.store = store
        self.actor = actor
        self.user: UserView | None = None
        self.demo = demo
        self.daemon_factory = daemon_factory
        self.daemon: RunsInThread | None = None
        self.status_interval = status_interval
        self.bridge = DaemonBridge(self)
        self._last_heartbeat: datetime | None = None
        self._reload_pending = False
        self._hangup: HangupWatch | None = None
        self._seen_change: int | None = None
        self.views: list[tuple[str, str, str]] = []
        for mode, key, label, screen_class in VIEWS:
            self.views.append((mode, key, label))
            self.add_mode(mode, lambda screen_class=screen_class: screen_class(self.store))

    # -- start and stop ---------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {**super().get_theme_variable_defaults(), **STYLE_VARIABLES}

    def on_mount(self) -> None:
        self.load_user()
        self.refresh_status()
        self.set_interval(self.status_interval, self.refresh_status)
        if self.daemon_factory is not None:
            self.start_daemon()
        if (
            not self.is_headless
            and hasattr(signal, "SIGHUP")  # not on Windows
            and sys.__stdin__ is not None
            and sys.__stdin__.isatty()
        ):
            self._watch_terminal(sys.__stdin__.fileno())

    def _watch_terminal(self, fd: int) -> None:
        """End the process when the terminal goes (see :mod:`tui.hangup`)."""
        self._hangup = HangupWatch(fd, self._terminal_gone).start()
        signal.signal(signal.SIGHUP, lambda *_: self._hangup.trigger())

    def _terminal_gone(self) -> None:
        # From the watch's thread: the UI thread may be stuck writing to the dead
        # terminal, so stop the daemon here (it finishes or hands back the post in
        # flight) and end the process without waiting for the UI.
        if self.daemon is not None:
            self.daemon.stop()
        os._exit(129)

    def start_daemon(self) -> None:
        assert self.daemon_factory is not None
        daemon = self.daemon_factory(self.bridge)
        self.daemon = daemon
        self.run_worker(daemon.start, thread=True, group="daemon", exit_on_error=False)

    async def on_unmount(self) -> None:
        if self._hangup is not None:
            self._hangup.stop()
        if self.daemon is not None:
            # Stopping waits for the post in flight (a few seconds at most): off the UI
            # thread, so the screen can still be torn down meanwhile.
            await asyncio.to_thread(self.daemon.stop)

    # -- identity ---------------------------------------------------------------------

    @property
    def login(self) -> str:
        return self.actor.login

    @property
    def role(self) -> str:
        return self.actor.role.value

    def load_user(self) -> None:
        """Read the acting person's name (for the status bar) in a worker."""
        actor = self.actor

        def read() -> None:
            self.call_from_thread(self._user_loaded, services.get_user(self.store, actor.login))

        self.run_worker(read, thread=True, group="identity", exit_on_error=False)

    def _user_loaded(self, user: UserView) -> None:
        if user.login == self.actor.login:
            self.user = user
            self.publish_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MAIN_VIEW_ONLY and self._over_a_view:
            # Over a view (the editor, a dialog) single letters are text being typed in
            # the wrong place, never a request to switch person or view.
            return False
        if action == "switch_identity":
            return self.demo
        return True

    @property
    def _over_a_view(self) -> bool:
        """Whether a screen of ours (editor, dialog) is open over the current view.

        Textual's own overlays (the command palette) do not count: the palette lists
        the view's actions and runs them on the view.
        """
        return any(not isinstance(s, SystemModalScreen) for s in self.screen_stack[1:])

    def action_switch_identity(self) -> None:
        """Demo only: act as the next person of the demo database."""
        current = self.login

        def find_next() -> None:
            people = [p.login for p in services.list_users(self.store) if p.active]
            if people:
                index = people.index(current) if current in people else -1
                target = people[(index + 1) % len(people)]
                actor = services.resolve_actor(self.store, as_login=target)
                self.call_from_thread(self.act_as, actor)

        self.run_worker(find_next, thread=True, group="identity", exit_on_error=False)

    def switch_identity(self, login: str) -> None:
        """Act as `login`; the services refuse it outside a demo database."""

        def resolve() -> None:
            actor = services.resolve_actor(self.store, as_login=login)
            self.call_from_thread(self.act_as, actor)

        self.run_worker(resolve, thread=True, group="identity", exit_on_error=False)

    def act_as(self, actor: Actor) -> None:
        """From now on, act as `actor` (already checked by the services)."""
        self.actor = actor
        self.user = None
        self.load_user()
        self.publish_status()
        self.refresh_bindings()
        self.notify(f"You are now {actor.login} ({self.role}).", title="Switched person")
        self.posts_version += 1

    # -- the status bar ---------------------------------------------------------------

    def publish_status(self, counts: dict[str, int] | None = None) -> None:
        self.status = replace(
            self.status,
            login=self.login,
            display_name=self.user.display_name if self.user is not None else "",
            role=self.role,
            demo=self.demo,
            daemon_in_app=self.daemon_factory is not None,
            last_heartbeat=self._last_heartbeat,
            now=self.store.now(),
            counts=counts if counts is not None else self.status.counts,
        )

    def refresh_status(self) -> None:
        def read() -> None:
            by_state = services.count_by_state(self.store)
            counts = {state.value: number for state, number in by_state.items()}
            # Heartbeats in the database cover a daemon in this app and one elsewhere.
            beats = [d.last_beat for d in daemon_statuses(self.store) if d.stopped_at is None]
            change = services.last_change(self.store)
            self.call_from_thread(self._status_read, counts, max(beats, default=None), change)

        self.run_worker(read, thread=True, group="status", exclusive=True, exit_on_error=False)

    def _status_read(self, counts: dict[str, int], last_beat: datetime | None, change: int) -> None:
        if last_beat is not None and (
            self._last_heartbeat is None or last_beat > self._last_heartbeat
        ):
            self._last_heartbeat = last_beat
        self.publish_status(counts)
        # Someone else (another person's app, a daemon elsewhere) changed something:
        # the views show it within one status interval.
        if self._seen_change is not None and change != self._seen_change:
            self._reload_views()
        self._seen_change = change

    def on_daemon_heartbeat(self, message: DaemonHeartbeat) -> None:
        # The store's clock, not the event's: ages are measured against store.now().
        self._last_heartbeat = self.store.now()
        self.publish_status()

    def on_daemon_reported(self, message: DaemonReported) -> None:
        self._reload_views()
        kind = getattr(message.event, "kind", "")
        severity = DAEMON_NEWS.get(kind)
        if severity is not None:
            self.notify(message.summary, title="Daemon", severity=severity, timeout=6)

    def posts_changed(self) -> None:
        """Someone here changed posts: views reload, and a daemon in this app looks now."""
        self._reload_views()
        if self.daemon is not None:
            self.daemon.wake()

    def _reload_views(self) -> None:
        """Views showing posts reload, at most every few tenths of a second."""
        if self._reload_pending:
            return
        self._reload_pending = True

        def bump() -> None:
            self._reload_pending = False
            self.posts_version += 1
            self.refresh_status()

        self.set_timer(0.3, bump)

    # -- actions everywhere -----------------------------------------------------------

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(describe_keys(self.screen)))

    def action_show_view(self, mode: str) -> None:
        """Open one of the views (the number keys, the bar at the top)."""
        if mode != self.current_mode:
            self.switch_mode(mode)

    async def action_show_state(self, state: str) -> None:
        """Show the posts in `state` in the queue (the status bar's keys)."""
        await self.show_in_queue(lambda screen: screen.show_state(state))

    async def show_in_queue(self, then: Callable[[QueueScreen], None]) -> None:
        """Switch to the queue (if need be) and do something to it."""
        if self.current_mode != "queue":
            await self.switch_mode("queue")
        screen = self.screen
        if isinstance(screen, QueueScreen):
            then(screen)

    def action_new_post(self) -> None:
        self.edit_post(None)

    def edit_post(self, post_id: int | None) -> None:
        """Open the editor on a post (None: a new one); the queue shows the result."""
        self.push_screen(ComposeScreen(self.store, post_id=post_id), self._editor_closed)

    def _editor_closed(self, post_id: int | None) -> None:
        self.posts_changed()

    def open_post(self, post_id: int) -> None:
        """Show one post: the queue, filtered to it."""
        self.call_later(self.show_in_queue, lambda screen: screen.show_post(post_id))

    def run_post_action(self, action: str, post_id: int, **options: Any) -> None:
        """Carry out a person's decision on a post in a worker; say what happened."""
        function = POST_ACTIONS[action]
        actor = self.actor

        def work() -> None:
            result = function(self.store, actor, post_id, **options)
            self.call_from_thread(self._post_action_done, action, post_id, result)

        self.run_worker(work, thread=True, group="post-action", exit_on_error=False)

    def _post_action_done(self, action: str, post_id: int, result: Any) -> None:
        self.notify(f"Post #{post_id}: {describe_outcome(action, result)}.", title="Done")
        self.posts_changed()

    # -- errors -----------------------------------------------------------------------

    def report_error(self, error: BaseException, title: str | None = None) -> None:
        """Show an error as a notification with its reason, never a traceback."""
        if isinstance(error, GatepostError):
            self.notify(error.message, title=title or error.title, severity="error", timeout=8)
            return
        log.error("unexpected error in the app", exc_info=error)
        self.notify(
            f"{type(error).__name__}: {error}",
            title=title or "Something went wrong",
            severity="error",
            timeout=10,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            title = {
                "daemon": "The daemon stopped",
                "identity": "Cannot switch person",
            }.get(event.worker.group)
            self.report_error(event.worker.error, title=title)

    # -- the command palette ------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        # Every action bound to a key where the palette was opened, app-wide ones too,
        # so the palette and the keys can never disagree about what is possible.
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.system or not active.enabled:
                continue
            if binding.description in seen:
                continue
            seen.add(binding.description)
            node = active.node
            yield SystemCommand(
                binding.description,
                f"key: {self.get_key_display(binding) or key}",
                lambda node=node, action=binding.action: self.call_later(
                    self.run_action, action, node
                ),
            )
        for mode, key, label in self.views:
            if mode != self.current_mode:
                yield SystemCommand(
                    f"Go to {label}",
                    f"key: {key}",
                    lambda mode=mode: self.call_later(self.action_show_view, mode),
                )


POST_ACTIONS: dict[str, Callable[..., Any]] = {
    "submit": services.submit_post,
    "cancel": services.cancel_post,
    "confirm": services.confirm_held,
    "retry": services.retry_post,
    "resend": lambda store, actor, post_id: services.resolve_unknown(
        store, actor, post_id, went_out=False
    ),
    "resolve": lambda store, actor, post_id, link: services.resolve_unknown(
        store, actor, post_id, went_out=True, remote_url=link
    ),
}
POST_ACTION_DONE: dict[str, str] = {
    "cancel": "cancelled",
    "resolve": "recorded as published",
}


def describe_outcome(action: str, post: Any) -> str:
    """What became of a post after a person's action, in words."""
    if action in POST_ACTION_DONE:
        return POST_ACTION_DONE[action]
    state = getattr(post, "state", None)
    if state == "in_review":
        findings = getattr(post, "open_findings", 0)
        waiting = f"{findings} finding(s) for an approver" if findings else "it needs approval"
        return f"in review: {waiting}"
    if state == "scheduled":
        return f"scheduled for {post.scheduled_local}"
    return f"now {str(state).replace('_', ' ')}"
