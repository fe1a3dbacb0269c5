"""A loopback Bluesky PDS: sessions with expiry, blobs, post records, the author feed.

Sessions behave as the real ones do: ``createSession`` with the app password returns an
access token (short-lived) and a refresh token (single use: ``refreshSession`` rotates
both). An expired access token is answered with ``400 ExpiredToken``. Caller-chosen
record keys must be TIDs close to the current time, and a key already used is refused.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

import regex

from tests.fakes.base import FakePlatform, FakeRequest, FakeResponse

HANDLE = "comms.gatepost.test"
DID = "did:plc:gatepostcomms7x2k4q"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
_TID = regex.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def tid_time(tid: str) -> float:
    """The Unix time a TID encodes."""
    value = 0
    for ch in tid:
        value = value * 32 + _ALPHABET.index(ch)
    return (value >> 10) / 1_000_000


def _error(status: int, error: str, message: str) -> FakeResponse:
    return FakeResponse(status, {"error": error, "message": message})


class FakeBluesky(FakePlatform):
    """A PDS hosting one account, plus a few other handles that mentions can resolve."""

    def __init__(self, *, access_ttl: float = 7200.0) -> None:
        super().__init__()
        self.access_ttl = access_ttl
        self.app_password = APP_PASSWORD
        self.handles: dict[str, str] = {HANDLE: DID, "dean.bsky.social": "did:plc:dean0000"}
        self.access_tokens: dict[str, float] = {}  # token -> expiry (Unix time)
        self.refresh_tokens: set[str] = set()
        self.logins = 0
        #: how far (seconds) a caller-chosen record key's time may be from the server's
        self.rkey_window = 600.0
        self.refreshes = 0
        self.blobs: dict[str, bytes] = {}
        self.records: dict[str, dict[str, Any]] = {}  # rkey -> record value
        self._state = threading.Lock()
        self._counter = int(time.time() * 1_000_000)

        for name, fn in (
            ("com.atproto.server.createSession", self._create_session),
            ("com.atproto.server.refreshSession", self._refresh_session),
            ("com.atproto.repo.uploadBlob", self._upload_blob),
            ("com.atproto.repo.createRecord", self._create_record),
            ("com.atproto.repo.deleteRecord", self._delete_record),
        ):
            self.route("POST", f"/xrpc/{name}", fn)
        for name, fn in (
            ("com.atproto.identity.resolveHandle", self._resolve_handle),
            ("com.atproto.repo.getRecord", self._get_record),
            ("app.bsky.feed.getAuthorFeed", self._author_feed),
            ("com.atproto.server.getSession", self._get_session),
        ):
            self.route("GET", f"/xrpc/{name}", fn)

    # -- platform behaviour for the base's faults -------------------------------------

    def rate_limit_headers(self) -> dict[str, str]:
        return {
            "ratelimit-limit": "5000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(self.rate_limit_reset),
            "ratelimit-policy": "5000;w=3600",
        }

    def expired_response(self) -> FakeResponse:
        return _error(400, "ExpiredToken", "Token has expired")

    # -- helpers for tests -------------------------------------------------------------

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now past its expiry."""
        with self._state:
            for token in self.access_tokens:
                self.access_tokens[token] = 0.0

    def revoke_refresh_tokens(self) -> None:
        """Refresh tokens stop working (as after the app password is revoked)."""
        with self._state:
            self.refresh_tokens.clear()

    def uri(self, rkey: str) -> str:
        return f"at://{DID}/app.bsky.feed.post/{rkey}"

    # -- sessions ------------------------------------------------------------------------

    def _new_session(self) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self._state:
            self.access_tokens[access] = time.time() + self.access_ttl
            self.refresh_tokens.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh, "handle": HANDLE, "did": DID}

    def _create_session(self, req: FakeRequest) -> FakeResponse:
        body = req.json() or {}
        self.logins += 1
        ident = body.get("identifier")
        if ident not in (HANDLE, DID) or body.get("password") != self.app_password:
            return _error(401, "AuthenticationRequired", "Invalid identifier or password")
        return FakeResponse(200, self._new_session())

    def _bearer(self, req: FakeRequest) -> str:
        scheme, _, token = req.headers.get("Authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" else ""

    def _refresh_session(self, req: FakeRequest) -> FakeResponse:
        token = self._bearer(req)
        with self._state:
            if token not in self.refresh_tokens:
                return _error(400, "ExpiredToken", "Token has been revoked")
            self.refresh_tokens.discard(token)  # single use
            self.refreshes += 1
        return FakeResponse(200, self._new_session())

    def _auth_failure(self, req: FakeRequest) -> FakeResponse | None:
        token = self._bearer(req)
        with self._state:
            expiry = self.access_tokens.get(token)
        if expiry is None:
            return _error(401, "InvalidToken", "Token could not be verified")
        if expiry < time.time():
            return _error(400, "ExpiredToken", "Token has expired")
        return None

    def _get_session(self, req: FakeRequest) -> FakeResponse:
        return self._auth_failure(req) or FakeResponse(200, {"handle": HANDLE, "did": DID})

    # -- repo ------------------------------------------------------------------------------

    def _resolve_handle(self, req: FakeRequest) -> FakeResponse:
        handle = req.query.get("handle", [""])[0]
        did = self.handles.get(handle)
        if did is None:
            return _error(400, "InvalidRequest", "Unable to resolve handle")
        return FakeResponse(200, {"did": did})

    def _upload_blob(self, req: FakeRequest) -> FakeResponse:
        refused = self._auth_failure(req)
        if refused:
            return refused
        if len(req.body) > 1_000_000:
            return _error(400, "BlobTooLarge", "This file is too large")
        cid = "bafkrei" + hashlib.sha256(req.body).hexdigest()[:52]
        self.blobs[cid] = req.body
        mime = req.headers.get("Content-Type", "application/octet-stream")
        return FakeResponse(
            200,
            {
                "blob": {
                    "$type": "blob",
                    "ref": {"$link": cid},
                    "mimeType": mime,
                    "size": len(req.body),
                }
            },
        )

    def _next_tid(self) -> str:
        with self._state:
            self._counter = max(self._counter + 1, int(time.time() * 1_000_000))
            value = self._counter << 10
        out = []
        for _ in range(13):
            out.append(_ALPHABET[value & 31])
            value >>= 5
        return "".join(reversed(out))

    def _create_record(self, req: FakeRequest) -> FakeResponse:
        refused = self._auth_failure(req)
        if refused:
            return refused
        body = req.json() or {}
        if body.get("repo") not in (DID, HANDLE):
            return _error(401, "AuthRequired", "Invalid repo")
        if body.get("collection") != "app.bsky.feed.post":
            return _error(400, "InvalidRequest", "Unexpected collection")
        record = body.get("record") or {}
        text = record.get("text", "")
        if len(regex.findall(r"\X", text)) > 300 or len(text.encode()) > 3000:
            return _error(400, "InvalidRequest", "Invalid app.bsky.feed.post record: text too long")
        for facet in record.get("facets") or []:
            index = facet["index"]
            if not 0 <= index["byteStart"] < index["byteEnd"] <= len(text.encode()):
                return _error(400, "InvalidRequest", "Invalid facet byte range")
        for image in (record.get("embed") or {}).get("images") or []:
            if image["image"]["ref"]["$link"] not in self.blobs:
                return _error(400, "InvalidRequest", "Could not find blob")
        rkey = body.get("rkey")
        if rkey is not None:
            if not _TID.fullmatch(rkey) or abs(tid_time(rkey) - time.time()) > self.rkey_window:
                return _error(400, "InvalidRequest", "Invalid rkey for app.bsky.feed.post")
            with self._state:
                if rkey in self.records:
                    return _error(400, "InvalidRequest", f"Record already exists: {rkey}")
        else:
            rkey = self._next_tid()
        with self._state:
            self.records[rkey] = record
            self.posts.append({"rkey": rkey, "uri": self.uri(rkey), **record})
        return FakeResponse(
            200, {"uri": self.uri(rkey), "cid": "bafyrei" + rkey, "validationStatus": "valid"}
        )

    def _delete_record(self, req: FakeRequest) -> FakeResponse:
        refused = self._auth_failure(req)
        if refused:
            return refused
        body = req.json() or {}
        if body.get("repo") not in (DID, HANDLE):
            return _error(401, "AuthRequired", "Invalid repo")
        with self._state:
            self.records.pop(body.get("rkey", ""), None)  # deleting a missing record is a no-op
        return FakeResponse(200, {})

    def _get_record(self, req: FakeRequest) -> FakeResponse:
        rkey = req.query.get("rkey", [""])[0]
        record = self.records.get(rkey)
        if record is None:
            return _error(400, "RecordNotFound", f"Could not locate record: {self.uri(rkey)}")
        return FakeResponse(200, {"uri": self.uri(rkey), "cid": "bafyrei" + rkey, "value": record})

    def _author_feed(self, req: FakeRequest) -> FakeResponse:
        refused = self._auth_failure(req)
        if refused:
            return refused
        limit = min(int(req.query.get("limit", ["50"])[0]), 100)
        cursor = req.query.get("cursor", [None])[0]
        keys = sorted(self.records, key=tid_time, reverse=True)
        if cursor is not None:
            keys = [k for k in keys if k < cursor]
        page = keys[:limit]
        feed = [
            {
                "post": {
                    "uri": self.uri(k),
                    "cid": "bafyrei" + k,
                    "author": {"did": DID, "handle": HANDLE},
                    "record": self.records[k],
                    "indexedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                }
            }
            for k in page
        ]
        body: dict[str, Any] = {"feed": feed}
        if len(keys) > limit:
            body["cursor"] = page[-1]
        return FakeResponse(200, body)
