"""The connector protocol and the plain data that crosses it.

The daemon builds a :class:`PublishRequest` from a post, hands it to the connector for
the account's platform and gets back a :class:`Receipt` or one of the errors in
:mod:`connectors.errors`. Nothing here knows about the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class AccountConfig:
    """What a connector needs to know about one account.

    ``api_base`` overrides the platform's real address (tests and staging point it at
    127.0.0.1). ``credentials`` come from the credential store, never the database.
    ``options`` holds platform settings such as the outbox folder or an instance's
    character limit.
    """

    name: str
    platform: str
    handle: str = ""
    api_base: str | None = None
    credentials: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MediaItem:
    """One image to attach: its bytes, alt text, MIME type and a file name."""

    data: bytes
    alt: str = ""
    mime: str = "image/png"
    filename: str = "image.png"


@dataclass(frozen=True)
class PublishRequest:
    """A post to publish.

    ``idempotency_key`` is derived from the post and its attempt by the caller; the
    same key always means the same post, so a connector can use it to find or
    de-duplicate a post whose outcome was lost.

    ``attempted_at`` (optional, aware UTC) is when the first attempt with this key
    started; a lookup that matches by text ignores posts older than it, so an identical
    earlier post (a recurring greeting) is not taken for this one.
    """

    text: str
    idempotency_key: str
    media: tuple[MediaItem, ...] = ()
    links: tuple[str, ...] = ()
    attempted_at: datetime | None = None


@dataclass(frozen=True)
class Receipt:
    """Proof that a post is on the platform."""

    remote_id: str
    url: str
    published_at: datetime


@dataclass(frozen=True)
class Problem:
    """A reason the platform would refuse a request, found before sending it.

    ``code`` is stable (``too_long``, ``too_many_media``, ``media_format``,
    ``media_too_large``, ``empty``); ``message`` is for a person.
    """

    code: str
    message: str


@dataclass(frozen=True)
class TextMeasure:
    """How long a text is by the platform's own counting, against its limit."""

    used: int
    limit: int
    unit: str = "characters"

    @property
    def over(self) -> bool:
        return self.used > self.limit


@runtime_checkable
class Connector(Protocol):
    """What every platform adapter offers. Errors are those of :mod:`connectors.errors`."""

    platform: str

    def measure(self, text: str) -> TextMeasure:
        """Count ``text`` the way the platform does, against its limit."""
        ...

    def validate(self, request: PublishRequest) -> list[Problem]:
        """Return every platform limit the request breaks (empty when it would go)."""
        ...

    def publish(self, request: PublishRequest) -> Receipt:
        """Publish the request and return the platform's receipt."""
        ...

    def delete(self, remote_id: str) -> None:
        """Remove a published post (for corrections)."""
        ...

    def edit(self, remote_id: str, request: PublishRequest) -> Receipt:
        """Edit a published post in place; raises ``Unsupported`` where not possible."""
        ...

    def lookup(self, request: PublishRequest) -> Receipt | None:
        """Find whether ``request`` was already published (by idempotency key or text).

        Returns the receipt when it was, ``None`` when the platform shows it was not.
        Raises ``Transient`` when the platform cannot be asked right now.
        """
        ...
