"""Mastodon through requests-oauthlib (OAuth 2 bearer token).

Publishing uploads each image to ``POST /api/v2/media`` (alt text as ``description``),
waits for the instance's asynchronous processing (202, then ``GET /api/v1/media/:id``
until it has a URL, bounded), then posts ``POST /api/v1/statuses`` with an
``Idempotency-Key`` header: the same key within about an hour returns the same status
instead of a second one.

The instance forgets keys after about an hour, so :meth:`MastodonConnector.lookup` does
not rely on them: it reads the account's recent statuses and matches the exact text
(Mastodon returns statuses as HTML, which is turned back into text to compare).

Credentials: ``access_token`` (required); ``client_id`` and ``client_secret`` from the
app registration are kept for reconnecting. Options: ``max_chars`` (500, or the
instance's after :meth:`~MastodonConnector.load_instance_limits`), ``visibility``
(``public``), ``language``, ``media_wait_seconds`` (60).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import regex
import requests
from requests_oauthlib import OAuth2Session

from connectors.base import AccountConfig, Problem, PublishRequest, Receipt, TextMeasure
from connectors.errors import AuthExpired, ConnectorError, CredentialsError, Transient
from connectors.http import allow_loopback_http_for_oauthlib, new_session, send
from connectors.limits import (
    IMAGE_TYPES,
    int_option,
    media_problems,
    raise_if_invalid,
    text_problems,
)

DEFAULT_MAX_CHARS = 500
DEFAULT_MAX_MEDIA = 4
DEFAULT_MAX_IMAGE_BYTES = 16 * 1024 * 1024
#: Mastodon counts every URL as this many characters, whatever its length.
URL_WEIGHT = 23
RESET_HEADERS = ("x-ratelimit-reset", "retry-after")
#: Statuses read per page, and pages read, when looking a post up by its text.
LOOKUP_PAGE_SIZE = 40
LOOKUP_PAGES = 3
#: Posts this much older than the attempt are not candidates (allows for clock skew).
CLOCK_SLACK = timedelta(minutes=5)

logger = logging.getLogger(__name__)

_URL = regex.compile(r"https?://[^\s<>\"]+")
_REMOTE_MENTION = regex.compile(r"(@\w+)@[\w.-]+\w")
_GRAPHEME = regex.compile(r"\X")
_SPACE = regex.compile(r"\s+")


def countable_text(text: str) -> str:
    """The text as Mastodon counts it: each URL as 23 characters, a remote mention
    (``@name@instance``) as its local part."""
    text = str(_URL.sub("x" * URL_WEIGHT, text))
    return str(_REMOTE_MENTION.sub(r"\1", text))


def text_limit(options: Mapping[str, str]) -> int:
    """The account's limit in characters: its ``max_chars`` option, else 500.

    Raises ``ConnectorError`` when the option is not a positive whole number. A
    connected connector may raise its limit to the instance's own
    (``load_instance_limits``) when the option is not set.
    """
    return int_option(options, "max_chars", DEFAULT_MAX_CHARS)


def count_text(text: str, limit: int) -> TextMeasure:
    """Count ``text`` as Mastodon does against ``limit``: graphemes, each URL as 23, a
    remote mention as its local part.

    The connector's ``measure`` and ``connectors.measure_text`` both count with this.
    """
    return TextMeasure(used=len(_GRAPHEME.findall(countable_text(text))), limit=limit)


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def status_text(content_html: str) -> str:
    """Plain text of a status's HTML ``content`` (links in full, line breaks kept)."""
    parser = _TextOfHtml()
    parser.feed(content_html)
    parser.close()
    return "".join(parser.parts).strip()


def _comparable(text: str) -> str:
    # Mastodon shows a remote mention by its local part and reflows white space
    return str(_SPACE.sub(" ", _REMOTE_MENTION.sub(r"\1", text))).strip()


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def instance_base_url(config: AccountConfig) -> str:
    """The instance's address: ``api_base``, else the domain of ``@name@instance``."""
    if config.api_base:
        return config.api_base.rstrip("/")
    handle = config.handle.lstrip("@")
    _, _, domain = handle.partition("@")
    if not domain:
        raise ConnectorError(
            f"Mastodon account {config.name!r} needs its instance: set api_base "
            "(https://instance.example) or a handle like @name@instance.example",
            platform="mastodon",
        )
    return f"https://{domain}"


