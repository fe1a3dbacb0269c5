"""Errors raised by the scheduler's services.

Every failure a caller (the CLI, the TUI, the daemon) is meant to show a person is one of
these; each has a ``title`` for a dialog and a one-line message.

    GatepostError(message, title)        base
    ├── NotFound                         no such post, account, user, asset, finding
    ├── PermissionDenied                 the actor's role or identity does not allow it
    ├── IllegalTransition                the post's state does not allow that action
    ├── StaleEdit                        someone else changed the record since it was read
    ├── InvalidInput                     bad time, clock-change gap or ambiguity, a time in
    │                                    the past, unknown platform or time zone, empty text
    └── StoreError                       the database cannot be opened or migrated
"""

from __future__ import annotations


class GatepostError(Exception):
    """Base class for every error the scheduler reports to a person."""

    title = "Gatepost"

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class NotFound(GatepostError):
    """The post, account, user, asset or finding does not exist."""

    title = "Not found"


class PermissionDenied(GatepostError):
    """The actor may not do this (role, separation of duties, identity)."""

    title = "Not allowed"


class IllegalTransition(GatepostError):
    """The post's current state does not allow the requested action."""

    title = "Not possible in this state"


class StaleEdit(GatepostError):
    """Optimistic-lock conflict: the record changed since the caller read it."""

    title = "Changed by someone else"


class InvalidInput(GatepostError):
    """The input cannot be accepted as given (time, platform, text, option...)."""

    title = "Invalid input"


class StoreError(GatepostError):
    """The database cannot be opened, reached or migrated."""

    title = "Database"
