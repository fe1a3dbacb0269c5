"""A loopback Mastodon instance: the endpoints Gatepost calls, with real bearer checks.

Implements app registration and the out-of-band authorisation-code flow, credential
verification, instance limits, asynchronous media (202, then 206 while processing),
statuses with ``Idempotency-Key``, edit, delete and an account's status list. Statuses
are rendered to HTML as Mastodon does, so lookups must read ``content`` the real way.
"""

from __future__ import annotations

import html
import itertools
import re
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

import regex

from tests.fakes.base import FakePlatform, FakeRequest, FakeResponse

_URL = re.compile(r"https?://[^\s<>\"]+")
INVALID_TOKEN = {"error": "The access token is invalid"}


def render_content(text: str) -> str:
    """Render plain status text to HTML the way Mastodon does (paragraphs, links)."""

    def linkify(escaped: str) -> str:
        def one(m: re.Match[str]) -> str:
            url = html.unescape(m.group(0))
            scheme, _, rest = url.partition("://")
            shown, hidden = rest[:30], rest[30:]
            ellipsis = " ellipsis" if hidden else ""
            return (
                f'<a href="{html.escape(url)}" rel="nofollow noopener" target="_blank">'
                f'<span class="invisible">{scheme}://</span>'
                f'<span class="{ellipsis.strip() or ""}">{html.escape(shown)}</span>'
                f'<span class="invisible">{html.escape(hidden)}</span></a>'
            )

        return _URL.sub(one, escaped)

    paragraphs = [p for p in text.split("\n\n")]
    out = []
    for para in paragraphs:
        lines = [linkify(html.escape(line, quote=False)) for line in para.split("\n")]
        out.append("<p>" + "<br />".join(lines) + "</p>")
    return "".join(out)


def countable_length(text: str) -> int:
    """Mastodon's count: graphemes, each URL as 23, a remote mention as its local part."""
    text = _URL.sub("x" * 23, text)
    text = re.sub(r"(@\w+)@[\w.-]+\w", r"\1", text)
    return len(regex.findall(r"\X", text))


