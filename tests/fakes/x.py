"""A loopback stand-in for X's API v2, its v2 media upload and its OAuth endpoints.

Requests arrive as a reverse proxy would pass them: the public host (``api.twitter.com``
or ``api.x.com``) in ``Host``. OAuth 1.0a signatures are verified for real by oauthlib's
server-side :class:`~oauthlib.oauth1.SignatureOnlyEndpoint` over the public ``https``
URL, with a validator that knows this fake's consumer and token secrets; OAuth 2.0 user
tokens are checked as bearer tokens and can be refreshed at ``/2/oauth2/token``.

What the fake does like X: a duplicate text is refused with 403 "duplicate content";
returned texts have links replaced by t.co links, a t.co link appended for media and
``&<>`` escaped; 401 is answered with X's problem JSON.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import re
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint

from tests.fakes.base import FakePlatform, FakeRequest, FakeResponse

PUBLIC_HOSTS = frozenset({"api.twitter.com", "api.x.com"})
_URL = re.compile(r"https?://\S+")


class _Validator(RequestValidator):
    """Tells oauthlib the secrets this fake knows; everything else is the library's."""

    def __init__(self, fake: FakeX) -> None:
        super().__init__()
        self.fake = fake

    enforce_ssl = True
    allowed_signature_methods = ("HMAC-SHA1",)

    @property
    def safe_characters(self) -> set[str]:
        return set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")

    @property
    def client_key_length(self) -> tuple[int, int]:
        return 8, 64

    @property
    def access_token_length(self) -> tuple[int, int]:
        return 8, 80

    @property
    def request_token_length(self) -> tuple[int, int]:
        return 8, 80

    @property
    def nonce_length(self) -> tuple[int, int]:
        return 8, 64

    @property
    def dummy_client(self) -> str:
        return "dummy-client-key"

    @property
    def dummy_access_token(self) -> str:
        return "dummy-access-token"

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        return secrets.compare_digest(client_key, self.fake.consumer_key)

    def get_client_secret(self, client_key: str, request: Any) -> str:
        if client_key == self.fake.consumer_key:
            return self.fake.consumer_secret
        return "dummy-client-secret"

    def get_access_token_secret(self, client_key: str, token: str, request: Any) -> str:
        # Access tokens and (during the PIN flow) request tokens sign the same way.
        known = self.fake.token_secrets.get(token) or self.fake.request_tokens.get(token, {})
        if isinstance(known, dict):
            return str(known.get("secret", "dummy-token-secret"))
        return known

    def validate_timestamp_and_nonce(
        self,
        client_key: str,
        timestamp: str,
        nonce: str,
        request: Any,
        request_token: str | None = None,
        access_token: str | None = None,
    ) -> bool:
        # A nonce is good once: a replayed request is refused as X does.
        with self.fake.nonce_lock:
            key = (client_key, timestamp, nonce)
            if key in self.fake.seen_nonces:
                return False
            self.fake.seen_nonces.add(key)
            return True


