"""Noticing that the app's terminal has gone (its window closed, its tmux or ssh session
killed), so the app does not live on without a screen.

When the terminal hangs up, the process may not get SIGHUP (under `make run`, make gets
it and waits for the app), and Textual's output thread stops while its input thread
polls the dead terminal in a tight loop: the app would keep a core busy, and its
embedded daemon publishing, with nobody able to see it. :class:`HangupWatch` looks at
the terminal once a second from a thread of its own and, when it has gone (or on
SIGHUP), calls ``on_hangup`` once: the app stops its daemon and ends the process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


def terminal_gone(fd: int) -> bool:
    """Whether the terminal on ``fd`` has hung up. Asks for its settings, which a
    terminal that has gone cannot give (``isatty`` does exactly that), and reads
    nothing; ``poll`` would not do on macOS, where it does not work on terminals."""
    return not os.isatty(fd)


class HangupWatch:
    """Calls ``on_hangup`` (once, from its own thread) when the terminal on ``fd`` goes
    or :meth:`trigger` is called (a SIGHUP handler calls it)."""

    def __init__(self, fd: int, on_hangup: Callable[[], None], *, interval: float = 1.0) -> None:
        self.fd = fd
        self.on_hangup = on_hangup
        self.interval = interval
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gatepost-hangup", daemon=True)

    def start(self) -> HangupWatch:
        self._thread.start()
        return self

    def trigger(self) -> None:
        """The terminal hung up (SIGHUP): act now. Safe to call from a signal handler."""
        self._wake.set()

    def stop(self) -> None:
        """The app is ending normally: watch no more."""
        self._stopped.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            woken = self._wake.wait(self.interval)
            if self._stopped.is_set():
                return
            if woken or terminal_gone(self.fd):
                self._stopped.set()
                self.on_hangup()
                return