class FakeMastodon(FakePlatform):
    """A Mastodon instance for one account, ``@comms@127.0.0.1``."""

    def __init__(self, *, max_characters: int = 500) -> None:
        super().__init__()
        self.max_characters = max_characters
        self.account = {"id": "109000000000000001", "username": "comms", "acct": "comms"}
        self.tokens: set[str] = {"good-mastodon-token"}
        self.apps: dict[str, dict[str, str]] = {}
        self.codes: dict[str, str] = {}  # code -> client_id
        self.media: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, str] = {}  # key -> status id
        #: how many GET /api/v1/media/:id answer 206 before the media is ready
        self.media_processing_polls = 0
        self._ids = itertools.count(110000000000000001)
        self._state = threading.Lock()

        self.route("POST", r"/api/v1/apps", self._create_app)
        self.route("GET", r"/oauth/authorize", self._authorize_page)
        self.route("POST", r"/oauth/token", self._token)
        self.route("GET", r"/api/v1/accounts/verify_credentials", self._verify)
        self.route("GET", r"/api/v2/instance", self._instance)
        self.route("POST", r"/api/v2/media", self._upload)
        self.route("GET", r"/api/v1/media/(\d+)", self._media_status)
        self.route("POST", r"/api/v1/statuses", self._post_status)
        self.route("PUT", r"/api/v1/statuses/(\d+)", self._edit_status)
        self.route("DELETE", r"/api/v1/statuses/(\d+)", self._delete_status)
        self.route("GET", r"/api/v1/statuses/(\d+)", self._get_status)
        self.route("GET", r"/api/v1/accounts/(\d+)/statuses", self._account_statuses)

    # -- platform behaviour for the base's faults -------------------------------------

    def rate_limit_headers(self) -> dict[str, str]:
        reset = datetime.fromtimestamp(self.rate_limit_reset, UTC)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }

    def expired_response(self) -> FakeResponse:
        return FakeResponse(401, INVALID_TOKEN)

    # -- helpers for tests -------------------------------------------------------------

    def revoke(self, token: str) -> None:
        """Make ``token`` invalid, as when a user revokes the app."""
        self.tokens.discard(token)

    def forget_idempotency_keys(self) -> None:
        """What the instance does after about an hour."""
        self.idempotency.clear()

    def _next_id(self) -> str:
        return str(next(self._ids))

    def _authorised(self, req: FakeRequest) -> bool:
        header = req.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and token in self.tokens

    def _status_json(self, status: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in status.items() if k != "text"}

    # -- OAuth ------------------------------------------------------------------------

    def _create_app(self, req: FakeRequest) -> FakeResponse:
        fields = req.json() if "json" in req.headers.get("Content-Type", "") else None
        if fields is None:
            fields = {k: v[0] for k, v in req.form().items()}
        if not fields.get("client_name") or not fields.get("redirect_uris"):
            return FakeResponse(422, {"error": "Validation failed: Name can't be blank"})
        client_id = secrets.token_urlsafe(16)
        app = {
            "id": self._next_id(),
            "name": fields["client_name"],
            "client_id": client_id,
            "client_secret": secrets.token_urlsafe(24),
            "redirect_uri": fields["redirect_uris"],
            "scopes": fields.get("scopes", "read"),
        }
        self.apps[client_id] = app
        return FakeResponse(200, app)

    def _authorize_page(self, req: FakeRequest) -> FakeResponse:
        """The page a user sees after approving: it shows the code to copy."""
        client_id = req.query.get("client_id", [""])[0]
        if client_id not in self.apps or req.query.get("response_type") != ["code"]:
            return FakeResponse(400, {"error": "invalid_request"})
        code = secrets.token_urlsafe(12)
        self.codes[code] = client_id
        page = f"<html><body><p>Copy this code:</p><input id='code' value='{code}'></body></html>"
        return FakeResponse(200, raw=page.encode(), headers={"Content-Type": "text/html"})

    def _token(self, req: FakeRequest) -> FakeResponse:
        form = {k: v[0] for k, v in req.form().items()}
        client_id = form.get("client_id", "")
        app = self.apps.get(client_id)
        if app is None or form.get("client_secret") != app["client_secret"]:
            return FakeResponse(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
            )
        if (
            form.get("grant_type") != "authorization_code"
            or self.codes.pop(form.get("code", ""), None) != client_id
        ):
            return FakeResponse(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The provided authorization grant is invalid",
                },
            )
        token = secrets.token_urlsafe(32)
        self.tokens.add(token)
        return FakeResponse(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "scope": app["scopes"],
                "created_at": 1764158400,
            },
        )

    # -- API --------------------------------------------------------------------------

    def _verify(self, req: FakeRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, INVALID_TOKEN)
        return FakeResponse(200, {**self.account, "url": f"{self.base_url}/@comms"})

    def _instance(self, req: FakeRequest) -> FakeResponse:
        return FakeResponse(
            200,
            {
                "domain": "127.0.0.1",
                "configuration": {
                    "statuses": {
                        "max_characters": self.max_characters,
                        "max_media_attachments": 4,
                        "characters_reserved_per_url": 23,
                    },
                    "media_attachments": {
                        "supported_mime_types": ["image/png", "image/jpeg", "image/gif"],
                        "image_size_limit": 16777216,
                    },
                },
            },
        )

    def _upload(self, req: FakeRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, INVALID_TOKEN)
        fields = req.multipart()
        upload = fields.get("file")
        if upload is None or not upload.data:
            return FakeResponse(422, {"error": "Validation failed: File can't be blank"})
        media_id = self._next_id()
        ready = self.media_processing_polls == 0
        item = {
            "id": media_id,
            "type": "image",
            "url": f"{self.base_url}/media/{media_id}.png" if ready else None,
            "description": fields["description"].text if "description" in fields else None,
            "_bytes": upload.data,
            "_mime": upload.content_type,
            "_polls_left": self.media_processing_polls,
        }
        with self._state:
            self.media[media_id] = item
        return FakeResponse(200 if ready else 202, self._media_json(item))

    @staticmethod
    def _media_json(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if not k.startswith("_")}

    def _media_status(self, req: FakeRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, INVALID_TOKEN)
        assert req.match is not None
        item = self.media.get(req.match.group(1))
        if item is None:
            return FakeResponse(404, {"error": "Record not found"})
        with self._state:
            if item["url"] is None:
                if item["_polls_left"] > 0:
                    item["_polls_left"] -= 1
                    return FakeResponse(206, self._media_json(item))
                item["url"] = f"{self.base_url}/media/{item['id']}.png"
        return FakeResponse(200, self._media_json(item))

    def _status_fields(self, req: FakeRequest) -> dict[str, Any]:
        if "json" in req.headers.get("Content-Type", ""):
            body: dict[str, Any] = req.json()
            return body
        form = req.form()
        return {
            "status": form.get("status", [""])[0],
            "media_ids": form.get("media_ids[]", []),
        }

    def _check_status(self, fields: dict[str, Any]) -> tuple[FakeResponse | None, list[Any]]:
        text = fields.get("status") or ""
        media_ids = [str(m) for m in fields.get("media_ids") or []]
        if not text and not media_ids:
            return FakeResponse(422, {"error": "Validation failed: Text can't be blank"}), []
        if countable_length(text) > self.max_characters:
            return FakeResponse(
                422,
                {
                    "error": "Validation failed: Text character limit of "
                    f"{self.max_characters} exceeded"
                },
            ), []
        attachments = []
        for media_id in media_ids:
            item = self.media.get(media_id)
            if item is None:
                return FakeResponse(422, {"error": "Validation failed: media not found"}), []
            if item["url"] is None:
                return FakeResponse(
                    422,
                    {
                        "error": "Cannot attach files that have not finished processing. "
                        "Try again in a moment!"
                    },
                ), []
            attachments.append(self._media_json(item))
        return None, attachments

    def _post_status(self, req: FakeRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, INVALID_TOKEN)
        key = req.headers.get("Idempotency-Key")
        with self._state:
            if key and key in self.idempotency:
                return FakeResponse(200, self._status_json(self.statuses[self.idempotency[key]]))
        fields = self._status_fields(req)
        refusal, attachments = self._check_status(fields)
        if refusal is not None:
            return refusal
        text = fields.get("status") or ""
        status_id = self._next_id()
        now = datetime.now(UTC)
        status = {
            "id": status_id,
            "created_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "edited_at": None,
            "url": f"{self.base_url}/@comms/{status_id}",
            "uri": f"{self.base_url}/users/comms/statuses/{status_id}",
            "content": render_content(text),
            "visibility": fields.get("visibility", "public"),
            "media_attachments": attachments,
            "account": self.account,
            "text": text,
        }
        with self._state:
            self.statuses[status_id] = status
            if key:
                self.idempotency[key] = status_id
            self.posts.append({"id": status_id, "text": text, "media": attachments, "key": key})
        return FakeResponse(200, self._status_json(status))

    def _edit_status(self, req: FakeRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, INVALID_TOKEN)
        assert req.match is not None
        status = self.statuses.get(req.match.group(1))
        if status is None:
            return FakeResponse(404, {"error": "Record not found"})
        fields = self._status_fields(req)
        refusal, attachments = self._check_status(fields)
        if refusal is not None:
            return refusal
        text = fields.get("status") or ""
        with self._state:
            status.update(
                text=text,
                content=render_content(text),
                media_attachments=attachments,
                edited_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            )
        return FakeResponse(200, self._status_json(status))

    def _delete_status(self, req: FakeRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, INVALID_TOKEN)
        assert req.match is not None
        with self._state:
            status = self.statuses.pop(req.match.group(1), None)
        if status is None:
            return FakeResponse(404, {"error": "Record not found"})
        return FakeResponse(200, {**self._status_json(status), "text": status["text"]})

    def _get_status(self, req: FakeRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, INVALID_TOKEN)
        assert req.match is not None
        status = self.statuses.get(req.match.group(1))
        if status is None:
            return FakeResponse(404, {"error": "Record not found"})
        return FakeResponse(200, self._status_json(status))

    def _account_statuses(self, req: FakeRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, INVALID_TOKEN)
        assert req.match is not None
        if req.match.group(1) != self.account["id"]:
            return FakeResponse(404, {"error": "Record not found"})
        limit = min(int(req.query.get("limit", ["20"])[0]), 40)
        max_id = req.query.get("max_id", [None])[0]
        newest_first = sorted(self.statuses.values(), key=lambda s: int(s["id"]), reverse=True)
        if max_id is not None:
            newest_first = [s for s in newest_first if int(s["id"]) < int(max_id)]
        page = [self._status_json(s) for s in newest_first[:limit]]
        return FakeResponse(200, page)
