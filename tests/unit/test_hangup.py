"""The app notices when its terminal goes away (a real pseudo-terminal is hung up)."""

from __future__ import annotations

import os
import threading

from tui.hangup import HangupWatch, terminal_gone


def test_a_live_terminal_is_not_gone_and_a_hung_up_one_is() -> None:
    master, slave = os.openpty()
    try:
        os.write(master, b"typed but unread")  # pending input is not a hang-up
        assert not terminal_gone(slave)
        os.close(master)
        master = -1
        assert terminal_gone(slave)
    finally:
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)


def test_the_watch_calls_back_once_when_the_terminal_hangs_up() -> None:
    master, slave = os.openpty()
    calls: list[str] = []
    called = threading.Event()

    def hung_up() -> None:
        calls.append("hung up")
        called.set()

    watch = HangupWatch(slave, hung_up, interval=0.05).start()
    try:
        assert not called.wait(0.3)  # the terminal is there: nothing happens
        os.close(master)
        assert called.wait(5)
        watch.trigger()  # a late SIGHUP changes nothing: it already acted
        watch._thread.join(1)
        assert calls == ["hung up"]
    finally:
        watch.stop()
        os.close(slave)


def test_sighup_acts_at_once_and_a_normal_exit_does_not() -> None:
    master, slave = os.openpty()
    try:
        called = threading.Event()
        watch = HangupWatch(slave, called.set, interval=60).start()
        watch.trigger()  # what the SIGHUP handler does
        assert called.wait(5)

        quiet = threading.Event()
        other = HangupWatch(slave, quiet.set, interval=0.05).start()
        other.stop()  # the app ended normally
        os.close(master)
        master = -1
        assert not quiet.wait(0.3)
    finally:
        if master >= 0:
            os.close(master)
        os.close(slave)
