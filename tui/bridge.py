"""Daemon events into the app: the only door between the daemon's thread and the UI.

The daemon calls the bridge from its own thread; the bridge never touches a widget,
it only posts messages (`App.post_message` is thread-safe), and the app's handlers
run on the UI thread as for any other message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual.app import App

from tui.messages import DaemonHeartbeat, DaemonReported


def _now() -> datetime:
    return datetime.now(UTC)


class DaemonBridge:
    """A callable to hand to the daemon as its event callback."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app

    def __call__(self, event: Any) -> None:
        kind = str(getattr(event, "kind", type(event).__name__))
        at = getattr(event, "at", None) or _now()
        # Any event proves the daemon alive; heartbeats carry nothing else.
        self.app.post_message(DaemonHeartbeat(at))
        if kind == "heartbeat":
            return
        post_id = getattr(event, "post_id", None)
        self.app.post_message(DaemonReported(event, post_id, describe_event(event)))


def describe_event(event: Any) -> str:
    """One line a person can read, from whatever the daemon reported."""
    kind = str(getattr(event, "kind", type(event).__name__)).replace("_", " ")
    what = str(getattr(event, "message", "") or getattr(event, "detail", "") or "")
    post_id = getattr(event, "post_id", None)
    account = getattr(event, "account", "") or ""
    link = getattr(event, "remote_url", None)
    subject = ""
    if post_id is not None:
        subject = f"Post #{post_id}" + (f" on {account}" if account else "") + ": "
    line = subject + kind
    if what and what.lower() != kind:
        line += f" ({what})"
    if link:
        line += f", {link}"
    return line
