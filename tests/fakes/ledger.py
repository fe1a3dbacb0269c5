"""A plain platform that keeps a ledger of every post it accepts, and a connector for it.

The daemon's exactly-once proofs rest on this fake: it **never de-duplicates** (the same
text or key sent twice is stored twice), so a duplicate anywhere in ``posts`` means the
daemon sent a post twice. It speaks a small JSON API, checks a bearer token, and can
inject every fault of :class:`~tests.fakes.base.FakePlatform`:

    POST   /api/posts            {"account", "text", "key"} -> {"id", "url", "created_at"}
    GET    /api/lookup?key=K     {"posts": [...]}  (lookup by idempotency key)
    GET    /api/stats?prefix=P   {"posts", "keys", "duplicates"} (for benchmarks)
    PUT    /api/posts/<id>       edit in place (405 when ``edits_supported`` is off)
    DELETE /api/posts/<id>       delete (404 when unknown)

:class:`LedgerConnector` is a real HTTP client (``requests`` through
:mod:`connectors.http`) for it, so the daemon meets the same error classes as with the
real connectors.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from connectors.base import AccountConfig, Problem, PublishRequest, Receipt, TextMeasure
from connectors.errors import Permanent, Unsupported
from connectors.http import new_session, send
from tests.fakes.base import FakePlatform, FakeRequest, FakeResponse

TOKEN = "ledger-token"


class LedgerPlatform(FakePlatform):
    """A fake platform that records every accepted post, duplicates included."""

    def __init__(self, *, latency: float = 0.0, edits_supported: bool = True) -> None:
        super().__init__()
        self.latency = latency
        self.edits_supported = edits_supported
        #: Posts whose text contains this are refused for good (422).
        self.refuse_marker = "REFUSE-ME"
        self.deleted: list[str] = []
        self.edits: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._ledger_lock = threading.Lock()
        #: The most posts being created at the same moment (requests in flight).
        self.most_at_once = 0
        self._in_flight = 0
        self.route("POST", r"/api/posts", self._create)
        self.route("GET", r"/api/lookup", self._find)
        self.route("PUT", r"/api/posts/(?P<id>[^/]+)", self._edit)
        self.route("DELETE", r"/api/posts/(?P<id>[^/]+)", self._delete)
        self.route("GET", r"/api/ping", lambda req: FakeResponse(200, {"ok": True}))
        self.route("GET", r"/api/stats", self._stats)

    # -- what tests read ------------------------------------------------------------

    def live_posts(self) -> list[dict[str, Any]]:
        """Posts on the platform now (deleted ones left out)."""
        with self._ledger_lock:
            return [p for p in self.posts if p["id"] not in self.deleted]

    def copies_by_key(self) -> dict[str, int]:
        """How many times each idempotency key was accepted (a value above 1 is a duplicate)."""
        counts: dict[str, int] = {}
        with self._ledger_lock:
            for post in self.posts:
                counts[post["key"]] = counts.get(post["key"], 0) + 1
        return counts

    # -- routes ---------------------------------------------------------------------

    def _authorised(self, req: FakeRequest) -> bool:
        return req.headers.get("Authorization") == f"Bearer {TOKEN}"

    def _create(self, req: FakeRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, {"error": "invalid_token"})
        with self._ledger_lock:
            self._in_flight += 1
            self.most_at_once = max(self.most_at_once, self._in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
        finally:
            with self._ledger_lock:
                self._in_flight -= 1
        body = req.json() or {}
        text = str(body.get("text", ""))
        if not text.strip():
            return FakeResponse(422, {"error": "text can't be blank"})
        if self.refuse_marker and self.refuse_marker in text:
            return FakeResponse(422, {"error": f"text contains {self.refuse_marker!r}"})
        with self._ledger_lock:
            post_id = str(next(self._ids))
            post = {
                "id": post_id,
                "account": str(body.get("account", "")),
                "text": text,
                "key": str(body.get("key", "")),
                "created_at": datetime.now(UTC).isoformat(),
                "url": f"https://ledger.example/{post_id}",
            }
            self.posts.append(post)
        return FakeResponse(200, post)

    def _find(self, req: FakeRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, {"error": "invalid_token"})
        key = req.query.get("key", [""])[0]
        with self._ledger_lock:
            found = [p for p in self.posts if p["key"] == key and p["id"] not in self.deleted]
        return FakeResponse(200, {"posts": found})

    def _stats(self, req: FakeRequest) -> FakeResponse:
        """How many posts were accepted, per key prefix, and how many keys came twice."""
        prefix = req.query.get("prefix", [""])[0]
        copies = {k: n for k, n in self.copies_by_key().items() if k.startswith(prefix)}
        duplicates = sum(1 for n in copies.values() if n > 1)
        return FakeResponse(
            200, {"posts": sum(copies.values()), "keys": len(copies), "duplicates": duplicates}
        )

    def _edit(self, req: FakeRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, {"error": "invalid_token"})
        if not self.edits_supported:
            return FakeResponse(405, {"error": "editing is not supported"})
        assert req.match is not None
        post_id = req.match["id"]
        body = req.json() or {}
        with self._ledger_lock:
            for post in self.posts:
                if post["id"] == post_id and post_id not in self.deleted:
                    post["text"] = str(body.get("text", ""))
                    self.edits.append({"id": post_id, "text": post["text"]})
                    return FakeResponse(200, post)
        return FakeResponse(404, {"error": "no such post"})

    def _delete(self, req: FakeRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, {"error": "invalid_token"})
        assert req.match is not None
        post_id = req.match["id"]
        with self._ledger_lock:
            known = any(p["id"] == post_id for p in self.posts)
            if not known or post_id in self.deleted:
                return FakeResponse(404, {"error": "no such post"})
            self.deleted.append(post_id)
        return FakeResponse(200, {"deleted": post_id})


class LedgerConnector:
    """A real HTTP connector for :class:`LedgerPlatform` (``platform = "ledger"``)."""

    platform = "ledger"
    limit = 500

    def __init__(
        self,
        config: AccountConfig,
        *,
        timeout: float = 5.0,
        save_credentials: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        assert config.api_base, "a ledger account needs an api_base"
        self.config = config
        self.base = config.api_base.rstrip("/")
        self.timeout = timeout
        self.session = new_session()
        token = config.credentials.get("token", TOKEN)
        self.session.headers["Authorization"] = f"Bearer {token}"
        self._secrets = [token]

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        response = send(
            self.session,
            method,
            self.base + path,
            platform=self.platform,
            timeout=self.timeout,
            secrets=self._secrets,
            **kwargs,
        )
        return response.json() if response.content else None

    @staticmethod
    def _receipt(body: dict[str, Any]) -> Receipt:
        return Receipt(
            remote_id=str(body["id"]),
            url=str(body["url"]),
            published_at=datetime.fromisoformat(body["created_at"]),
        )

    def measure(self, text: str) -> TextMeasure:
        return TextMeasure(used=len(text), limit=self.limit)

    def validate(self, request: PublishRequest) -> list[Problem]:
        if not request.text.strip():
            return [Problem("empty", "the post has no text")]
        if len(request.text) > self.limit:
            return [Problem("too_long", f"{len(request.text)} characters, limit {self.limit}")]
        return []

    def publish(self, request: PublishRequest) -> Receipt:
        body = {"account": self.config.name, "text": request.text, "key": request.idempotency_key}
        return self._receipt(self._send("POST", "/api/posts", json=body))

    def delete(self, remote_id: str) -> None:
        self._send("DELETE", f"/api/posts/{remote_id}")

    def edit(self, remote_id: str, request: PublishRequest) -> Receipt:
        try:
            body = self._send("PUT", f"/api/posts/{remote_id}", json={"text": request.text})
        except Permanent as exc:
            if "not supported" in exc.reason:
                raise Unsupported("ledger cannot edit this post", platform=self.platform) from None
            raise
        return self._receipt(body)

    def lookup(self, request: PublishRequest) -> Receipt | None:
        if self.config.options.get("lookup") == "none":
            raise Unsupported("ledger accounts set up without lookup", platform=self.platform)
        body = self._send("GET", "/api/lookup", params={"key": request.idempotency_key})
        posts = body.get("posts", []) if isinstance(body, dict) else []
        return self._receipt(posts[0]) if posts else None


def ledger_connector_factory(config: AccountConfig) -> LedgerConnector:
    """Build a :class:`LedgerConnector` for any account (the daemon's connector factory)."""
    return LedgerConnector(config, timeout=float(config.options.get("timeout", "5")))
