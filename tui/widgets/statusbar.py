"""The line at the bottom of every main screen: who you are, the daemon, what needs you."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget


@dataclass(frozen=True)
class StatusSnapshot:
    """Everything the status bar shows, set by the app as one value."""

    login: str = ""
    display_name: str = ""
    role: str = ""
    demo: bool = False
    daemon_in_app: bool = False
    last_heartbeat: datetime | None = None
    now: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)


# A daemon that has said nothing for this long is shown as silent.
SILENT_AFTER_SECONDS = 90

# The states a person has to act on, the key that shows them, and how they are named.
ATTENTION = (("held", "H", "held"), ("failed", "F", "failed"), ("unknown", "U", "unknown"))


class StatusBar(Widget):
    """Identity and role, daemon heartbeat, counts of posts that need a person.

    Each count names the key that lists those posts, and is clickable.
    """

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $statusbar-background;
        color: $foreground;
        padding: 0 1;
    }
    """

    snapshot: reactive[StatusSnapshot] = reactive(StatusSnapshot, layout=False)

    def on_mount(self) -> None:
        # The app owns one StatusSnapshot (its `status` reactive); every screen's bar
        # follows it, so switching views never shows stale counts.
        if hasattr(self.app, "status"):
            self.watch(self.app, "status", self._follow, init=True)

    def _follow(self, status: StatusSnapshot) -> None:
        self.snapshot = status

    def render(self) -> Content:
        snap = self.snapshot
        variables = self.app.theme_variables
        parts: list[Content] = []
        who = snap.display_name or snap.login or "?"
        parts.append(
            Content.from_markup(
                "[b]$who[/b] [dim]($login, $role)[/dim]",
                who=who,
                login=snap.login,
                role=snap.role or "no role",
            )
        )
        parts.append(self._daemon(snap))
        attention: list[Content] = []
        for state, key, label in ATTENTION:
            count = snap.counts.get(state, 0)
            colour = variables.get(f"state-{state}", "red") if count else "$text-muted"
            attention.append(
                Content.from_markup(
                    f"[@click=app.show_state('{state}')][{colour}]$label $count[/] "
                    f"[dim]\\[$key][/dim][/]",
                    label=label,
                    count=str(count),
                    key=key,
                )
            )
        parts.append(Content("  ").join(attention))
        if snap.demo:
            parts.append(Content.from_markup("[dim]demo: [b]u[/b] switch person[/dim]"))
        return Content(" │ ").join(parts)

    @staticmethod
    def _daemon(snap: StatusSnapshot) -> Content:
        if snap.last_heartbeat is None or snap.now is None:
            if snap.daemon_in_app:
                return Content.from_markup("daemon [dim]starting…[/dim]")
            return Content.from_markup("daemon [dim]not heard from[/dim]")
        age = max(0, int((snap.now - snap.last_heartbeat).total_seconds()))
        if age > SILENT_AFTER_SECONDS:
            return Content.from_markup("daemon [$error]silent $age[/]", age=_age(age))
        return Content.from_markup("daemon [$success]●[/] [dim]$age ago[/dim]", age=_age(age))


def _age(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


class ViewsBar(Widget):
    """The strip of views at the top: the key for each, the current one in bold.

    The app says which views there are (`app.views`, (mode, key, label) triples), so
    this widget need not know them.
    """

    DEFAULT_CSS = """
    ViewsBar {
        height: 1;
        background: $panel;
        color: $text-muted;
        padding: 0 1;
    }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def render(self) -> Content:
        views = getattr(self.app, "views", ())
        parts = [Content.from_markup("[b]Gatepost[/b]")]
        for mode, key, label in views:
            if mode == self.current:
                markup = "[reverse b] $key $label [/]"
            else:
                markup = f"[@click=app.show_view('{mode}')] [b]$key[/b] $label [/]"
            parts.append(Content.from_markup(markup, key=key, label=label))
        parts.append(Content.from_markup("[dim]? keys   ctrl+p commands[/dim]"))
        return Content(" ").join(parts)
