"""Bluesky over its XRPC HTTP API, with ``requests``.

Session: the app password is used once (``com.atproto.server.createSession``); the
access and refresh tokens it returns are handed to ``save_credentials`` and reused by
every later connector for the account. An expired access token is renewed with
``com.atproto.server.refreshSession`` (and the new pair saved again); only when the
refresh token is dead too does the connector log in again. Bluesky limits logins to a
few hundred a day per handle, so a login per post would lock the account out.

Publishing uploads images with ``com.atproto.repo.uploadBlob`` and writes an
``app.bsky.feed.post`` record with ``com.atproto.repo.createRecord``. Links, mentions
(resolved to DIDs) and hashtags become facets with UTF-8 *byte* offsets. The record key
is a TID derived from the idempotency key and ``attempted_at``, so sending the same
attempt twice hits the same record instead of making a second post (the server only
takes caller-chosen keys close to the current time, so this applies within
``RKEY_WINDOW`` of the attempt; outside it the server picks the key and
:meth:`BlueskyConnector.lookup` falls back to matching the text in the author feed).

Credentials: ``identifier`` (handle or DID) and ``app_password``; the connector adds
``did``, ``handle``, ``access_jwt`` and ``refresh_jwt``. Options: ``max_graphemes``
(300), ``web_base`` (https://bsky.app), ``langs`` (comma-separated).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import regex
import requests

from connectors.base import AccountConfig, MediaItem, Problem, PublishRequest, Receipt, TextMeasure
from connectors.errors import (
    AuthExpired,
    CredentialsError,
    Permanent,
    Unsupported,
)
from connectors.http import check_response, new_session, send
from connectors.limits import int_option, media_problems, raise_if_invalid, text_problems

DEFAULT_API_BASE = "https://bsky.social"
DEFAULT_WEB_BASE = "https://bsky.app"
POST_COLLECTION = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 1_000_000
RESET_HEADERS = ("ratelimit-reset", "retry-after")
#: Caller-chosen record keys are only taken near the current time; stay well inside.
RKEY_WINDOW = timedelta(minutes=5)
#: Author-feed posts read when looking a post up by its text.
LOOKUP_PAGE_SIZE = 50
LOOKUP_PAGES = 2
CLOCK_SLACK = timedelta(minutes=5)
#: Errors with which the server says the access (or refresh) token is no longer good.
EXPIRED_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})

logger = logging.getLogger(__name__)

_GRAPHEME = regex.compile(r"\X")
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
# Facet patterns follow Bluesky's own (social-app's RichText detection).
_URL = regex.compile(r"(?:^|\s|\()(https?://[^\s]+)")
_TRAILING = regex.compile(r"[.,;:!?'\")\]]+$")
_MENTION = regex.compile(
    r"(?:^|\s|\()(@(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)"
)
_HASHTAG = regex.compile(r"(?:^|\s)([#＃](?!\ufe0f)[^\s\u00ad\u2060\u200a-\u200d\u20e2]+)")


def graphemes(text: str) -> int:
    """How many user-perceived characters (extended grapheme clusters) ``text`` has."""
    return len(_GRAPHEME.findall(text))


def text_limit(options: Mapping[str, str]) -> int:
    """The account's limit in graphemes: its ``max_graphemes`` option, else 300.

    Raises ``ConnectorError`` when the option is not a positive whole number.
    """
    return int_option(options, "max_graphemes", MAX_GRAPHEMES)


def count_text(text: str, limit: int) -> TextMeasure:
    """Count ``text`` in graphemes against ``limit``.

    The connector's ``measure`` and ``connectors.measure_text`` both count with this.
    """
    return TextMeasure(used=graphemes(text), limit=limit, unit="graphemes")


def tid_for(key: str, at: datetime) -> str:
    """A record key in TID form for ``key`` at time ``at``: the same key and time always
    give the same TID; different keys at the same millisecond almost surely differ."""
    digest = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    millis = int(at.timestamp() * 1000)
    micros = millis * 1000 + (digest >> 10) % 1000
    value = (micros << 10) | (digest & 0x3FF)
    value &= (1 << 63) - 1
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of an image, or ``None`` when Pillow cannot read it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def _byte_span(text: str, start: int, end: int) -> dict[str, int]:
    return {
        "byteStart": len(text[:start].encode("utf-8")),
        "byteEnd": len(text[:end].encode("utf-8")),
    }


def detect_facets(text: str, resolve_handle: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Link, mention and hashtag facets of ``text`` with UTF-8 byte offsets.

    ``resolve_handle`` turns a handle (without ``@``) into a DID, or ``None`` when no
    such account exists; a mention of an unknown handle stays plain text.
    """
    facets: list[dict[str, Any]] = []
    for m in _URL.finditer(text):
        url = _TRAILING.sub("", m.group(1))
        start = m.start(1)
        facets.append(
            {
                "index": _byte_span(text, start, start + len(url)),
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
            }
        )
    for m in _MENTION.finditer(text):
        handle = m.group(1)[1:]
        did = resolve_handle(handle)
        if did is None:
            continue
        facets.append(
            {
                "index": _byte_span(text, m.start(1), m.end(1)),
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
            }
        )
    for m in _HASHTAG.finditer(text):
        tag = _TRAILING.sub("", m.group(1))
        name = tag[1:]
        # a tag needs a letter (not only digits) and at most 64 graphemes
        if not name or name.isdigit() or graphemes(name) > 64:
            continue
        start = m.start(1)
        facets.append(
            {
                "index": _byte_span(text, start, start + len(tag)),
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": name}],
            }
        )
    facets.sort(key=lambda f: f["index"]["byteStart"])
    return facets


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso_z(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BlueskyConnector:
    """One Bluesky account on its PDS (``api_base``, default https://bsky.social)."""

    platform = "bluesky"

    def __init__(
        self,
        config: AccountConfig,
        *,
        timeout: float = 10.0,
        save_credentials: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        creds = dict(config.credentials)
        if not creds.get("refresh_jwt") and not (
            creds.get("identifier") and creds.get("app_password")
        ):
            raise CredentialsError(
                f"Bluesky account {config.name!r} needs its handle and an app password; "
                f"run `gatepost accounts connect {config.name}`",
                platform=self.platform,
            )
        self.config = config
        self.base_url = (config.api_base or DEFAULT_API_BASE).rstrip("/")
        self.web_base = config.options.get("web_base", DEFAULT_WEB_BASE).rstrip("/")
        self.timeout = timeout
        self.max_graphemes = text_limit(config.options)
        self._credentials = creds
        self._save_credentials = save_credentials
        self._session = new_session()
        self._lock = threading.RLock()
        self._rkeys: dict[str, str] = {}

    # -- limits -------------------------------------------------------------------

    def measure(self, text: str) -> TextMeasure:
        """Count ``text`` in graphemes against Bluesky's 300."""
        return count_text(text, self.max_graphemes)

    def validate(self, request: PublishRequest) -> list[Problem]:
        """Return every limit the request breaks: graphemes, bytes, images, image size."""
        problems = text_problems(
            request.text, self.measure(request.text), has_media=bool(request.media)
        )
        size = len(request.text.encode("utf-8"))
        if size > MAX_TEXT_BYTES and not any(p.code == "too_long" for p in problems):
            problems.append(
                Problem("too_long", f"The text is {size} bytes; the limit is {MAX_TEXT_BYTES}.")
            )
        return problems + media_problems(
            request.media, max_count=MAX_IMAGES, max_bytes=MAX_IMAGE_BYTES
        )

    # -- operations ---------------------------------------------------------------

    def publish(self, request: PublishRequest) -> Receipt:
        """Upload the images and create the post record.

        Sending the same attempt again (same key and ``attempted_at``, within
        ``RKEY_WINDOW``) returns the first post instead of making another. Raises
        ``Permanent``, ``RateLimited``, ``Transient`` or ``AuthExpired``.
        """
        raise_if_invalid(self.validate(request), platform=self.platform)
        did = self._did()
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": request.text,
            "createdAt": _iso_z(datetime.now(UTC)),
        }
        facets = detect_facets(request.text, self._resolve_handle)
        if facets:
            record["facets"] = facets
        if request.media:
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [self._image_embed(item) for item in request.media],
            }
        langs = [x.strip() for x in self.config.options.get("langs", "").split(",") if x.strip()]
        if langs:
            record["langs"] = langs
        body: dict[str, Any] = {"repo": did, "collection": POST_COLLECTION, "record": record}
        rkey = self._rkey_for(request)
        if rkey is not None:
            body["rkey"] = rkey
        try:
            created = self._xrpc("POST", "com.atproto.repo.createRecord", json=body).json()
        except Permanent as refused:
            if rkey is None:
                raise
            # the record key is taken: if it holds this very post, the first send won
            existing = self._get_post(did, rkey)
            if existing is not None:
                if existing["value"].get("text") == request.text:
                    return self._receipt(existing["uri"], existing["value"])
                raise
            if "rkey" not in refused.reason.lower() and "record key" not in refused.reason.lower():
                raise
            # the server would not take our key (its clock is far from ours); nothing was
            # written under it, so let the server choose one
            logger.info("Bluesky refused the record key; letting the server choose one")
            body.pop("rkey")
            created = self._xrpc("POST", "com.atproto.repo.createRecord", json=body).json()
        return self._receipt(created["uri"], record)

    def delete(self, remote_id: str) -> None:
        """Delete a post by its ``at://`` URI (or its record key on this account)."""
        repo, collection, rkey = self._split_uri(remote_id)
        self._xrpc(
            "POST",
            "com.atproto.repo.deleteRecord",
            json={"repo": repo, "collection": collection, "rkey": rkey},
        )

    def edit(self, remote_id: str, request: PublishRequest) -> Receipt:
        """Bluesky posts cannot be edited: raises ``Unsupported`` (delete and repost)."""
        raise Unsupported(
            "Bluesky posts cannot be edited; delete the post and publish a corrected one",
            platform=self.platform,
        )

    def lookup(self, request: PublishRequest) -> Receipt | None:
        """Find the request's post: by its record key first, then by exact text in the
        account's recent posts (newer than ``attempted_at`` when given)."""
        did = self._did()
        rkey = self._rkey_for(request, for_lookup=True)
        if rkey is not None:
            found = self._get_post(did, rkey)
            if found is not None:
                return self._receipt(found["uri"], found["value"])
        oldest = request.attempted_at
        cursor: str | None = None
        for _ in range(LOOKUP_PAGES):
            params: dict[str, Any] = {
                "actor": did,
                "limit": LOOKUP_PAGE_SIZE,
                "filter": "posts_no_replies",
            }
            if cursor:
                params["cursor"] = cursor
            page = self._xrpc("GET", "app.bsky.feed.getAuthorFeed", params=params).json()
            for item in page.get("feed") or []:
                post = item.get("post") or {}
                value = post.get("record") or {}
                if (post.get("author") or {}).get("did") not in (None, did):
                    continue  # a repost of someone else's post
                created = _parse_time(str(value.get("createdAt") or post.get("indexedAt")))
                if oldest is not None and created < oldest - CLOCK_SLACK:
                    return None
                images = ((value.get("embed") or {}).get("images")) or []
                if value.get("text") == request.text and len(images) == len(request.media):
                    return self._receipt(post["uri"], value)
            cursor = page.get("cursor")
            if not cursor:
                break
        return None

    # -- session ------------------------------------------------------------------

    def _did(self) -> str:
        with self._lock:
            if not self._credentials.get("did") or not self._credentials.get("access_jwt"):
                self._login()
            return self._credentials["did"]

    def _login(self) -> None:
        identifier = self._credentials.get("identifier", "")
        password = self._credentials.get("app_password", "")
        if not identifier or not password:
            raise AuthExpired(
                f"Bluesky account {self.config.name!r}: the session has ended and no app "
                f"password is stored; run `gatepost accounts connect {self.config.name}`",
                platform=self.platform,
            )
        response = send(
            self._session,
            "POST",
            self._url("com.atproto.server.createSession"),
            platform=self.platform,
            timeout=self.timeout,
            check=False,
            json={"identifier": identifier, "password": password},
        )
        logger.info("Bluesky login for account %s (createSession)", self.config.name)
        if response.status_code == 401:
            raise AuthExpired(
                f"Bluesky account {self.config.name!r}: the handle or app password was "
                "refused; create a new app password and reconnect the account",
                platform=self.platform,
            )
        self._check(response)
        self._adopt(response.json())

    def _refresh(self) -> None:
        refresh = self._credentials.get("refresh_jwt", "")
        if not refresh:
            self._login()
            return
        response = send(
            self._session,
            "POST",
            self._url("com.atproto.server.refreshSession"),
            platform=self.platform,
            timeout=self.timeout,
            check=False,
            headers={"Authorization": f"Bearer {refresh}"},
        )
        if self._is_expired(response):
            # the refresh token is dead too: one new login with the app password
            self._credentials.pop("refresh_jwt", None)
            self._login()
            return
        self._check(response)
        self._adopt(response.json())

    def _adopt(self, session: Mapping[str, Any]) -> None:
        self._credentials.update(
            access_jwt=str(session["accessJwt"]),
            refresh_jwt=str(session["refreshJwt"]),
            did=str(session["did"]),
            handle=str(session.get("handle") or self._credentials.get("handle", "")),
        )
        logger.info("Bluesky session for account %s started or renewed", self.config.name)
        if self._save_credentials is not None:
            self._save_credentials(dict(self._credentials))

    @staticmethod
    def _is_expired(response: requests.Response) -> bool:
        if response.status_code not in (400, 401):
            return False
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("error") in EXPIRED_ERRORS

    # -- XRPC ---------------------------------------------------------------------

    def _url(self, nsid: str) -> str:
        return f"{self.base_url}/xrpc/{nsid}"

    def _secrets(self) -> list[str]:
        keys = ("app_password", "access_jwt", "refresh_jwt")
        return [self._credentials[k] for k in keys if self._credentials.get(k)]

    def _check(self, response: requests.Response) -> requests.Response:
        try:
            return check_response(
                response,
                platform=self.platform,
                reset_headers=RESET_HEADERS,
                secrets=self._secrets(),
            )
        except AuthExpired as exc:
            raise AuthExpired(
                f"Bluesky account {self.config.name!r}: {exc.message}", platform=self.platform
            ) from None

    def _xrpc(self, method: str, nsid: str, **kwargs: Any) -> requests.Response:
        """Call ``nsid`` with the session's access token, refreshing it once if expired."""
        extra_headers = kwargs.pop("headers", {})
        for attempt in range(2):
            with self._lock:
                if not self._credentials.get("access_jwt"):
                    self._login()
                token = self._credentials["access_jwt"]
            response = send(
                self._session,
                method,
                self._url(nsid),
                platform=self.platform,
                timeout=self.timeout,
                check=False,
                headers={**extra_headers, "Authorization": f"Bearer {token}"},
                **kwargs,
            )
            if attempt == 0 and self._is_expired(response):
                logger.debug("Bluesky %s: access token expired, refreshing", nsid)
                with self._lock:
                    # another thread may have refreshed while this call was out
                    if self._credentials.get("access_jwt") == token:
                        self._refresh()
                continue
            return self._check(response)
        return self._check(response)

    def _resolve_handle(self, handle: str) -> str | None:
        response = send(
            self._session,
            "GET",
            self._url("com.atproto.identity.resolveHandle"),
            platform=self.platform,
            timeout=self.timeout,
            check=False,
            params={"handle": handle},
        )
        if response.status_code == 400:
            return None  # no such handle: the mention stays plain text
        did = self._check(response).json().get("did")
        return str(did) if did else None

    def _upload(self, item: MediaItem) -> dict[str, Any]:
        response = self._xrpc(
            "POST",
            "com.atproto.repo.uploadBlob",
            data=item.data,
            headers={"Content-Type": item.mime},
        )
        blob: dict[str, Any] = response.json()["blob"]
        return blob

    def _image_embed(self, item: MediaItem) -> dict[str, Any]:
        image: dict[str, Any] = {"alt": item.alt, "image": self._upload(item)}
        size = image_size(item.data)
        if size is not None:
            # lets the apps lay the image out before it loads
            image["aspectRatio"] = {"width": size[0], "height": size[1]}
        return image

    def _get_post(self, did: str, rkey: str) -> dict[str, Any] | None:
        response = send(
            self._session,
            "GET",
            self._url("com.atproto.repo.getRecord"),
            platform=self.platform,
            timeout=self.timeout,
            check=False,
            params={"repo": did, "collection": POST_COLLECTION, "rkey": rkey},
        )
        if response.status_code == 400:
            try:
                if response.json().get("error") == "RecordNotFound":
                    return None
            except ValueError:
                pass
        record: dict[str, Any] = self._check(response).json()
        return record

    def _rkey_for(self, request: PublishRequest, *, for_lookup: bool = False) -> str | None:
        """The record key for this attempt, or ``None`` to let the server choose one."""
        with self._lock:
            known = self._rkeys.get(request.idempotency_key)
        if known is not None:
            return known
        if request.attempted_at is not None:
            rkey = tid_for(request.idempotency_key, request.attempted_at)
            if for_lookup or abs(datetime.now(UTC) - request.attempted_at) < RKEY_WINDOW:
                return rkey
            return None
        if for_lookup:
            return None
        # no attempt time: remember the key we chose, so a retry by this connector
        # reuses it
        rkey = tid_for(request.idempotency_key, datetime.now(UTC))
        with self._lock:
            if len(self._rkeys) > 1000:
                self._rkeys.clear()  # a long-running daemon: keep only recent attempts
            self._rkeys[request.idempotency_key] = rkey
        return rkey

    def _split_uri(self, remote_id: str) -> tuple[str, str, str]:
        if remote_id.startswith("at://"):
            parts = remote_id[len("at://") :].split("/")
            if len(parts) == 3 and all(parts):
                return parts[0], parts[1], parts[2]
            raise Permanent(f"not a Bluesky post address: {remote_id!r}", platform=self.platform)
        return self._did(), POST_COLLECTION, remote_id

    def _receipt(self, uri: str, record: Mapping[str, Any]) -> Receipt:
        _, _, rkey = self._split_uri(uri)
        profile = self._credentials.get("handle") or self._credentials.get("did", "")
        return Receipt(
            remote_id=uri,
            url=f"{self.web_base}/profile/{quote(profile)}/post/{rkey}",
            published_at=_parse_time(str(record.get("createdAt") or _iso_z(datetime.now(UTC)))),
        )

    @property
    def credentials(self) -> dict[str, str]:
        """The account's current credentials, including the latest session tokens."""
        with self._lock:
            return dict(self._credentials)
