"""Facebook Pages through the Graph API with a page access token (requests-oauthlib).

Credentials: ``page_token`` (from :func:`connectors.authflows_oauth.facebook_page_flow`;
a page token obtained from a long-lived user token does not expire). Options:
``page_id`` (required) and ``graph_version`` (default ``FACEBOOK_GRAPH_VERSION``).

Text posts go to ``POST /{page-id}/feed``. Images are uploaded first with
``POST /{page-id}/photos?published=false`` (with their alt text), then attached to the
feed post with ``attached_media``. Facebook allows editing a page post's message.

The Graph API reports most failures as HTTP 400 with an error code in the body, so the
code decides the class:

    4, 17, 32, 613, 80001...  -> RateLimited (wait from X-Business-Use-Case-Usage /
                                 X-App-Usage, else DEFAULT_RATE_LIMIT_WAIT)
    190, 102                  -> AuthExpired (reconnect the page)
    368, 506                  -> Permanent (blocked as abusive / duplicate post)
    1, 2, or is_transient     -> Transient
    other                     -> by HTTP status (connectors.http)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from requests_oauthlib import OAuth2Session

from connectors.authflows_oauth import FACEBOOK_GRAPH_VERSION
from connectors.base import (
    AccountConfig,
    MediaItem,
    Problem,
    PublishRequest,
    Receipt,
    TextMeasure,
)
from connectors.errors import (
    AuthExpired,
    ConnectorError,
    CredentialsError,
    Permanent,
    RateLimited,
    Transient,
)
from connectors.http import (
    check_response,
    error_text,
    new_session,
    quiet_http_debug_logs,
    redact,
    retry_at_from,
    send,
)
from connectors.limits import (
    comparable_text,
    count_characters,
    int_option,
    media_problems,
    raise_if_invalid,
    text_problems,
)
from connectors.routing import route_public_hosts

FACEBOOK_HOSTS = ("graph.facebook.com", "www.facebook.com")

FACEBOOK_TEXT_LIMIT = 63_206
FACEBOOK_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
FACEBOOK_MAX_IMAGE_BYTES = 4 * 1024 * 1024
#: Gatepost's cap on photos per post (the API takes more, the feed shows a few).
FACEBOOK_MAX_IMAGES = 10

#: How long to wait after a throttling error that gives no estimate.
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=15)
#: Graph API error codes that mean "throttled".
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80005, 80006})
AUTH_CODES = frozenset({102, 190})
#: 368: blocked as abusive or disallowed; 506: duplicate status message.
REFUSED_CODES = frozenset({368, 506})
TRANSIENT_CODES = frozenset({1, 2})

LOOKUP_DEPTH = 100
LOOKUP_PAGE_SIZE = 50
#: Posts this much older than the attempt are still candidates (clock skew).
CLOCK_SLACK = timedelta(minutes=2)


def text_limit(options: Mapping[str, str]) -> int:
    """The account's limit in characters: its ``text_limit`` option, else 63,206.

    Raises ``ConnectorError`` when the option is not a positive whole number.
    """
    return int_option(options, "text_limit", FACEBOOK_TEXT_LIMIT)


#: Counts as readers see the text (NFC characters); ``measure`` and
#: ``connectors.measure_text`` both count with this.
count_text = count_characters


def regain_access_at(headers: Mapping[str, str], *, now: datetime | None = None) -> datetime:
    """When Facebook will take calls again, from its usage headers.

    Reads the largest ``estimated_time_to_regain_access`` (minutes) in
    ``X-Business-Use-Case-Usage`` (or ``X-App-Usage``), then ``Retry-After``; falls back
    to ``DEFAULT_RATE_LIMIT_WAIT``.
    """
    now = now or datetime.now(UTC)
    lowered = {k.lower(): v for k, v in headers.items()}
    minutes: list[float] = []
    for name in ("x-business-use-case-usage", "x-app-usage", "x-ad-account-usage"):
        raw = lowered.get(name)
        if not raw:
            continue
        try:
            usage = json.loads(raw)
        except ValueError:
            continue
        minutes += _estimates(usage)
    if any(m > 0 for m in minutes):
        return now + timedelta(minutes=max(minutes))
    if "retry-after" in lowered:
        return retry_at_from(headers, names=("retry-after",), now=now)
    return now + DEFAULT_RATE_LIMIT_WAIT


def _estimates(usage: Any) -> list[float]:
    """Every ``estimated_time_to_regain_access`` found anywhere in a usage header."""
    found: list[float] = []
    if isinstance(usage, dict):
        for key, value in usage.items():
            if key == "estimated_time_to_regain_access" and isinstance(value, int | float):
                found.append(float(value))
            else:
                found += _estimates(value)
    elif isinstance(usage, list):
        for value in usage:
            found += _estimates(value)
    return found


class FacebookConnector:
    """Publish to one Facebook Page. See the module docstring."""

    platform = "facebook"

    def __init__(
        self,
        config: AccountConfig,
        *,
        timeout: float = 10.0,
        save_credentials: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        quiet_http_debug_logs()
        self.config = config
        self.timeout = timeout
        self.save_credentials = save_credentials
        self.credentials: dict[str, str] = dict(config.credentials)
        token = self.credentials.get("page_token")
        if not token:
            raise CredentialsError(
                f"Facebook account {config.name!r} has no page_token; connect it first",
                platform=self.platform,
            )
        self.page_id = str(config.options.get("page_id", "")).strip()
        if not self.page_id:
            raise ConnectorError(
                f"Facebook account {config.name!r} needs the option page_id",
                platform=self.platform,
            )
        version = str(config.options.get("graph_version") or FACEBOOK_GRAPH_VERSION)
        self.graph = f"https://graph.facebook.com/{version}"
        self.text_limit = text_limit(config.options)
        session = OAuth2Session(token={"access_token": token, "token_type": "Bearer"})
        self.session = route_public_hosts(
            new_session(session), FACEBOOK_HOSTS, config.api_base, timeout
        )

    # -- calls -------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """Send one Graph API call and classify a failure by its error code."""
        response = send(
            self.session,
            method,
            f"{self.graph}/{path}",
            platform=self.platform,
            timeout=self.timeout,
            check=False,
            secrets=self.credentials.values(),
            **kwargs,
        )
        if response.status_code < 400:
            try:
                body: dict[str, Any] = response.json()
            except ValueError:
                raise Transient(
                    f"Facebook answered {method} /{path} with something not JSON",
                    platform=self.platform,
                ) from None
            return body
        self._raise_for(response, f"{method} /{path}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_for(self, response: requests.Response, where: str) -> None:
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        code = error.get("code") if isinstance(error, dict) else None
        message = redact(
            str(error.get("message") or error_text(response)) if isinstance(error, dict) else "",
            self.credentials.values(),
        )
        if response.status_code == 429 or code in RATE_LIMIT_CODES:
            retry_at = regain_access_at(response.headers)
            raise RateLimited(
                f"Facebook rate limit on {where} (code {code}); "
                f"retry after {retry_at.isoformat(timespec='seconds')}",
                retry_at=retry_at,
                platform=self.platform,
            )
        if code in AUTH_CODES or response.status_code == 401:
            raise AuthExpired(
                f"Facebook refused the page token of account {self.config.name!r} "
                f"({message}); reconnect the page",
                platform=self.platform,
            )
        if code in REFUSED_CODES:
            kind = "duplicate post" if code == 506 else "blocked"
            raise Permanent(
                f"Facebook refused {where}: {kind} ({message})",
                reason=f"{kind}: {message}",
                platform=self.platform,
            )
        if code in TRANSIENT_CODES or (isinstance(error, dict) and error.get("is_transient")):
            raise Transient(
                f"Facebook had a passing failure on {where}: {message}", platform=self.platform
            )
        check_response(response, platform=self.platform, secrets=self.credentials.values())

    # -- the protocol ----------------------------------------------------------------------

    def measure(self, text: str) -> TextMeasure:
        """Characters of the message against Facebook's 63,206."""
        return count_text(text, self.text_limit)

    def validate(self, request: PublishRequest) -> list[Problem]:
        """Every limit the request breaks: length, images (JPEG/PNG/GIF, 4 MB each)."""
        return text_problems(
            request.text, self.measure(request.text), has_media=bool(request.media)
        ) + media_problems(
            request.media,
            max_count=FACEBOOK_MAX_IMAGES,
            max_bytes=FACEBOOK_MAX_IMAGE_BYTES,
            formats=FACEBOOK_IMAGE_TYPES,
        )

    def publish(self, request: PublishRequest) -> Receipt:
        """Upload the images unpublished, then post the message with them attached.

        Raises ``RateLimited``, ``AuthExpired`` (page token no longer valid),
        ``Transient`` or ``Permanent`` (including a duplicate post).
        """
        raise_if_invalid(self.validate(request), platform=self.platform)
        photo_ids = [self._upload_photo(item) for item in request.media]
        form: dict[str, str] = {}
        if request.text:
            form["message"] = request.text
        for index, photo_id in enumerate(photo_ids):
            form[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo_id})
        body = self._call("POST", f"{self.page_id}/feed", data=form)
        post_id = str(body.get("id") or "")
        if not post_id:
            raise Transient(
                "Facebook accepted the post but did not say its id", platform=self.platform
            )
        return Receipt(post_id, _url(post_id), datetime.now(UTC))

    def delete(self, remote_id: str) -> None:
        """Delete the post; a post that is already gone counts as deleted."""
        try:
            self._call("DELETE", remote_id)
        except Permanent as exc:
            if "(404)" not in exc.message and "does not exist" not in exc.message:
                raise

    def edit(self, remote_id: str, request: PublishRequest) -> Receipt:
        """Replace the post's message in place; its photos stay as first published."""
        raise_if_invalid(self.validate(request), platform=self.platform)
        self._call("POST", remote_id, data={"message": request.text})
        return Receipt(remote_id, _url(remote_id), datetime.now(UTC))

    def lookup(self, request: PublishRequest) -> Receipt | None:
        """Search the page's latest posts for one with the request's text and photo count.

        Posts older than ``request.attempted_at`` (less ``CLOCK_SLACK``) are not asked
        for. Returns ``None`` when none of the latest ``LOOKUP_DEPTH`` matches.
        """
        wanted = comparable_text(request.text)
        oldest = request.attempted_at - CLOCK_SLACK if request.attempted_at else None
        for post in self._recent_posts(oldest):
            same_text = comparable_text(str(post.get("message", ""))) == wanted
            if same_text and _photo_count(post) == len(request.media):
                post_id = str(post["id"])
                published = _graph_time(post.get("created_time")) or datetime.now(UTC)
                return Receipt(post_id, str(post.get("permalink_url") or _url(post_id)), published)
        return None

    # -- helpers ------------------------------------------------------------------------------

    def _recent_posts(self, oldest: datetime | None) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {
            "fields": "id,message,created_time,permalink_url,"
            "attachments{media_type,subattachments.limit(100){media_type}}",
            "limit": LOOKUP_PAGE_SIZE,
        }
        if oldest is not None:
            params["since"] = int(oldest.timestamp())
        seen = 0
        after: str | None = None
        while seen < LOOKUP_DEPTH:
            if after:
                params["after"] = after
            page = self._call("GET", f"{self.page_id}/posts", params=params)
            posts = page.get("data") or []
            yield from posts
            seen += len(posts)
            after = ((page.get("paging") or {}).get("cursors") or {}).get("after")
            if not posts or not (page.get("paging") or {}).get("next") or not after:
                return

    def _upload_photo(self, item: MediaItem) -> str:
        """Upload one image unpublished, with its alt text; return the photo id."""
        form = {"published": "false"}
        if item.alt:
            form["alt_text_custom"] = item.alt
        body = self._call(
            "POST",
            f"{self.page_id}/photos",
            data=form,
            files={"source": (item.filename, item.data, item.mime)},
        )
        photo_id = str(body.get("id") or "")
        if not photo_id:
            raise Transient(
                "Facebook accepted a photo but did not say its id", platform=self.platform
            )
        return photo_id


def _photo_count(post: dict[str, Any]) -> int:
    """Photos on a post: one attachment per photo, or an album's sub-attachments."""
    count = 0
    for attachment in (post.get("attachments") or {}).get("data") or []:
        subs = (attachment.get("subattachments") or {}).get("data")
        if subs:
            count += sum(1 for sub in subs if sub.get("media_type") == "photo")
        elif attachment.get("media_type") == "photo":
            count += 1
    return count


def _url(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id}"


def _graph_time(value: Any) -> datetime | None:
    """Graph API times look like ``2026-11-26T11:00:00+0000``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
    except ValueError:
        return None


__all__ = ["FacebookConnector", "regain_access_at"]
