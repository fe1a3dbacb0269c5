"""Shared ``requests`` helpers: one place that turns HTTP outcomes into connector errors.

Every connector that talks HTTP sends through :func:`send` (or calls
:func:`check_response` on a response it got some other way), so the mapping is the
same everywhere:

    transport time-out, connection error      -> Transient
    429                                       -> RateLimited(retry_at from reset headers)
    401                                       -> AuthExpired
    408, 425, 5xx                             -> Transient
    any other 4xx (400, 403, 404, 409, 422)   -> Permanent(reason = the server's text)

Messages carry the method, the path and the server's own error text, never a URL query
(some platforms put tokens there) and never a value passed in ``secrets``. Raw
``requests`` exceptions are not chained, because their text holds the full URL.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

import requests

from connectors.errors import AuthExpired, Permanent, RateLimited, Transient

#: User-Agent sent by every connector.
USER_AGENT = "gatepost/0.1"

#: When a 429 carries no usable reset header, wait this long.
DEFAULT_RETRY_SECONDS = 60

#: Reset headers tried in order (case-insensitive); platforms pass their own first.
DEFAULT_RESET_HEADERS: tuple[str, ...] = (
    "x-ratelimit-reset",  # Mastodon (ISO 8601)
    "ratelimit-reset",  # Bluesky (epoch seconds)
    "x-rate-limit-reset",  # X (epoch seconds)
    "retry-after",  # RFC 9110: delta seconds or an HTTP date
)

#: Loggers of HTTP libraries that print request lines, headers or tokens at DEBUG/INFO.
CHATTY_LOGGERS: tuple[str, ...] = ("urllib3", "requests_oauthlib", "oauthlib", "tweepy")

# Numbers below this are a number of seconds to wait, above it a Unix time (2001-09-09).
_EPOCH_THRESHOLD = 1_000_000_000


def parse_reset(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """Read one rate-limit reset header value as an aware UTC datetime.

    Accepts a Unix time (``1764158400``), a number of seconds to wait (``"60"``, as
    ``Retry-After`` sends), an ISO 8601 time (``2026-11-26T12:00:00.000Z``, as Mastodon
    sends) or an HTTP date. Returns ``None`` for an empty or unreadable value.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    now = now or datetime.now(UTC)
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if number < _EPOCH_THRESHOLD:
            return now + timedelta(seconds=max(number, 0.0))
        return datetime.fromtimestamp(number, UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def retry_at_from(
    headers: Mapping[str, str],
    *,
    names: Sequence[str] = DEFAULT_RESET_HEADERS,
    now: datetime | None = None,
) -> datetime:
    """When to try again after a 429, from the first readable header in ``names``.

    Falls back to ``DEFAULT_RETRY_SECONDS`` from now when no header can be read.
    """
    now = now or datetime.now(UTC)
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in names:
        parsed = parse_reset(lowered.get(name.lower()), now=now)
        if parsed is not None:
            return parsed
    return now + timedelta(seconds=DEFAULT_RETRY_SECONDS)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every non-trivial value of ``secrets`` found in ``text`` with ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def error_text(response: requests.Response, *, limit: int = 300) -> str:
    """The server's own explanation of a failed response, short and on one line.

    Looks for the usual JSON fields (``error_description``, ``message``, ``error``,
    ``detail``, ``errors``) and falls back to the start of the body, or the reason.
    """
    text = ""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("error_description", "message", "error", "detail", "title", "errors"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("description") or value
            if isinstance(value, list) and value:
                first = value[0]
                value = first.get("message", first) if isinstance(first, dict) else first
            if value:
                text = str(value)
                break
    if not text:
        try:
            text = response.text.strip()
        except (ValueError, RuntimeError):
            text = ""
    if not text:
        text = response.reason or ""
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


def _where(response_or_url: requests.Response | str, method: str = "") -> str:
    if isinstance(response_or_url, requests.Response):
        url = response_or_url.url or ""
        request = response_or_url.request
        method = method or (request.method if request is not None else "") or ""
    else:
        url = response_or_url
    path = urlsplit(url).path or "/"
    return f"{method.upper()} {path}".strip()


def check_response(
    response: requests.Response,
    *,
    platform: str,
    reset_headers: Sequence[str] = DEFAULT_RESET_HEADERS,
    secrets: Iterable[str] = (),
) -> requests.Response:
    """Return ``response`` when its status is below 400, else raise the matching error.

    Raises ``RateLimited`` (429, ``retry_at`` from ``reset_headers``), ``AuthExpired``
    (401), ``Transient`` (408, 425, 5xx) or ``Permanent`` (other 4xx, with the server's
    text as ``reason``). ``secrets`` are removed from every message.
    """
    status = response.status_code
    if status < 400:
        return response
    secret_values = list(secrets)
    reason = redact(error_text(response), secret_values)
    where = _where(response)
    label = platform or "platform"
    if status == 429:
        retry_at = retry_at_from(response.headers, names=reset_headers)
        raise RateLimited(
            f"{label} rate limit on {where}; retry after {retry_at.isoformat(timespec='seconds')}",
            retry_at=retry_at,
            platform=platform,
        )
    if status == 401:
        raise AuthExpired(
            f"{label} refused the account's credentials on {where} ({reason}); "
            "reconnect the account",
            platform=platform,
        )
    if status in (408, 425) or status >= 500:
        raise Transient(f"{label} answered {status} on {where}: {reason}", platform=platform)
    raise Permanent(
        f"{label} refused {where} ({status}): {reason}", reason=reason, platform=platform
    )


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    platform: str,
    timeout: float,
    check: bool = True,
    reset_headers: Sequence[str] = DEFAULT_RESET_HEADERS,
    secrets: Iterable[str] = (),
    **kwargs: Any,
) -> requests.Response:
    """Send one request through ``session`` and classify what goes wrong.

    ``kwargs`` go to ``session.request`` (``json=``, ``data=``, ``files=``, ``headers=``,
    ``params=``). Time-outs and connection errors raise ``Transient``; with ``check``
    (the default) the status is passed through :func:`check_response`. Use
    ``check=False`` to look at a status first (e.g. a platform's own expired-token body).
    """
    where = _where(url, method)
    label = platform or "platform"
    try:
        response = session.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout:
        raise Transient(
            f"{label} did not answer {where} within {timeout:g} s", platform=platform
        ) from None
    except requests.ConnectionError as exc:
        raise Transient(
            f"{label} connection failed on {where} ({type(exc).__name__})", platform=platform
        ) from None
    except requests.RequestException as exc:
        raise Transient(
            f"{label} request {where} failed ({type(exc).__name__})", platform=platform
        ) from None
    if check:
        check_response(response, platform=platform, reset_headers=reset_headers, secrets=secrets)
    return response


class _DropBelowWarning(logging.Filter):
    """Drop DEBUG and INFO records: these libraries print headers and tokens there."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_QUIET_FILTER = _DropBelowWarning()


def quiet_http_debug_logs() -> None:
    """Keep HTTP and OAuth libraries from logging request headers and tokens.

    ``urllib3`` logs each request line (with its query) and ``requests_oauthlib`` and
    ``oauthlib`` log headers and tokens at DEBUG. This raises those loggers to WARNING
    and attaches a filter to each of them and to every child logger already created,
    so the records are dropped even if someone later sets a child logger to DEBUG.
    Idempotent; connectors call it when they are built.
    """
    manager = logging.Logger.manager
    for prefix in CHATTY_LOGGERS:
        top = logging.getLogger(prefix)
        if top.level == logging.NOTSET or top.level < logging.WARNING:
            top.setLevel(logging.WARNING)
        names = [n for n in list(manager.loggerDict) if n == prefix or n.startswith(prefix + ".")]
        for name in names:
            logger = logging.getLogger(name)
            if _QUIET_FILTER not in logger.filters:
                logger.addFilter(_QUIET_FILTER)


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback_http(url: str) -> bool:
    """Whether ``url`` is plain ``http`` to this machine (a test fake or local staging)."""
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS


def allow_loopback_http_for_oauthlib(base_url: str) -> None:
    """Let oauthlib send tokens over plain ``http`` when ``base_url`` is loopback.

    oauthlib refuses any ``http://`` URL unless ``OAUTHLIB_INSECURE_TRANSPORT`` is set.
    Real platforms are always ``https`` and never reach this; only an account whose
    ``api_base`` is 127.0.0.1 (the tests' fakes, a local staging server) sets it.
    """
    if is_loopback_http(base_url):
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


_S = TypeVar("_S", bound=requests.Session)


@overload
def new_session() -> requests.Session: ...


@overload
def new_session(session: _S) -> _S: ...


def new_session(session: requests.Session | None = None) -> requests.Session:
    """Prepare a session for connector use: our User-Agent, chatty logs quietened, and
    no credentials taken from ``~/.netrc``.

    ``requests`` reads ``~/.netrc`` on every request that has no ``auth`` of its own and,
    when the file names the host, replaces the ``Authorization`` header with its login:
    a connector's bearer token would be swapped for it, and the platform would answer
    401 ("reconnect the account") though nothing is wrong with the account. A session
    with an ``auth`` that changes nothing is never given the file's login (the same
    thing ``OAuth2Session`` does); an ``auth`` set already (OAuth 1) is kept.

    Pass an existing session (e.g. an ``OAuth2Session``) to prepare it in place.
    """
    quiet_http_debug_logs()
    session = session if session is not None else requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    if session.auth is None:
        session.auth = _keep_headers
    if not isinstance(session.merge_environment_settings, _EnvironmentOnce):
        session.merge_environment_settings = _EnvironmentOnce(  # type: ignore[method-assign]
            session.merge_environment_settings
        )
    return session


class _EnvironmentOnce:
    """A session's ``merge_environment_settings`` that reads the environment (proxies,
    ``NO_PROXY``, CA bundle) once per scheme and host instead of on every request.

    ``requests`` parses every proxy variable of the environment on each request; for
    a daemon sending thousands of posts that was about a quarter of the CPU a request
    cost. A request given its own proxies or TLS settings is merged as ``requests``
    would.
    """

    def __init__(self, merge: Callable[..., dict[str, Any]]) -> None:
        self._merge = merge
        self._seen: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __call__(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        if proxies or stream is not None or verify is not None or cert is not None:
            return self._merge(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        with self._lock:
            found = self._seen.get(key)
        if found is None:
            found = self._merge(url, {}, None, None, None)
            with self._lock:
                self._seen[key] = found
        return {name: dict(v) if isinstance(v, dict) else v for name, v in found.items()}


def _keep_headers(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An ``auth`` that leaves the request as the connector made it."""
    return request


__all__ = [
    "CHATTY_LOGGERS",
    "DEFAULT_RESET_HEADERS",
    "DEFAULT_RETRY_SECONDS",
    "USER_AGENT",
    "allow_loopback_http_for_oauthlib",
    "check_response",
    "error_text",
    "is_loopback_http",
    "new_session",
    "parse_reset",
    "quiet_http_debug_logs",
    "redact",
    "retry_at_from",
    "send",
]
