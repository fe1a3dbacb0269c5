"""Errors raised by connectors.

Every failure a connector reports is one of these; no raw ``requests``, ``tweepy`` or
socket exception leaves the package. The daemon decides what to do from the class alone.

    ConnectorError                  base: ``title`` and a message a person can read
    ├── RateLimited(retry_at)       the platform said "not before retry_at" (UTC)
    ├── Transient                   5xx, time-outs, connection resets: safe to retry later
    ├── Permanent(reason)           validation, duplicate content, forbidden: never retry
    ├── AuthExpired                 credentials no longer work (after any refresh was tried)
    ├── Unsupported                 the platform cannot do this (e.g. edit on X)
    └── CredentialsError            credentials missing or the store unusable
"""

from __future__ import annotations

from datetime import datetime


class ConnectorError(Exception):
    """Base class for every connector failure.

    Messages never contain tokens or secrets.
    """

    title = "Connector error"

    def __init__(self, message: str, *, platform: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.platform = platform

    def __str__(self) -> str:
        return self.message


class RateLimited(ConnectorError):
    """The platform refused the call until ``retry_at`` (an aware UTC datetime)."""

    title = "Rate limited"

    def __init__(self, message: str, *, retry_at: datetime, platform: str = "") -> None:
        super().__init__(message, platform=platform)
        self.retry_at = retry_at


class Transient(ConnectorError):
    """A failure that may go away on its own: server error, time-out, reset connection.

    The request may or may not have reached the platform; callers reconcile with
    ``lookup`` before sending again.
    """

    title = "Temporary failure"


class Permanent(ConnectorError):
    """The platform refused the post for good (validation, duplicate, forbidden)."""

    title = "Refused by the platform"

    def __init__(self, message: str, *, reason: str = "", platform: str = "") -> None:
        super().__init__(message, platform=platform)
        self.reason = reason or message


class AuthExpired(ConnectorError):
    """The account's credentials no longer work; a person must reconnect the account."""

    title = "Reconnect the account"


class Unsupported(ConnectorError):
    """The platform does not offer this operation."""

    title = "Not supported by the platform"


class CredentialsError(ConnectorError):
    """Credentials are missing, or no safe place to keep them is available."""

    title = "Credentials"