class MastodonConnector:
    """One Mastodon account on one instance."""

    platform = "mastodon"
    #: first wait between media-processing polls, doubled each time up to 5 s
    media_poll_interval = 0.5

    def __init__(
        self,
        config: AccountConfig,
        *,
        timeout: float = 10.0,
        save_credentials: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        token = config.credentials.get("access_token", "")
        if not token:
            raise CredentialsError(
                f"Mastodon account {config.name!r} has no access token; "
                f"run `gatepost accounts connect {config.name}`",
                platform=self.platform,
            )
        self.config = config
        self.base_url = instance_base_url(config)
        self.timeout = timeout
        self.max_chars = text_limit(config.options)
        self.max_media = int_option(config.options, "max_media", DEFAULT_MAX_MEDIA)
        self.max_image_bytes = int_option(
            config.options, "max_media_bytes", DEFAULT_MAX_IMAGE_BYTES
        )
        self.media_types: frozenset[str] = IMAGE_TYPES
        self.media_wait_seconds = int_option(config.options, "media_wait_seconds", 60)
        self._secrets = [v for k, v in config.credentials.items() if k != "client_id" and v]
        self._account_id: str | None = None
        allow_loopback_http_for_oauthlib(self.base_url)
        self._session = new_session(
            OAuth2Session(
                client_id=config.credentials.get("client_id") or None,
                token={"access_token": token, "token_type": "Bearer"},
            )
        )

    # -- limits -------------------------------------------------------------------

    def measure(self, text: str) -> TextMeasure:
        """Count ``text`` as Mastodon does: graphemes, URLs as 23, remote mentions short."""
        return count_text(text, self.max_chars)

    def validate(self, request: PublishRequest) -> list[Problem]:
        """Return every limit the request breaks: length, image count, type and size."""
        return text_problems(
            request.text, self.measure(request.text), has_media=bool(request.media)
        ) + media_problems(
            request.media,
            max_count=self.max_media,
            max_bytes=self.max_image_bytes,
            formats=self.media_types,
        )

    def load_instance_limits(self) -> None:
        """Read the instance's own limits (``GET /api/v2/instance``) and use them.

        An explicit ``max_chars`` option still wins. Raises the usual connector errors.
        """
        config = self._call("GET", "/api/v2/instance").json().get("configuration") or {}
        statuses = config.get("statuses") or {}
        media = config.get("media_attachments") or {}
        if "max_chars" not in self.config.options and statuses.get("max_characters"):
            self.max_chars = int(statuses["max_characters"])
        if statuses.get("max_media_attachments"):
            self.max_media = int(statuses["max_media_attachments"])
        if media.get("image_size_limit"):
            self.max_image_bytes = int(media["image_size_limit"])
        types = [t for t in media.get("supported_mime_types") or [] if t.startswith("image/")]
        if types:
            self.media_types = frozenset(types)

    # -- operations ---------------------------------------------------------------

    def publish(self, request: PublishRequest) -> Receipt:
        """Upload the images, post the status with the request's ``Idempotency-Key``.

        Raises ``Permanent`` (invalid, or refused with the server's reason),
        ``RateLimited``, ``Transient`` (including media still processing after
        ``media_wait_seconds``) or ``AuthExpired``.
        """
        raise_if_invalid(self.validate(request), platform=self.platform)
        media_ids = [
            self._upload(item.data, item.mime, item.filename, item.alt) for item in request.media
        ]
        body: dict[str, Any] = {
            "status": request.text,
            "media_ids": media_ids,
            "visibility": self.config.options.get("visibility", "public"),
        }
        if self.config.options.get("language"):
            body["language"] = self.config.options["language"]
        logger.debug(
            "Mastodon account %s: posting status with %d image(s)", self.config.name, len(media_ids)
        )
        response = self._call(
            "POST",
            "/api/v1/statuses",
            json=body,
            headers={"Idempotency-Key": request.idempotency_key},
        )
        return self._receipt(response.json())

    def edit(self, remote_id: str, request: PublishRequest) -> Receipt:
        """Edit a status in place (``PUT /api/v1/statuses/:id``), new images uploaded."""
        raise_if_invalid(self.validate(request), platform=self.platform)
        media_ids = [
            self._upload(item.data, item.mime, item.filename, item.alt) for item in request.media
        ]
        response = self._call(
            "PUT",
            f"/api/v1/statuses/{remote_id}",
            json={"status": request.text, "media_ids": media_ids},
        )
        return self._receipt(response.json())

    def delete(self, remote_id: str) -> None:
        """Delete a status; ``Permanent`` when the instance has no such status."""
        self._call("DELETE", f"/api/v1/statuses/{remote_id}")

    def lookup(self, request: PublishRequest) -> Receipt | None:
        """Find the account's recent status with exactly the request's text.

        Reads up to ``LOOKUP_PAGES`` pages of the account's own statuses, newest first,
        and stops at posts older than ``request.attempted_at`` when the caller gave it
        (so an identical earlier post, such as a recurring greeting, is not mistaken
        for this one). Returns ``None`` when no status matches.
        """
        wanted = _comparable(request.text)
        oldest = request.attempted_at
        account_id = self._own_account_id()
        max_id: str | None = None
        for _ in range(LOOKUP_PAGES):
            params: dict[str, Any] = {"limit": LOOKUP_PAGE_SIZE, "exclude_reblogs": "true"}
            if max_id is not None:
                params["max_id"] = max_id
            page = self._call("GET", f"/api/v1/accounts/{account_id}/statuses", params=params)
            statuses = page.json()
            if not statuses:
                return None
            for status in statuses:
                created = _parse_time(status["created_at"])
                if oldest is not None and created < oldest - CLOCK_SLACK:
                    return None
                same_text = _comparable(status_text(status.get("content") or "")) == wanted
                same_media = len(status.get("media_attachments") or []) == len(request.media)
                if same_text and same_media:
                    return self._receipt(status)
            max_id = str(statuses[-1]["id"])
        return None

    # -- internals ----------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return send(
                self._session,
                method,
                self.base_url + path,
                platform=self.platform,
                timeout=self.timeout,
                reset_headers=RESET_HEADERS,
                secrets=self._secrets,
                **kwargs,
            )
        except AuthExpired as exc:
            raise AuthExpired(
                f"Mastodon account {self.config.name!r}: {exc.message}", platform=self.platform
            ) from None

    def _own_account_id(self) -> str:
        if self._account_id is None:
            account = self._call("GET", "/api/v1/accounts/verify_credentials").json()
            self._account_id = str(account["id"])
        return self._account_id

    def _upload(self, data: bytes, mime: str, filename: str, alt: str) -> str:
        form = {"description": alt} if alt else {}
        response = self._call(
            "POST", "/api/v2/media", files={"file": (filename, data, mime)}, data=form
        )
        media = response.json()
        media_id = str(media["id"])
        if media.get("url"):
            return media_id
        # 202: the instance is still processing the image; poll until it has a URL
        logger.debug("Mastodon is processing media %s; waiting for it", media_id)
        deadline = time.monotonic() + self.media_wait_seconds
        interval = self.media_poll_interval
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Transient(
                    f"Mastodon was still processing image {filename!r} after "
                    f"{self.media_wait_seconds} s",
                    platform=self.platform,
                )
            time.sleep(min(interval, remaining))
            polled = self._call("GET", f"/api/v1/media/{media_id}")
            if polled.status_code == 200 and polled.json().get("url"):
                return media_id
            interval = min(interval * 2, 5.0)

    def _receipt(self, status: dict[str, Any]) -> Receipt:
        url = status.get("url") or status.get("uri") or ""
        if url and not urlsplit(url).scheme:
            url = self.base_url + url
        return Receipt(
            remote_id=str(status["id"]),
            url=url,
            published_at=_parse_time(status["created_at"]),
        )
