"""A loopback stand-in for LinkedIn's Posts, Images and OAuth 2.0 endpoints.

Checks what LinkedIn checks: a known bearer token, the ``LinkedIn-Version`` and
``X-Restli-Protocol-Version: 2.0.0`` headers on ``/rest`` calls, that the token's member
administers the organisation named as author, and the post's required fields. Like
LinkedIn it cuts ``commentary`` at the first unescaped little-format character (outside
links and hashtags), refuses a duplicate post with 422, and answers an expired token
with 401 ``EXPIRED_ACCESS_TOKEN``.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlencode

from tests.fakes.base import FakePlatform, FakeRequest, FakeResponse

_KEEP = re.compile(r"https?://\S+|(?<![\w#])#\w+", re.IGNORECASE)
_UNESCAPED_RESERVED = re.compile(r"(?<!\\)[|{}@\[\]()<>*_~]")


def as_linkedin_stores(commentary: str) -> str:
    """The commentary cut at the first unescaped reserved character, as LinkedIn does."""
    masked = _KEEP.sub(lambda m: "x" * len(m.group(0)), commentary)
    # a backslash escapes the next character; "\\\\" is a literal backslash
    masked = re.sub(r"\\.", "xx", masked)
    cut = _UNESCAPED_RESERVED.search(masked)
    return commentary if cut is None else commentary[: cut.start()]


class FakeLinkedIn(FakePlatform):
    """LinkedIn for one organisation page administered by one member.

    ``posts`` holds each post's JSON as LinkedIn stores it plus ``id`` and
    ``createdAt``; ``images`` each image (``data``, ``owner``, ``uploaded``).
    """

    hang_seconds = 1.5

    def __init__(self) -> None:
        super().__init__()
        self.organization_id = "2414183"
        self.client_id = "fake-linkedin-client"
        self.client_secret = "fake-linkedin-client-secret"
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.codes: dict[str, str] = {}
        self.images: dict[str, dict[str, Any]] = {}
        self.retry_after_seconds = 120
        self._ids = itertools.count(7_300_000_000_000_000_001)
        self.route("POST", r"/rest/posts", self._create_post)
        self.route("GET", r"/rest/posts", self._find_posts)
        self.route("DELETE", r"/rest/posts/(?P<urn>[^/]+)", self._delete_post)
        self.route("POST", r"/rest/posts/(?P<urn>[^/]+)", self._update_post)
        self.route("POST", r"/rest/images", self._initialize_upload)
        self.route("PUT", r"/dms-uploads/sp/(?P<id>[^/]+)/uploaded-image/0", self._upload)
        self.route("GET", r"/oauth/v2/authorization", self._authorize)
        self.route("POST", r"/oauth/v2/accessToken", self._token)

    # -- what tests use --------------------------------------------------------------------

    @property
    def author(self) -> str:
        return f"urn:li:organization:{self.organization_id}"

    def issue_token(self, *, refreshable: bool = True) -> dict[str, str]:
        """Credentials the fake accepts (with a refresh token when ``refreshable``)."""
        access = secrets.token_urlsafe(32)
        self.access_tokens.add(access)
        credentials = {"access_token": access}
        if refreshable:
            refresh = secrets.token_urlsafe(32)
            self.refresh_tokens.add(refresh)
            credentials.update(
                refresh_token=refresh, client_id=self.client_id, client_secret=self.client_secret
            )
        return credentials

    def expire_access_tokens(self) -> None:
        """Every access token stops working (refresh tokens still do)."""
        self.access_tokens.clear()

    def live_posts(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if not p.get("deleted")]

    def rate_limit_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}

    def expired_response(self) -> FakeResponse:
        return FakeResponse(
            401,
            {
                "status": 401,
                "serviceErrorCode": 65601,
                "code": "EXPIRED_ACCESS_TOKEN",
                "message": "The token used in the request has expired",
            },
        )

    # -- checks ---------------------------------------------------------------------------

    def _check(self, req: FakeRequest, *, rest: bool = True) -> FakeResponse | None:
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.access_tokens:
            return FakeResponse(
                401,
                {
                    "status": 401,
                    "serviceErrorCode": 65600,
                    "code": "INVALID_ACCESS_TOKEN",
                    "message": "Invalid access token",
                },
            )
        if rest:
            version = req.headers.get("LinkedIn-Version", "")
            if not re.fullmatch(r"20\d{4}", version):
                return FakeResponse(
                    426,
                    {
                        "status": 426,
                        "code": "NONEXISTENT_VERSION",
                        "message": f"Requested version {version} is not active",
                    },
                )
            if req.headers.get("X-Restli-Protocol-Version") != "2.0.0":
                return FakeResponse(400, {"status": 400, "message": "Rest.li 2.0.0 expected"})
        return None

    # -- Posts API --------------------------------------------------------------------------

    def _create_post(self, req: FakeRequest) -> FakeResponse:
        refused = self._check(req)
        if refused:
            return refused
        body = req.json() or {}
        missing = [
            f
            for f in ("author", "commentary", "visibility", "distribution", "lifecycleState")
            if f not in body
        ]
        if missing:
            message = "".join(
                f"ERROR :: /{f} :: field is required but not found and has no default value\n"
                for f in missing
            )
            return FakeResponse(422, {"status": 422, "message": message})
        if body["author"] != self.author:
            return FakeResponse(
                403,
                {"status": 403, "message": f"Not enough permissions to post as {body['author']}"},
            )
        content = body.get("content") or {}
        image_refs = [content["media"]] if "media" in content else []
        image_refs += (content.get("multiImage") or {}).get("images", [])
        for ref in image_refs:
            image = self.images.get(ref.get("id", ""))
            if image is None or not image["uploaded"]:
                return FakeResponse(
                    400, {"status": 400, "message": f"Image {ref.get('id')} not available"}
                )
        if "multiImage" in content and len(image_refs) < 2:
            return FakeResponse(422, {"status": 422, "message": "multiImage needs 2 to 20 images"})
        stored = as_linkedin_stores(body["commentary"])
        with self._lock:
            for post in self.live_posts():
                if post["commentary"] == stored and stored:
                    return FakeResponse(
                        422,
                        {
                            "status": 422,
                            "code": "DUPLICATE_POST",
                            "message": f"Content is a duplicate of {post['id']}",
                        },
                    )
            urn = f"urn:li:share:{next(self._ids)}"
            self.posts.append(
                {
                    **body,
                    "commentary": stored,
                    "sent_commentary": body["commentary"],
                    "id": urn,
                    "createdAt": int(time.time() * 1000),
                    "publishedAt": int(time.time() * 1000),
                    "deleted": False,
                }
            )
        return FakeResponse(201, headers={"x-restli-id": urn})

    def _find_posts(self, req: FakeRequest) -> FakeResponse:
        refused = self._check(req)
        if refused:
            return refused
        query = {k: v[0] for k, v in req.query.items()}
        if query.get("q") != "author" or query.get("author") != self.author:
            return FakeResponse(400, {"status": 400, "message": "q=author&author= expected"})
        start, count = int(query.get("start", 0)), int(query.get("count", 10))
        if count > 100:
            return FakeResponse(400, {"status": 400, "message": "count must be at most 100"})
        newest_first = sorted(self.live_posts(), key=lambda p: p["createdAt"], reverse=True)
        elements = [
            {k: v for k, v in p.items() if k not in ("deleted", "sent_commentary")}
            for p in newest_first[start : start + count]
        ]
        return FakeResponse(200, {"elements": elements, "paging": {"start": start, "count": count}})

    def _post_for(self, req: FakeRequest) -> dict[str, Any] | None:
        assert req.match is not None
        urn = unquote(req.match["urn"])
        return next((p for p in self.live_posts() if p["id"] == urn), None)

    def _delete_post(self, req: FakeRequest) -> FakeResponse:
        refused = self._check(req)
        if refused:
            return refused
        post = self._post_for(req)
        if post is None:
            return FakeResponse(404, {"status": 404, "message": "Not Found"})
        post["deleted"] = True
        return FakeResponse(204)

    def _update_post(self, req: FakeRequest) -> FakeResponse:
        refused = self._check(req)
        if refused:
            return refused
        if req.headers.get("X-RestLi-Method", "").upper() != "PARTIAL_UPDATE":
            return FakeResponse(400, {"status": 400, "message": "X-RestLi-Method expected"})
        post = self._post_for(req)
        if post is None:
            return FakeResponse(404, {"status": 404, "message": "Not Found"})
        changes = ((req.json() or {}).get("patch") or {}).get("$set") or {}
        if "commentary" in changes:
            post["commentary"] = as_linkedin_stores(changes["commentary"])
            post["lastModifiedAt"] = int(time.time() * 1000)
        return FakeResponse(204)

    # -- Images API -------------------------------------------------------------------------

    def _initialize_upload(self, req: FakeRequest) -> FakeResponse:
        refused = self._check(req)
        if refused:
            return refused
        if req.query.get("action") != ["initializeUpload"]:
            return FakeResponse(400, {"status": 400, "message": "action=initializeUpload expected"})
        owner = ((req.json() or {}).get("initializeUploadRequest") or {}).get("owner")
        if owner != self.author:
            return FakeResponse(403, {"status": 403, "message": f"cannot upload as {owner}"})
        image_id = f"D4E10AQ{secrets.token_hex(6)}"
        urn = f"urn:li:image:{image_id}"
        self.images[urn] = {"owner": owner, "data": b"", "uploaded": False}
        upload_url = (
            f"https://www.linkedin.com/dms-uploads/sp/{image_id}/uploaded-image/0?"
            + urlencode({"ca": "vector_feedshare", "cn": "uploads", "v": "beta"})
        )
        return FakeResponse(
            200,
            {
                "value": {
                    "uploadUrlExpiresAt": int(time.time() * 1000) + 86_400_000,
                    "uploadUrl": upload_url,
                    "image": urn,
                }
            },
        )

    def _upload(self, req: FakeRequest) -> FakeResponse:
        refused = self._check(req, rest=False)
        if refused:
            return refused
        assert req.match is not None
        image = self.images.get(f"urn:li:image:{req.match['id']}")
        if image is None or req.headers.get("Host") != "www.linkedin.com":
            return FakeResponse(404, {"status": 404, "message": "unknown upload"})
        image["data"] = req.body
        image["content_type"] = req.headers.get("Content-Type", "")
        image["uploaded"] = True
        return FakeResponse(201)

    # -- OAuth 2.0 --------------------------------------------------------------------------

    def _authorize(self, req: FakeRequest) -> FakeResponse:
        """The consent page with the administrator saying yes: redirect with a code."""
        query = {k: v[0] for k, v in req.query.items()}
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return FakeResponse(400, {"error": "invalid_request"})
        code = secrets.token_urlsafe(16)
        self.codes[code] = query.get("redirect_uri", "")
        location = f"{query.get('redirect_uri')}?" + urlencode(
            {"code": code, "state": query.get("state", "")}
        )
        return FakeResponse(302, headers={"Location": location})

    def _token(self, req: FakeRequest) -> FakeResponse:
        form = {k: v[0] for k, v in req.form().items()}
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return FakeResponse(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
            )
        grant = form.get("grant_type")
        if grant == "authorization_code":
            redirect = self.codes.pop(form.get("code", ""), None)
            if redirect is None or redirect != form.get("redirect_uri"):
                return FakeResponse(
                    400, {"error": "invalid_grant", "error_description": "bad code"}
                )
        elif grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self.refresh_tokens:
                return FakeResponse(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "The provided refresh token is invalid",
                    },
                )
            self.refresh_tokens.discard(refresh)
        else:
            return FakeResponse(400, {"error": "unsupported_grant_type"})
        issued = self.issue_token()
        return FakeResponse(
            200,
            {
                "access_token": issued["access_token"],
                "expires_in": 5_184_000,
                "refresh_token": issued["refresh_token"],
                "refresh_token_expires_in": 31_536_000,
                "scope": "r_organization_social,w_organization_social",
            },
        )


def created_at(post: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(post["createdAt"] / 1000, UTC)


__all__ = ["FakeLinkedIn", "as_linkedin_stores", "created_at"]
