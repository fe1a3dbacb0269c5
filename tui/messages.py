"""Messages that travel the whole app (a widget's own messages are nested in it).

The daemon runs in another thread (or another process); what it reports reaches the
app only as these messages, posted through :mod:`tui.bridge`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.message import Message


class DaemonReported(Message):
    """The daemon did something to a post (claimed, published, failed, held...).

    ``event`` is the daemon's own event value, passed along untouched; ``post_id`` is
    the post it concerns, when it concerns one.
    """

    def __init__(self, event: Any, post_id: int | None, summary: str) -> None:
        super().__init__()
        self.event = event
        self.post_id = post_id
        self.summary = summary


class DaemonHeartbeat(Message):
    """The daemon is alive (sent on each of its ticks)."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at