class FakeX(FakePlatform):
    """X's endpoints used by the connector and the authorisation flows.

    ``posts`` holds each created post (``id``, ``text``, ``media_ids``, ``created_at``,
    ``deleted``); ``media`` each uploaded image (``data``, ``mime``, ``alt``).
    """

    hang_seconds = 1.5

    def __init__(self) -> None:
        super().__init__()
        self.consumer_key = "fakeconsumerkey0001"
        self.consumer_secret = "fake-consumer-secret-0001"
        self.access_token = "1000-fakeaccesstoken0001"
        self.access_token_secret = "fake-access-token-secret-0001"
        self.user_id = "1000"
        self.username = "uniofexample"
        self.token_secrets: dict[str, str] = {self.access_token: self.access_token_secret}
        self.request_tokens: dict[str, dict[str, str]] = {}
        self.client_id = "fake-oauth2-client-id"
        self.bearer_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.pkce_codes: dict[str, dict[str, str]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.seen_nonces: set[tuple[str, str, str]] = set()
        self.nonce_lock = threading.Lock()
        self.auth_failures: list[str] = []
        self._ids = itertools.count(1_860_000_000_000_000_001)
        self._endpoint = SignatureOnlyEndpoint(_Validator(self))
        self.route("POST", r"/2/tweets", self._create_tweet)
        self.route("DELETE", r"/2/tweets/(?P<id>\d+)", self._delete_tweet)
        self.route("GET", r"/2/users/me", self._me)
        self.route("GET", r"/2/users/(?P<id>\d+)/tweets", self._user_tweets)
        self.route("POST", r"/2/media/upload", self._upload)
        self.route("POST", r"/2/media/metadata", self._metadata)
        self.route("POST", r"/oauth/request_token", self._request_token)
        self.route("POST", r"/oauth/access_token", self._access_token)
        self.route("POST", r"/2/oauth2/token", self._oauth2_token)
        self.route("GET", r"/i/oauth2/authorize", self._oauth2_authorize)

    # -- what tests use -------------------------------------------------------------

    def oauth1_credentials(self) -> dict[str, str]:
        """Credentials that the fake accepts, as the credential store would hold them."""
        return {
            "consumer_key": self.consumer_key,
            "consumer_secret": self.consumer_secret,
            "access_token": self.access_token,
            "access_token_secret": self.access_token_secret,
        }

    def issue_oauth2_token(self) -> dict[str, str]:
        """A fresh OAuth 2.0 user access token and refresh token the fake accepts."""
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.bearer_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return {"bearer_token": access, "refresh_token": refresh, "client_id": self.client_id}

    def expire_oauth2_tokens(self) -> None:
        """Every OAuth 2.0 access token stops working (refresh tokens still do)."""
        self.bearer_tokens.clear()

    def revoke_access_token(self) -> None:
        """The OAuth 1.0a access token stops working, as when a user revokes the app."""
        self.token_secrets.pop(self.access_token, None)

    def approve(self, request_token: str) -> str:
        """Play the person who opens the authorise page and approves: return the PIN."""
        pending = self.request_tokens[request_token]
        pending["verifier"] = f"{secrets.randbelow(10**7):07d}"
        return pending["verifier"]

    def live_posts(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if not p["deleted"]]

    def rate_limit_headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(self.rate_limit_reset),
        }

    def expired_response(self) -> FakeResponse:
        return FakeResponse(401, _problem(401, "Unauthorized", "Unauthorized"))

    # -- authentication ---------------------------------------------------------------

    def _public_url(self, req: FakeRequest) -> str | None:
        host = req.headers.get("Host", "")
        if host not in PUBLIC_HOSTS:
            return None
        return "https://" + req.url.split("://", 1)[1]

    def _authenticate(self, req: FakeRequest, *, token_request: bool = False) -> dict[str, str]:
        """Return the OAuth parameters of a properly signed request, or raise _Refused."""
        auth = req.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and not token_request:
            if auth[len("Bearer ") :] in self.bearer_tokens:
                return {}
            raise _Refused("unknown bearer token")
        url = self._public_url(req)
        if url is None:
            raise _Refused(f"request for host {req.headers.get('Host')!r}, not X's")
        ctype = req.headers.get("Content-Type", "")
        # Only a form-encoded body takes part in the signature base string.
        body = req.body.decode() if ctype.startswith("application/x-www-form-urlencoded") else None
        valid, oauth_request = self._endpoint.validate_request(
            url, req.method, body=body, headers={"Authorization": auth}
        )
        if not valid or oauth_request is None:
            raise _Refused("OAuth 1.0a signature did not verify")
        return dict(oauth_request.oauth_params)

    def _user_call(self, req: FakeRequest) -> FakeResponse | None:
        try:
            params = self._authenticate(req)
        except _Refused as exc:
            self.auth_failures.append(str(exc))
            return FakeResponse(401, _problem(401, "Unauthorized", "Unauthorized"))
        token = params.get("oauth_token")
        if params and token not in self.token_secrets:
            self.auth_failures.append("request token used as access token")
            return FakeResponse(401, _problem(401, "Unauthorized", "Unauthorized"))
        return None

    # -- API v2 -----------------------------------------------------------------------

    def _create_tweet(self, req: FakeRequest) -> FakeResponse:
        refused = self._user_call(req)
        if refused:
            return refused
        body = req.json() or {}
        text = body.get("text") or ""
        media_ids = list((body.get("media") or {}).get("media_ids") or [])
        for media_id in media_ids:
            if media_id not in self.media:
                return FakeResponse(
                    400, {"errors": [{"message": f"media id {media_id} is unknown"}]}
                )
        if not text and not media_ids:
            return FakeResponse(400, {"errors": [{"message": "text or media is required"}]})
        with self._lock:
            # X refuses the same text again within a while (a day here).
            recent = datetime.now(UTC) - timedelta(days=1)
            if text and any(
                p["text"] == text and p["created_at"] > recent
                for p in self.posts
                if not p["deleted"]
            ):
                return FakeResponse(
                    403,
                    _problem(
                        403,
                        "Forbidden",
                        "You are not allowed to create a Tweet with duplicate content.",
                    ),
                )
            tweet_id = str(next(self._ids))
            self.posts.append(
                {
                    "id": tweet_id,
                    "text": text,
                    "media_ids": media_ids,
                    "created_at": datetime.now(UTC),
                    "deleted": False,
                }
            )
        return FakeResponse(201, {"data": {"id": tweet_id, "text": text}})

    def _delete_tweet(self, req: FakeRequest) -> FakeResponse:
        refused = self._user_call(req)
        if refused:
            return refused
        assert req.match is not None
        for post in self.posts:
            if post["id"] == req.match["id"] and not post["deleted"]:
                post["deleted"] = True
                return FakeResponse(200, {"data": {"deleted": True}})
        return FakeResponse(404, _problem(404, "Not Found Error", "Could not find tweet"))

    def _me(self, req: FakeRequest) -> FakeResponse:
        refused = self._user_call(req)
        if refused:
            return refused
        return FakeResponse(
            200, {"data": {"id": self.user_id, "name": "University", "username": self.username}}
        )

    def _user_tweets(self, req: FakeRequest) -> FakeResponse:
        refused = self._user_call(req)
        if refused:
            return refused
        assert req.match is not None
        if req.match["id"] != self.user_id:
            return FakeResponse(200, {"meta": {"result_count": 0}})
        limit = int(req.query.get("max_results", ["10"])[0])
        if not 5 <= limit <= 100:
            return FakeResponse(400, {"errors": [{"message": "max_results out of range"}]})
        since = req.query.get("start_time", [""])[0]
        start = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None
        shown = [
            p
            for p in reversed(self.posts)
            if not p["deleted"] and (start is None or p["created_at"] >= start)
        ][:limit]
        data = [
            {
                "id": p["id"],
                "text": _as_x_shows(p["text"], bool(p["media_ids"])),
                "created_at": p["created_at"]
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "edit_history_tweet_ids": [p["id"]],
                **(
                    {"attachments": {"media_keys": [f"3_{m}" for m in p["media_ids"]]}}
                    if p["media_ids"]
                    else {}
                ),
            }
            for p in shown
        ]
        if not data:
            return FakeResponse(200, {"meta": {"result_count": 0}})
        return FakeResponse(200, {"data": data, "meta": {"result_count": len(data)}})

    def _upload(self, req: FakeRequest) -> FakeResponse:
        refused = self._user_call(req)
        if refused:
            return refused
        if not req.headers.get("Content-Type", "").startswith("multipart/form-data"):
            return FakeResponse(400, {"errors": [{"message": "expected multipart/form-data"}]})
        fields = req.multipart()
        if "media" not in fields:
            return FakeResponse(400, {"errors": [{"message": "media is required"}]})
        data, part_type = fields["media"].data, fields["media"].content_type
        category = fields["media_category"].text if "media_category" in fields else ""
        if category not in ("tweet_image", "tweet_gif"):
            return FakeResponse(400, {"errors": [{"message": f"bad media_category {category}"}]})
        media_id = str(next(self._ids))
        self.media[media_id] = {
            "data": data,
            "mime": fields["media_type"].text if "media_type" in fields else part_type,
            "alt": "",
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        return FakeResponse(
            200,
            {
                "data": {
                    "id": media_id,
                    "media_key": f"3_{media_id}",
                    "size": len(data),
                    "expires_after_secs": 86400,
                    "image": {"image_type": self.media[media_id]["mime"]},
                }
            },
        )

    def _metadata(self, req: FakeRequest) -> FakeResponse:
        refused = self._user_call(req)
        if refused:
            return refused
        body = req.json() or {}
        media_id = body.get("id")
        if media_id not in self.media:
            return FakeResponse(400, {"errors": [{"message": "unknown media id"}]})
        alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text", "")
        if len(alt) > 1000:
            return FakeResponse(400, {"errors": [{"message": "alt text too long"}]})
        self.media[media_id]["alt"] = alt
        return FakeResponse(200, {"data": {"id": media_id, "associated_metadata": True}})

    # -- OAuth 1.0a PIN flow --------------------------------------------------------------

    def _request_token(self, req: FakeRequest) -> FakeResponse:
        try:
            params = self._authenticate(req, token_request=True)
        except _Refused as exc:
            self.auth_failures.append(str(exc))
            return FakeResponse(
                401, {"errors": [{"code": 32, "message": "Could not authenticate you."}]}
            )
        if params.get("oauth_token"):
            return FakeResponse(400, {"errors": [{"message": "unexpected oauth_token"}]})
        token, secret = "req-" + secrets.token_hex(12), secrets.token_hex(16)
        self.request_tokens[token] = {
            "secret": secret,
            "callback": params.get("oauth_callback", ""),
        }
        return _form(oauth_token=token, oauth_token_secret=secret, oauth_callback_confirmed="true")

    def _access_token(self, req: FakeRequest) -> FakeResponse:
        try:
            params = self._authenticate(req, token_request=True)
        except _Refused as exc:
            self.auth_failures.append(str(exc))
            return FakeResponse(
                401, {"errors": [{"code": 32, "message": "Could not authenticate you."}]}
            )
        pending = self.request_tokens.get(params.get("oauth_token", ""))
        verifier = params.get("oauth_verifier", "")
        if pending is None or not verifier or pending.get("verifier") != verifier:
            return FakeResponse(
                401, {"errors": [{"code": 89, "message": "Invalid or expired token."}]}
            )
        del self.request_tokens[params["oauth_token"]]
        token = f"{self.user_id}-{secrets.token_hex(12)}"
        secret = secrets.token_hex(20)
        self.token_secrets[token] = secret
        return _form(
            oauth_token=token,
            oauth_token_secret=secret,
            user_id=self.user_id,
            screen_name=self.username,
        )

    # -- OAuth 2.0 ------------------------------------------------------------------------

    def _oauth2_authorize(self, req: FakeRequest) -> FakeResponse:
        """The consent page, with the person already saying yes: redirect with a code."""
        query = {k: v[0] for k, v in req.query.items()}
        if query.get("client_id") != self.client_id:
            return FakeResponse(400, {"error": "invalid_client"})
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return FakeResponse(400, {"error": "invalid_request", "error_description": "PKCE"})
        code = secrets.token_urlsafe(16)
        self.pkce_codes[code] = {
            "challenge": query["code_challenge"],
            "redirect_uri": query.get("redirect_uri", ""),
        }
        location = f"{query.get('redirect_uri')}?" + urlencode(
            {"state": query.get("state", ""), "code": code}
        )
        return FakeResponse(302, headers={"Location": location})

    def _oauth2_token(self, req: FakeRequest) -> FakeResponse:
        form = {k: v[0] for k, v in req.form().items()}
        client_id = form.get("client_id", "")
        auth = req.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
        if client_id != self.client_id:
            return FakeResponse(401, {"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self.refresh_tokens:
                return FakeResponse(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "Value passed for the token was invalid.",
                    },
                )
            self.refresh_tokens.discard(refresh)
        elif grant == "authorization_code":
            pending = self.pkce_codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if (
                pending is None
                or pending["challenge"] != challenge
                or pending["redirect_uri"] != form.get("redirect_uri")
            ):
                return FakeResponse(400, {"error": "invalid_grant"})
        else:
            return FakeResponse(400, {"error": "unsupported_grant_type"})
        issued = self.issue_oauth2_token()
        return FakeResponse(
            200,
            {
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": issued["bearer_token"],
                "refresh_token": issued["refresh_token"],
                "scope": "tweet.read tweet.write users.read offline.access media.write",
            },
        )


class _Refused(Exception):
    """Authentication failed; the message says why (for test assertions only)."""


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"title": title, "type": "about:blank", "status": status, "detail": detail}


def _form(**values: str) -> FakeResponse:
    return FakeResponse(
        200,
        raw=urlencode(values).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def _as_x_shows(text: str, has_media: bool) -> str:
    """The text as X returns it: t.co links, a link for the media, ``&<>`` escaped."""
    shown = _URL.sub(lambda _m: "https://t.co/" + secrets.token_hex(5), text)
    if has_media:
        shown = f"{shown} https://t.co/{secrets.token_hex(5)}".strip()
    return html.escape(shown, quote=False)


__all__ = ["PUBLIC_HOSTS", "FakeX"]
