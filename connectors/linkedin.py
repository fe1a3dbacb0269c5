"""LinkedIn organisation pages through the Posts and Images APIs (requests-oauthlib).

Credentials: ``access_token`` (a member token with ``w_organization_social`` for a
person who administers the page), and, when LinkedIn grants refresh tokens to the app,
``refresh_token``, ``client_id`` and ``client_secret``. Options: ``organization_id``
(the page's number or its ``urn:li:organization:`` URN, required) and
``linkedin_version`` (the ``LinkedIn-Version`` header, ``YYYYMM``).

The post text goes in ``commentary``, which LinkedIn reads as its "little" text
format: ``\\ | { } @ [ ] ( ) < > # * _ ~`` are markup there, and LinkedIn silently cuts
a post at the first unescaped one. :func:`escape_commentary` escapes them, leaving links
and ``#hashtags`` as they are so they still link.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from connectors.base import (
    AccountConfig,
    MediaItem,
    Problem,
    PublishRequest,
    Receipt,
    TextMeasure,
)
from connectors.errors import AuthExpired, ConnectorError, CredentialsError, Permanent, Transient
from connectors.http import new_session, quiet_http_debug_logs, send
from connectors.limits import (
    comparable_text,
    count_characters,
    int_option,
    media_problems,
    raise_if_invalid,
    text_problems,
)
from connectors.routing import route_public_hosts

LINKEDIN_HOSTS = ("api.linkedin.com", "www.linkedin.com")
LINKEDIN_API = "https://api.linkedin.com/rest"
LINKEDIN_TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"

#: ``LinkedIn-Version`` sent unless the account's ``linkedin_version`` option says otherwise.
LINKEDIN_VERSION = "202610"

LINKEDIN_TEXT_LIMIT = 3000
#: A multi-image post takes 2 to 20 images; JPEG, PNG or GIF.
LINKEDIN_MAX_IMAGES = 20
LINKEDIN_MAX_IMAGE_BYTES = 8 * 1024 * 1024
LINKEDIN_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
LINKEDIN_MAX_ALT_TEXT = 4086

#: How many of the page's latest posts ``lookup`` searches, and per request.
LOOKUP_DEPTH = 100
LOOKUP_PAGE_SIZE = 50
#: Posts this much older than the attempt are still candidates (clock skew).
CLOCK_SLACK = timedelta(minutes=2)

RESET_HEADERS = ("retry-after", "x-ratelimit-reset")

_RESERVED = re.compile(r"[\\|{}@\[\]()<>#*_~]")
# Left unescaped: links (so they auto-link) and hashtags (so they stay clickable).
_KEEP = re.compile(r"https?://\S+|(?<![\w#])#\w+", re.IGNORECASE)
_ESCAPED = re.compile(r"\\([\\|{}@\[\]()<>#*_~])")


def escape_commentary(text: str) -> str:
    """Escape LinkedIn's little-format markup characters in ``text``.

    Links and ``#hashtags`` are kept as they are; everything else reserved gets a
    backslash, so the post reads exactly as written.
    """
    out: list[str] = []
    position = 0
    for kept in _KEEP.finditer(text):
        out.append(_RESERVED.sub(lambda m: "\\" + m.group(0), text[position : kept.start()]))
        out.append(kept.group(0))
        position = kept.end()
    out.append(_RESERVED.sub(lambda m: "\\" + m.group(0), text[position:]))
    return "".join(out)


def unescape_commentary(text: str) -> str:
    """Undo :func:`escape_commentary`: the text as a reader sees it."""
    return _ESCAPED.sub(r"\1", text)


def text_limit(options: Mapping[str, str]) -> int:
    """The account's limit in characters: its ``text_limit`` option, else 3,000.

    Raises ``ConnectorError`` when the option is not a positive whole number.
    """
    return int_option(options, "text_limit", LINKEDIN_TEXT_LIMIT)


#: Counts as readers see the text (NFC characters); ``measure`` and
#: ``connectors.measure_text`` both count with this.
count_text = count_characters


def _json_object(response: requests.Response, *, platform: str) -> dict[str, Any]:
    """The response's JSON object; ``Transient`` when the body is not one (a proxy's page)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Transient(
            f"{platform} answered {response.status_code} with a body that is not JSON",
            platform=platform.lower(),
        )
    return body


def _image_count(post: dict[str, Any]) -> int:
    content = post.get("content") or {}
    if "media" in content:
        return 1
    return len((content.get("multiImage") or {}).get("images") or [])


