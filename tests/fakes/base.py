"""A loopback HTTP server to stand in for a social platform in tests.

Each platform fake subclasses :class:`FakePlatform`, registers its routes with
:meth:`FakePlatform.route` and keeps what was posted in ``self.posts``. Faults are
queued with :meth:`FakePlatform.inject` and applied to the next matching request:

- ``"429"``: answer 429 with the platform's reset headers (``rate_limit_headers``);
- ``"500"``: answer 500 without doing anything;
- ``"hang"``: wait ``hang_seconds`` before answering (past the client's time-out);
- ``"drop_after"``: do the work (the post is stored) and then close the connection
  without an answer — the lost-response case that reconciliation must handle;
- ``"expired"``: answer as the platform does for an expired token.

The server binds 127.0.0.1 on a free port and runs in a daemon thread.
"""

from __future__ import annotations

import email.policy
import json
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeRequest:
    """What the fake saw: method, path, query, headers and body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    url: str
    match: re.Match[str] | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def multipart(self) -> dict[str, MultipartField]:
        """The fields of a ``multipart/form-data`` body, by name."""
        ctype = next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")
        message = BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + self.body
        )
        fields: dict[str, MultipartField] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            fields[name] = MultipartField(
                name=name,
                data=payload if isinstance(payload, bytes) else b"",
                filename=part.get_filename(),
                content_type=part.get_content_type(),
            )
        return fields


@dataclass
class MultipartField:
    """One field of a multipart form: its bytes, and the file name and type if a file."""

    name: str
    data: bytes
    filename: str | None
    content_type: str

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


@dataclass
class FakeResponse:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def encode(self) -> tuple[bytes, str]:
        if self.raw is not None:
            return self.raw, self.headers.get("Content-Type", "application/octet-stream")
        if self.body is None:
            return b"", "application/json"
        return json.dumps(self.body).encode("utf-8"), "application/json"


Handler = Callable[[FakeRequest], FakeResponse]


class _DropConnection(Exception):
    """Raised inside a handler run to close the socket without answering."""


class _QuietServer(ThreadingHTTPServer):
    """A client that vanishes mid-request (a daemon killed by a crash test) is expected:
    it is not printed as a traceback. Anything else still is."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakePlatform:
    """Base of every platform fake. Use as a context manager or call start()/stop()."""

    hang_seconds = 3.0

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: deque[tuple[str, str | None]] = deque()
        self._lock = threading.Lock()
        self.requests: list[FakeRequest] = []
        self.posts: list[dict[str, Any]] = []
        self.rate_limit_reset = int(time.time()) + 60
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- set-up -----------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Register ``handler`` for ``method`` and a full-match path regex."""
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def inject(self, fault: str, *, path: str | None = None, times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` requests (whose path contains ``path``)."""
        with self._lock:
            for _ in range(times):
                self._faults.append((fault, path))

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakePlatform:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in separate writes; without this, Nagle's
            # algorithm and delayed ACKs add ~40 ms to every response
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _serve(self) -> None:
                fake._dispatch(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self._server = _QuietServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        # A short poll interval keeps stop() (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakePlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- hooks for subclasses ------------------------------------------------------

    def rate_limit_headers(self) -> dict[str, str]:
        """Headers a 429 carries; platforms override with their own names."""
        return {"x-rate-limit-reset": str(self.rate_limit_reset), "Retry-After": "60"}

    def expired_response(self) -> FakeResponse:
        """What the platform answers for an expired token."""
        return FakeResponse(401, {"error": "invalid_token"})

    # -- machinery ---------------------------------------------------------------

    def _take_fault(self, path: str) -> str | None:
        with self._lock:
            for i, (fault, where) in enumerate(self._faults):
                if where is None or where in path:
                    del self._faults[i]
                    return fault
        return None

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        split = urlsplit(h.path)
        host = h.headers.get("Host", "")
        req = FakeRequest(
            method=h.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k: v for k, v in h.headers.items()},
            body=body,
            url=f"http://{host}{h.path}",
        )
        with self._lock:
            self.requests.append(req)
        fault = self._take_fault(req.path)
        if fault == "429":
            limited = FakeResponse(429, {"error": "rate limited"}, self.rate_limit_headers())
            return self._send(h, limited)
        if fault == "500":
            return self._send(h, FakeResponse(500, {"error": "internal error"}))
        if fault == "expired":
            return self._send(h, self.expired_response())
        if fault == "hang":
            time.sleep(self.hang_seconds)
        handler = None
        for method, pattern, fn in self._routes:
            if method == req.method:
                m = pattern.fullmatch(req.path)
                if m:
                    req.match = m
                    handler = fn
                    break
        if handler is None:
            return self._send(h, FakeResponse(404, {"error": f"no route {req.method} {req.path}"}))
        try:
            resp = handler(req)
        except _DropConnection:
            return self._drop(h)
        if fault == "drop_after":
            return self._drop(h)
        self._send(h, resp)

    @staticmethod
    def _drop(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, resp: FakeResponse) -> None:
        data, ctype = resp.encode()
        try:
            h.send_response(resp.status)
            h.send_header("Content-Type", resp.headers.get("Content-Type", ctype))
            h.send_header("Content-Length", str(len(data)))
            for k, v in resp.headers.items():
                if k.lower() != "content-type":
                    h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
