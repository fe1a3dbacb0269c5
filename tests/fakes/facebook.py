"""A loopback stand-in for the Graph API of one Facebook Page, and Facebook Login.

Checks the page token (``Authorization: Bearer`` or ``access_token``), the versioned
path and the ``graph.facebook.com`` host. Errors come back as the Graph API sends them:
HTTP 400 with ``{"error": {"code": ...}}`` — 190 for an expired token, 506 for a
duplicate post, 4/17/32/613 for throttling with ``X-Business-Use-Case-Usage``.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections import deque
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tests.fakes.base import FakePlatform, FakeRequest, FakeResponse

V = r"/v\d+\.\d+"


def graph_error(
    code: int, message: str, *, subcode: int | None = None, status: int = 400
) -> FakeResponse:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "A" + secrets.token_hex(8),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return FakeResponse(status, {"error": error})


class FakeFacebook(FakePlatform):
    """One page (``page_id``) managed by one user, behind a page token.

    ``posts`` holds each post (``id``, ``message``, ``attached_media``, ``created_time``
    as a datetime, ``deleted``); ``photos`` each uploaded photo (``data``, ``alt``,
    ``published``).
    """

    hang_seconds = 1.5

    def __init__(self) -> None:
        super().__init__()
        self.page_id = "104857600012345"
        self.page_name = "University of Example"
        self.app_id = "880011223344"
        self.app_secret = "fake-facebook-app-secret"
        self.page_token = "EAAfakepagetoken" + secrets.token_hex(12)
        self.page_tokens = {self.page_token}
        self.user_tokens: set[str] = set()
        self.long_lived_user_tokens: set[str] = set()
        self.codes: dict[str, str] = {}
        self.photos: dict[str, dict[str, Any]] = {}
        self.regain_minutes = 7
        self._throttles: deque[int] = deque()
        self._ids = itertools.count(900_000_000_000_001)
        self.route("POST", rf"{V}/(?P<page>\d+)/feed", self._create_post)
        self.route("POST", rf"{V}/(?P<page>\d+)/photos", self._upload_photo)
        self.route("GET", rf"{V}/(?P<page>\d+)/posts", self._list_posts)
        self.route("DELETE", rf"{V}/(?P<post>\d+_\d+)", self._delete_post)
        self.route("POST", rf"{V}/(?P<post>\d+_\d+)", self._edit_post)
        self.route("GET", rf"{V}/dialog/oauth", self._dialog)
        self.route("GET", rf"{V}/oauth/access_token", self._access_token)
        self.route("GET", rf"{V}/me/accounts", self._accounts)

    # -- what tests use ------------------------------------------------------------------

    def throttle(self, code: int = 32) -> None:
        """Answer the next Graph call with throttling error ``code``, as HTTP 400."""
        self._throttles.append(code)

    def live_posts(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if not p["deleted"]]

    def usage_header(self) -> dict[str, str]:
        usage = {
            self.page_id: [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 30,
                    "total_time": 40,
                    "estimated_time_to_regain_access": self.regain_minutes,
                }
            ]
        }
        return {"X-Business-Use-Case-Usage": json.dumps(usage)}

    def rate_limit_headers(self) -> dict[str, str]:
        return self.usage_header()

    def expired_response(self) -> FakeResponse:
        return graph_error(
            190,
            "Error validating access token: Session has expired on Thursday, 26-Nov-26.",
            subcode=463,
        )

    # -- checks ------------------------------------------------------------------------------

    def _check(self, req: FakeRequest) -> FakeResponse | None:
        if req.headers.get("Host") != "graph.facebook.com":
            return graph_error(1, "Unknown host")
        if self._throttles:
            code = self._throttles.popleft()
            response = graph_error(code, "Calls to this api have exceeded the rate limit.")
            response.headers.update(self.usage_header())
            return response
        auth = req.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        token = token or (req.query.get("access_token") or [""])[0]
        if token not in self.page_tokens:
            return graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        return None

    def _page(self, req: FakeRequest) -> FakeResponse | None:
        assert req.match is not None
        if req.match["page"] != self.page_id:
            return graph_error(100, "Unsupported post request. Object does not exist")
        return None

    # -- Pages API ----------------------------------------------------------------------------

    def _fields(self, req: FakeRequest) -> dict[str, str]:
        ctype = req.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            return {k: f.text for k, f in req.multipart().items() if f.filename is None}
        if ctype.startswith("application/json"):
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in req.json().items()}
        return {k: v[0] for k, v in req.form().items()}

    def _create_post(self, req: FakeRequest) -> FakeResponse:
        refused = self._check(req) or self._page(req)
        if refused:
            return refused
        fields = self._fields(req)
        message = fields.get("message", "")
        attached: list[str] = []
        for index in itertools.count():
            raw = fields.get(f"attached_media[{index}]")
            if raw is None:
                break
            photo_id = json.loads(raw).get("media_fbid", "")
            photo = self.photos.get(photo_id)
            if photo is None or photo["published"]:
                return graph_error(100, f"Invalid parameter: media_fbid {photo_id}")
            attached.append(photo_id)
        if not message and not attached:
            return graph_error(100, "Invalid parameter: message or attached_media required")
        with self._lock:
            if message and any(p["message"] == message for p in self.live_posts()):
                return graph_error(506, "Duplicate status message")
            post_id = f"{self.page_id}_{next(self._ids)}"
            self.posts.append(
                {
                    "id": post_id,
                    "message": message,
                    "attached_media": attached,
                    "created_time": datetime.now(UTC).replace(microsecond=0),
                    "deleted": False,
                }
            )
        return FakeResponse(200, {"id": post_id})

    def _upload_photo(self, req: FakeRequest) -> FakeResponse:
        refused = self._check(req) or self._page(req)
        if refused:
            return refused
        if not req.headers.get("Content-Type", "").startswith("multipart/form-data"):
            return graph_error(324, "Requires upload file")
        parts = req.multipart()
        if "source" not in parts:
            return graph_error(324, "Requires upload file")
        if len(parts["source"].data) > 4 * 1024 * 1024:
            return graph_error(100, "Photo is too large")
        photo_id = str(next(self._ids))
        self.photos[photo_id] = {
            "data": parts["source"].data,
            "content_type": parts["source"].content_type,
            "alt": parts["alt_text_custom"].text if "alt_text_custom" in parts else "",
            "published": parts["published"].text != "false" if "published" in parts else True,
        }
        return FakeResponse(200, {"id": photo_id})

    def _list_posts(self, req: FakeRequest) -> FakeResponse:
        refused = self._check(req) or self._page(req)
        if refused:
            return refused
        query = {k: v[0] for k, v in req.query.items()}
        limit = min(int(query.get("limit", 25)), 100)
        since = int(query["since"]) if "since" in query else None
        posts = [
            p
            for p in sorted(self.live_posts(), key=lambda p: p["created_time"], reverse=True)
            if since is None or p["created_time"].timestamp() >= since
        ]
        start = int(query.get("after", "0") or 0)
        chunk = posts[start : start + limit]
        data = [
            {
                "id": p["id"],
                **({"message": p["message"]} if p["message"] else {}),
                "created_time": p["created_time"].strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "permalink_url": f"https://www.facebook.com/{p['id']}",
                **_attachments(p["attached_media"]),
            }
            for p in chunk
        ]
        body: dict[str, Any] = {"data": data}
        if chunk:
            paging: dict[str, Any] = {
                "cursors": {"before": str(start), "after": str(start + len(chunk))}
            }
            if start + len(chunk) < len(posts):
                paging["next"] = "https://graph.facebook.com/v23.0/next-page"
            body["paging"] = paging
        return FakeResponse(200, body)

    def _post_for(self, req: FakeRequest) -> dict[str, Any] | None:
        assert req.match is not None
        return next((p for p in self.live_posts() if p["id"] == req.match["post"]), None)

    def _delete_post(self, req: FakeRequest) -> FakeResponse:
        refused = self._check(req)
        if refused:
            return refused
        post = self._post_for(req)
        if post is None:
            return graph_error(
                100,
                "Unsupported delete request. Object with ID does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation",
            )
        post["deleted"] = True
        return FakeResponse(200, {"success": True})

    def _edit_post(self, req: FakeRequest) -> FakeResponse:
        refused = self._check(req)
        if refused:
            return refused
        post = self._post_for(req)
        if post is None:
            return graph_error(100, "Object does not exist")
        fields = self._fields(req)
        if "message" not in fields:
            return graph_error(100, "Invalid parameter: message")
        post["message"] = fields["message"]
        return FakeResponse(200, {"success": True})

    # -- Facebook Login -------------------------------------------------------------------------

    def _dialog(self, req: FakeRequest) -> FakeResponse:
        """The login dialog with the page's admin saying yes: redirect with a code."""
        query = {k: v[0] for k, v in req.query.items()}
        if req.headers.get("Host") != "www.facebook.com" or query.get("client_id") != self.app_id:
            return FakeResponse(400, {"error": "invalid dialog request"})
        code = secrets.token_urlsafe(16)
        self.codes[code] = query.get("redirect_uri", "")
        location = f"{query.get('redirect_uri')}?" + urlencode(
            {"code": code, "state": query.get("state", "")}
        )
        return FakeResponse(302, headers={"Location": location})

    def _access_token(self, req: FakeRequest) -> FakeResponse:
        query = {k: v[0] for k, v in req.query.items()}
        if query.get("client_id") != self.app_id or query.get("client_secret") != self.app_secret:
            return graph_error(1, "Error validating client secret.")
        if query.get("grant_type") == "fb_exchange_token":
            if query.get("fb_exchange_token") not in self.user_tokens:
                return graph_error(190, "Invalid OAuth access token")
            token = "EAAlonglived" + secrets.token_hex(12)
            self.long_lived_user_tokens.add(token)
            return FakeResponse(
                200, {"access_token": token, "token_type": "bearer", "expires_in": 5_183_944}
            )
        redirect = self.codes.pop(query.get("code", ""), None)
        if redirect is None or redirect != query.get("redirect_uri"):
            return graph_error(100, "Invalid verification code format.")
        token = "EAAshort" + secrets.token_hex(12)
        self.user_tokens.add(token)
        return FakeResponse(
            200, {"access_token": token, "token_type": "bearer", "expires_in": 5_400}
        )

    def _accounts(self, req: FakeRequest) -> FakeResponse:
        auth = req.headers.get("Authorization", "")
        if auth[7:] not in self.long_lived_user_tokens:
            return graph_error(190, "Invalid OAuth access token")
        return FakeResponse(
            200,
            {
                "data": [
                    {
                        "id": self.page_id,
                        "name": self.page_name,
                        "access_token": self.page_token,
                        "category": "College & university",
                        "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
                    }
                ],
                "paging": {"cursors": {"before": "a", "after": "b"}},
            },
        )


def _attachments(photo_ids: list[str]) -> dict[str, Any]:
    """The ``attachments`` field as the Graph API shows one photo, or an album."""
    if not photo_ids:
        return {}
    if len(photo_ids) == 1:
        return {"attachments": {"data": [{"media_type": "photo"}]}}
    subs = [{"media_type": "photo", "target": {"id": i}} for i in photo_ids]
    return {"attachments": {"data": [{"media_type": "album", "subattachments": {"data": subs}}]}}


__all__ = ["FakeFacebook", "graph_error"]