class LinkedInConnector:
    """Publish to one LinkedIn organisation page. See the module docstring."""

    platform = "linkedin"

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
        if not self.credentials.get("access_token"):
            raise CredentialsError(
                f"LinkedIn account {config.name!r} has no access_token; connect it first",
                platform=self.platform,
            )
        organization = str(config.options.get("organization_id", "")).strip()
        if not organization:
            raise ConnectorError(
                f"LinkedIn account {config.name!r} needs the option organization_id",
                platform=self.platform,
            )
        self.author = (
            organization
            if organization.startswith("urn:li:organization:")
            else f"urn:li:organization:{organization}"
        )
        self.version = str(config.options.get("linkedin_version") or LINKEDIN_VERSION)
        self.text_limit = text_limit(config.options)
        self._build_session()

    def _build_session(self) -> None:
        session = OAuth2Session(
            token={"access_token": self.credentials["access_token"], "token_type": "Bearer"}
        )
        new_session(session)
        session.headers["LinkedIn-Version"] = self.version
        session.headers["X-Restli-Protocol-Version"] = "2.0.0"
        self.session = route_public_hosts(
            session, LINKEDIN_HOSTS, self.config.api_base, self.timeout
        )

    @property
    def _secrets(self) -> list[str]:
        return [v for k, v in self.credentials.items() if k != "client_id"]

    # -- calls, with one refresh on an expired token ------------------------------------

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        def once() -> requests.Response:
            return send(
                self.session,
                method,
                url,
                platform=self.platform,
                timeout=self.timeout,
                reset_headers=RESET_HEADERS,
                secrets=self._secrets,
                **kwargs,
            )

        try:
            return once()
        except AuthExpired:
            if not self._can_refresh():
                raise AuthExpired(
                    f"LinkedIn refused the token of account {self.config.name!r}; "
                    "reconnect the account",
                    platform=self.platform,
                ) from None
        self._refresh()
        return once()

    def _can_refresh(self) -> bool:
        return all(self.credentials.get(k) for k in ("refresh_token", "client_id", "client_secret"))

    def _refresh(self) -> None:
        """Swap the refresh token for a new access token and hand both to the store."""
        creds = self.credentials
        session = OAuth2Session(client_id=creds["client_id"])
        route_public_hosts(new_session(session), LINKEDIN_HOSTS, self.config.api_base, self.timeout)
        try:
            token = session.refresh_token(
                LINKEDIN_TOKEN_URL,
                refresh_token=creds["refresh_token"],
                client_id=creds["client_id"],
                client_secret=creds["client_secret"],
            )
        except OAuth2Error:
            raise AuthExpired(
                f"LinkedIn refused to refresh the token of account {self.config.name!r}; "
                "reconnect the account",
                platform=self.platform,
            ) from None
        except requests.RequestException:
            raise Transient(
                "LinkedIn did not answer the token refresh", platform=self.platform
            ) from None
        creds["access_token"] = str(token["access_token"])
        if token.get("refresh_token"):
            creds["refresh_token"] = str(token["refresh_token"])
        if self.save_credentials is not None:
            self.save_credentials(dict(creds))
        self._build_session()

    # -- the protocol ----------------------------------------------------------------------

    def measure(self, text: str) -> TextMeasure:
        """Characters of the text as readers see it, against LinkedIn's 3,000."""
        return count_text(text, self.text_limit)

    def validate(self, request: PublishRequest) -> list[Problem]:
        """Every LinkedIn limit the request breaks: length, images and alt text."""
        problems = text_problems(
            request.text, self.measure(request.text), has_media=bool(request.media)
        )
        problems += media_problems(
            request.media,
            max_count=LINKEDIN_MAX_IMAGES,
            max_bytes=LINKEDIN_MAX_IMAGE_BYTES,
            formats=LINKEDIN_IMAGE_TYPES,
        )
        for number, item in enumerate(request.media, start=1):
            if len(item.alt) > LINKEDIN_MAX_ALT_TEXT:
                problems.append(
                    Problem(
                        "alt_too_long",
                        f"Image {number} has {len(item.alt)} characters of alt text; "
                        f"LinkedIn takes at most {LINKEDIN_MAX_ALT_TEXT}.",
                    )
                )
        return problems

    def publish(self, request: PublishRequest) -> Receipt:
        """Upload the images, then create the post as the organisation.

        Raises ``RateLimited`` (429), ``AuthExpired`` (after a refresh where possible),
        ``Transient`` (5xx, time-outs, lost connections) or ``Permanent`` (refused,
        including a duplicate post).
        """
        raise_if_invalid(self.validate(request), platform=self.platform)
        images = [(self._upload_image(item), item.alt) for item in request.media]
        body: dict[str, Any] = {
            "author": self.author,
            "commentary": escape_commentary(request.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if len(images) == 1:
            body["content"] = {"media": {"id": images[0][0], "altText": images[0][1]}}
        elif images:
            body["content"] = {
                "multiImage": {"images": [{"id": urn, "altText": alt} for urn, alt in images]}
            }
        response = self._send("POST", f"{LINKEDIN_API}/posts", json=body)
        urn = response.headers.get("x-restli-id", "")
        if not urn:
            raise Transient(
                "LinkedIn accepted the post but did not say its id", platform=self.platform
            )
        return Receipt(urn, self._url(urn), datetime.now(UTC))

    def delete(self, remote_id: str) -> None:
        """Delete the post; a post that is already gone counts as deleted."""
        try:
            self._send("DELETE", f"{LINKEDIN_API}/posts/{quote(remote_id, safe='')}")
        except Permanent as exc:
            if "(404)" not in exc.message:
                raise

    def edit(self, remote_id: str, request: PublishRequest) -> Receipt:
        """Replace the post's text in place; its images stay as first published."""
        raise_if_invalid(self.validate(request), platform=self.platform)
        self._send(
            "POST",
            f"{LINKEDIN_API}/posts/{quote(remote_id, safe='')}",
            json={"patch": {"$set": {"commentary": escape_commentary(request.text)}}},
            headers={"X-RestLi-Method": "PARTIAL_UPDATE"},
        )
        return Receipt(remote_id, self._url(remote_id), datetime.now(UTC))

    def lookup(self, request: PublishRequest) -> Receipt | None:
        """Search the page's latest posts for one whose text is the request's.

        LinkedIn has no idempotency key, so the match is on the text as readers see
        it and the number of images. Posts older than ``request.attempted_at`` (less
        ``CLOCK_SLACK``) are not candidates. Returns ``None`` when none of the latest
        ``LOOKUP_DEPTH`` matches.
        """
        wanted = comparable_text(request.text)
        oldest = request.attempted_at - CLOCK_SLACK if request.attempted_at else None
        for post in self._recent_posts():
            created = datetime.fromtimestamp(
                int(post.get("createdAt") or post.get("publishedAt") or 0) / 1000, UTC
            )
            if oldest is not None and created < oldest:
                return None
            if post.get("lifecycleState", "PUBLISHED") != "PUBLISHED":
                continue
            same_text = (
                comparable_text(unescape_commentary(str(post.get("commentary", "")))) == wanted
            )
            if same_text and _image_count(post) == len(request.media):
                urn = str(post["id"])
                return Receipt(urn, self._url(urn), created)
        return None

    # -- helpers ------------------------------------------------------------------------------

    def _recent_posts(self) -> Iterator[dict[str, Any]]:
        start = 0
        while start < LOOKUP_DEPTH:
            page_response = self._send(
                "GET",
                f"{LINKEDIN_API}/posts",
                params={
                    "author": self.author,
                    "q": "author",
                    "count": LOOKUP_PAGE_SIZE,
                    "start": start,
                    "sortBy": "CREATED",
                },
                headers={"X-RestLi-Method": "FINDER"},
            )
            page = _json_object(page_response, platform="LinkedIn")
            elements = page.get("elements") or []
            yield from elements
            if len(elements) < LOOKUP_PAGE_SIZE:
                return
            start += len(elements)

    def _upload_image(self, item: MediaItem) -> str:
        """Register an upload with the Images API, PUT the bytes, return the image URN."""
        response = self._send(
            "POST",
            f"{LINKEDIN_API}/images",
            params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {"owner": self.author}},
        )
        value = _json_object(response, platform="LinkedIn").get("value")
        value = value if isinstance(value, dict) else {}
        upload_url, urn = value.get("uploadUrl"), value.get("image")
        if not upload_url or not urn:
            raise Transient("LinkedIn did not give an image upload address", platform=self.platform)
        self._send("PUT", upload_url, data=item.data, headers={"Content-Type": item.mime})
        return str(urn)

    @staticmethod
    def _url(urn: str) -> str:
        return f"https://www.linkedin.com/feed/update/{urn}/"


__all__ = [
    "LINKEDIN_VERSION",
    "LinkedInConnector",
    "escape_commentary",
    "unescape_commentary",
]
