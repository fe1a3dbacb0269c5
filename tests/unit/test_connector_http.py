"""The shared HTTP helpers map every outcome to the right connector error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.errors import AuthExpired, Permanent, RateLimited, Transient
from connectors.http import (
    check_response,
    error_text,
    new_session,
    parse_reset,
    quiet_http_debug_logs,
    redact,
    retry_at_from,
    send,
)
from tests.fakes.base import FakePlatform, FakeRequest, FakeResponse

NOW = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Unix time, as Bluesky and X send
        ("1795694400", datetime.fromtimestamp(1795694400, UTC)),
        # seconds to wait, as Retry-After sends
        ("60", NOW + timedelta(seconds=60)),
        # ISO 8601 with Z, as Mastodon sends
        ("2026-11-26T12:00:00.000Z", datetime(2026, 11, 26, 12, tzinfo=UTC)),
        # ISO 8601 with an offset is converted to UTC
        ("2026-11-26T13:00:00+01:00", datetime(2026, 11, 26, 12, tzinfo=UTC)),
        # HTTP date
        ("Thu, 26 Nov 2026 12:00:00 GMT", datetime(2026, 11, 26, 12, tzinfo=UTC)),
        # unreadable and empty values give nothing
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_reset(value: str | None, expected: datetime | None) -> None:
    assert parse_reset(value, now=NOW) == expected


def test_retry_at_prefers_the_named_header_and_falls_back() -> None:
    headers = {"Retry-After": "30", "X-RateLimit-Reset": "2026-11-26T11:05:00Z"}
    assert retry_at_from(headers, now=NOW) == datetime(2026, 11, 26, 11, 5, tzinfo=UTC)
    assert retry_at_from(headers, names=("retry-after",), now=NOW) == NOW + timedelta(seconds=30)
    # nothing usable: a minute from now
    assert retry_at_from({}, now=NOW) == NOW + timedelta(seconds=60)


def test_redact_removes_secret_values() -> None:
    assert redact("token abcd1234 refused", ["abcd1234", ""]) == "token *** refused"


class StatusFake(FakePlatform):
    """Answers /status/<code> with that status and a JSON error."""

    def __init__(self) -> None:
        super().__init__()
        self.route("GET", r"/status/(\d+)", self._status)
        self.route("GET", r"/text", lambda r: FakeResponse(400, raw=b"plain failure"))

    def _status(self, req: FakeRequest) -> FakeResponse:
        assert req.match is not None
        code = int(req.match.group(1))
        headers = {"X-RateLimit-Reset": "2026-11-26T12:00:00Z"} if code == 429 else {}
        return FakeResponse(code, {"error": f"server says {code}"}, headers)


@pytest.fixture
def fake() -> Iterator[StatusFake]:
    with StatusFake() as server:
        yield server  # type: ignore[misc]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, RateLimited),  # rate limit
        (401, AuthExpired),  # credentials refused
        (500, Transient),  # server error
        (503, Transient),  # unavailable
        (408, Transient),  # request time-out
        (400, Permanent),  # bad request
        (403, Permanent),  # forbidden
        (422, Permanent),  # validation failed
    ],
)
def test_statuses_map_to_errors(fake: StatusFake, status: int, error: type[Exception]) -> None:
    session = new_session()
    with pytest.raises(error) as info:
        send(session, "GET", f"{fake.base_url}/status/{status}", platform="demo", timeout=2)
    assert "/status/" in str(info.value)
    if isinstance(info.value, RateLimited):
        assert info.value.retry_at == datetime(2026, 11, 26, 12, tzinfo=UTC)
    if isinstance(info.value, Permanent):
        assert info.value.reason == f"server says {status}"


def test_success_is_returned_and_check_false_skips_mapping(fake: StatusFake) -> None:
    session = new_session()
    ok = send(session, "GET", f"{fake.base_url}/status/200", platform="demo", timeout=2)
    assert ok.status_code == 200
    raw = send(
        session, "GET", f"{fake.base_url}/status/500", platform="demo", timeout=2, check=False
    )
    assert raw.status_code == 500
    with pytest.raises(Transient):
        check_response(raw, platform="demo")


def test_plain_text_error_body_is_the_reason(fake: StatusFake) -> None:
    response = requests.get(f"{fake.base_url}/text", timeout=2)
    assert error_text(response) == "plain failure"


def test_timeout_is_transient_and_hides_the_query(fake: StatusFake) -> None:
    fake.hang_seconds = 1.0
    fake.inject("hang")
    with pytest.raises(Transient) as info:
        send(
            new_session(),
            "GET",
            f"{fake.base_url}/status/200?access_token=sekrit-token",
            platform="demo",
            timeout=0.3,
        )
    assert "sekrit-token" not in str(info.value)
    assert info.value.__cause__ is None


def test_dropped_connection_is_transient(fake: StatusFake) -> None:
    fake.inject("drop_after")
    with pytest.raises(Transient):
        send(new_session(), "GET", f"{fake.base_url}/status/200", platform="demo", timeout=2)


def test_connection_refused_is_transient() -> None:
    with FakePlatform() as gone:
        url = gone.base_url
    with pytest.raises(Transient):
        send(new_session(), "GET", f"{url}/x", platform="demo", timeout=1)


def test_secrets_are_removed_from_server_text(fake: StatusFake) -> None:
    with pytest.raises(Permanent) as info:
        send(
            new_session(),
            "GET",
            f"{fake.base_url}/status/400",
            platform="demo",
            timeout=2,
            secrets=["says"],
        )
    assert "says" not in str(info.value)
    assert "says" not in info.value.reason


def test_quiet_logs_drop_urllib3_debug(fake: StatusFake, caplog: pytest.LogCaptureFixture) -> None:
    quiet_http_debug_logs()
    logging.getLogger("urllib3.connectionpool").setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        requests.get(f"{fake.base_url}/status/200?access_token=sekrit-token", timeout=2)
    assert "sekrit-token" not in caplog.text


def test_a_netrc_login_for_the_host_does_not_replace_the_connectors_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests reads ~/.netrc for requests without auth and puts the file's login in
    # the Authorization header: the platform would see Basic auth, not the token.
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password other\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    seen: list[str] = []
    with FakePlatform() as fake:
        fake.route(
            "GET",
            r"/who",
            lambda req: seen.append(req.headers.get("Authorization", "")) or FakeResponse(200, {}),
        )
        plain = requests.Session()
        plain.headers["Authorization"] = "Bearer token-1"
        plain.get(f"{fake.base_url}/who", timeout=2)
        ours = new_session()
        ours.headers["Authorization"] = "Bearer token-1"
        send(ours, "GET", f"{fake.base_url}/who", platform="demo", timeout=2)
    assert seen[0].startswith("Basic ")  # what a plain session does with the file
    assert seen[1] == "Bearer token-1"


def test_proxies_from_the_environment_are_used_and_no_proxy_is_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The environment is read once per host; what it says must still hold.
    seen: list[tuple[str, str]] = []

    def who(name: str) -> Any:
        return lambda req: seen.append((name, req.url)) or FakeResponse(200, {})

    with FakePlatform() as proxy, FakePlatform() as direct:
        proxy.route("GET", r"/who", who("proxy"))
        direct.route("GET", r"/who", who("direct"))
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        session = new_session()
        for _ in range(2):
            send(session, "GET", "http://platform.invalid/who", platform="demo", timeout=2)
            send(session, "GET", f"{direct.base_url}/who", platform="demo", timeout=2)
    assert [name for name, _ in seen] == ["proxy", "direct", "proxy", "direct"]
    assert seen[0][1].endswith("platform.invalid/who")
