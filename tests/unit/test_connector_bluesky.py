"""Bluesky connector against the loopback fake PDS: sessions, facets, record keys."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from connectors import AccountConfig, MediaItem, PublishRequest, make_connector
from connectors.bluesky import BlueskyConnector, detect_facets, tid_for
from connectors.errors import (
    AuthExpired,
    CredentialsError,
    Permanent,
    RateLimited,
    Transient,
    Unsupported,
)
from tests.fakes.bluesky import APP_PASSWORD, DID, HANDLE, FakeBluesky, tid_time

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    with FakeBluesky() as server:
        yield server  # type: ignore[misc]


class Saved:
    """Collects what the connector asks to keep in the credential store."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []

    def __call__(self, credentials: dict[str, str]) -> None:
        self.calls.append(credentials)

    @property
    def latest(self) -> dict[str, str]:
        return self.calls[-1]


def connect(
    fake: FakeBluesky,
    *,
    credentials: dict[str, str] | None = None,
    saved: Saved | None = None,
    timeout: float = 2.0,
) -> BlueskyConnector:
    config = AccountConfig(
        name="uni-bsky",
        platform="bluesky",
        handle=HANDLE,
        api_base=fake.base_url,
        credentials=credentials or {"identifier": HANDLE, "app_password": APP_PASSWORD},
    )
    connector = make_connector(config, timeout=timeout, save_credentials=saved)
    assert isinstance(connector, BlueskyConnector)
    return connector


def now_request(text: str, key: str, **kwargs: object) -> PublishRequest:
    return PublishRequest(text=text, idempotency_key=key, attempted_at=datetime.now(UTC), **kwargs)  # type: ignore[arg-type]


def test_publish_text_logs_in_once_and_saves_the_session(fake: FakeBluesky) -> None:
    saved = Saved()
    connector = connect(fake, saved=saved)
    first = connector.publish(now_request("Hello Bluesky", "k1"))
    connector.publish(now_request("Second post", "k2"))
    assert fake.logins == 1
    assert saved.latest["did"] == DID and saved.latest["access_jwt"]
    assert first.remote_id.startswith(f"at://{DID}/app.bsky.feed.post/")
    assert first.url.startswith(f"https://bsky.app/profile/{HANDLE}/post/")
    # a new connector built from the saved credentials does not log in again
    connect(fake, credentials=saved.latest).publish(now_request("Third", "k3"))
    assert fake.logins == 1
    assert [p["text"] for p in fake.posts] == ["Hello Bluesky", "Second post", "Third"]


def test_publish_with_images_and_alt_text(fake: FakeBluesky) -> None:
    request = now_request(
        "Campus in spring",
        "img",
        media=(MediaItem(PNG, alt="Cherry blossom"), MediaItem(PNG + b"2", alt="Library")),
    )
    connect(fake).publish(request)
    images = fake.posts[0]["embed"]["images"]
    assert [i["alt"] for i in images] == ["Cherry blossom", "Library"]
    assert fake.blobs[images[0]["image"]["ref"]["$link"]] == PNG
    assert "aspectRatio" not in images[0]  # not a readable image: no size to give


def test_real_image_carries_its_aspect_ratio(fake: FakeBluesky) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, format="PNG")
    connect(fake).publish(now_request("red", "red", media=(MediaItem(buffer.getvalue()),)))
    image = fake.posts[0]["embed"]["images"][0]
    assert image["aspectRatio"] == {"width": 40, "height": 30}


def test_facets_use_utf8_byte_offsets_for_links_mentions_and_tags(fake: FakeBluesky) -> None:
    text = "Café ☕ news: see https://example.ac.uk/news. Thanks @dean.bsky.social #OpenDay2026!"
    connect(fake).publish(now_request(text, "facets"))
    data = text.encode("utf-8")
    got = {}
    for facet in fake.posts[0]["facets"]:
        feature = facet["features"][0]
        span = data[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8")
        got[feature["$type"].rsplit("#", 1)[1]] = (span, feature)
    assert got["link"][0] == "https://example.ac.uk/news"
    assert got["link"][1]["uri"] == "https://example.ac.uk/news"
    assert got["mention"][0] == "@dean.bsky.social"
    assert got["mention"][1]["did"] == "did:plc:dean0000"
    assert got["tag"][0] == "#OpenDay2026"
    assert got["tag"][1]["tag"] == "OpenDay2026"


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        # a mention of a handle that does not exist stays plain text
        ("hi @nobody.example.com", []),
        # numbers alone are not hashtags
        ("room #101", []),
        # an e-mail address is not a mention
        ("mail comms@uni.ac.uk", []),
        # a link in brackets loses the closing bracket
        ("(https://example.ac.uk)", ["link"]),
    ],
)
def test_facet_detection_edge_cases(text: str, kinds: list[str]) -> None:
    facets = detect_facets(text, lambda handle: None)
    assert [f["features"][0]["$type"].rsplit("#", 1)[1] for f in facets] == kinds
    if kinds == ["link"]:
        assert facets[0]["features"][0]["uri"] == "https://example.ac.uk"


def test_expired_access_token_is_refreshed_and_saved(fake: FakeBluesky) -> None:
    saved = Saved()
    connector = connect(fake, saved=saved)
    connector.publish(now_request("before", "a"))
    old = saved.latest["access_jwt"]
    fake.expire_access_tokens()
    connector.publish(now_request("after", "b"))
    assert fake.refreshes == 1 and fake.logins == 1
    assert saved.latest["access_jwt"] != old
    assert [p["text"] for p in fake.posts] == ["before", "after"]


def test_injected_expired_token_fault_is_refreshed(fake: FakeBluesky) -> None:
    connector = connect(fake)
    connector.publish(now_request("one", "a"))
    fake.inject("expired", path="createRecord")
    connector.publish(now_request("two", "b"))
    assert fake.refreshes == 1 and len(fake.posts) == 2


def test_dead_refresh_token_logs_in_again_once(fake: FakeBluesky) -> None:
    connector = connect(fake)
    connector.publish(now_request("one", "a"))
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    connector.publish(now_request("two", "b"))
    assert fake.logins == 2


def test_revoked_app_password_is_auth_expired(fake: FakeBluesky) -> None:
    saved = Saved()
    connector = connect(fake, saved=saved)
    connector.publish(now_request("one", "a"))
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    fake.app_password = "new-pass-word-here"
    with pytest.raises(AuthExpired, match="uni-bsky") as info:
        connector.publish(now_request("two", "b"))
    assert APP_PASSWORD not in str(info.value)
    assert saved.latest["refresh_jwt"] not in str(info.value)


def test_session_without_app_password_that_expires_is_auth_expired(fake: FakeBluesky) -> None:
    saved = Saved()
    connect(fake, saved=saved).publish(now_request("one", "a"))
    tokens_only = {k: v for k, v in saved.latest.items() if k != "app_password"}
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    with pytest.raises(AuthExpired, match="accounts connect uni-bsky"):
        connect(fake, credentials=tokens_only).publish(now_request("two", "b"))


def test_rate_limit_carries_the_reset_time(fake: FakeBluesky) -> None:
    fake.rate_limit_reset = int(time.time()) + 900
    fake.inject("429", path="createRecord")
    with pytest.raises(RateLimited) as info:
        connect(fake).publish(now_request("x", "k"))
    assert info.value.retry_at == datetime.fromtimestamp(fake.rate_limit_reset, UTC)


def test_login_rate_limit_is_rate_limited(fake: FakeBluesky) -> None:
    fake.inject("429", path="createSession")
    with pytest.raises(RateLimited):
        connect(fake).publish(now_request("x", "k"))


def test_server_refusal_is_permanent_with_its_reason(fake: FakeBluesky) -> None:
    config = AccountConfig(
        name="uni-bsky",
        platform="bluesky",
        api_base=fake.base_url,
        credentials={"identifier": HANDLE, "app_password": APP_PASSWORD},
        options={"max_graphemes": "400"},  # our limit set above the server's
    )
    with pytest.raises(Permanent) as info:
        make_connector(config).publish(now_request("a" * 301, "long"))
    assert info.value.reason == "Invalid app.bsky.feed.post record: text too long"
    assert fake.posts == []


def test_server_error_is_transient(fake: FakeBluesky) -> None:
    fake.inject("500", path="createRecord")
    with pytest.raises(Transient):
        connect(fake).publish(now_request("x", "k"))
    assert fake.posts == []


def test_hang_past_the_timeout_is_transient(fake: FakeBluesky) -> None:
    connector = connect(fake, timeout=0.5)
    connector.publish(now_request("warm up", "w"))  # log in first
    fake.hang_seconds = 1.5
    fake.inject("hang", path="createRecord")
    request = now_request("slow", "hang")
    with pytest.raises(Transient, match="did not answer"):
        connector.publish(request)
    deadline = time.monotonic() + 3
    while len(fake.posts) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    found = connector.lookup(request)
    assert found is not None and found.remote_id == fake.posts[1]["uri"]


def test_dropped_response_then_lookup_finds_it_by_record_key(fake: FakeBluesky) -> None:
    connector = connect(fake)
    request = now_request("Lost answer", "drop")
    fake.inject("drop_after", path="createRecord")
    with pytest.raises(Transient):
        connector.publish(request)
    found = connector.lookup(request)
    assert found is not None and found.remote_id == fake.posts[0]["uri"]
    assert not any("getAuthorFeed" in r.path for r in fake.requests)


def test_sending_the_same_attempt_again_does_not_post_twice(fake: FakeBluesky) -> None:
    connector = connect(fake)
    request = now_request("Exactly once", "once")
    fake.inject("drop_after", path="createRecord")
    with pytest.raises(Transient):
        connector.publish(request)
    again = connector.publish(request)  # the record key is taken by the first send
    assert len(fake.posts) == 1
    assert again.remote_id == fake.posts[0]["uri"]


def test_lookup_by_text_when_no_attempt_time(fake: FakeBluesky) -> None:
    connector = connect(fake)
    connector.publish(PublishRequest(text="Found by text", idempotency_key="t"))
    # a different connector (after a restart) knows nothing but the text
    fresh = connect(fake)
    found = fresh.lookup(PublishRequest(text="Found by text", idempotency_key="t"))
    assert found is not None and found.remote_id == fake.posts[0]["uri"]
    assert fresh.lookup(PublishRequest(text="Never posted", idempotency_key="n")) is None


def test_lookup_ignores_an_identical_older_post(fake: FakeBluesky) -> None:
    connector = connect(fake)
    connector.publish(PublishRequest(text="Good morning", idempotency_key="yesterday"))
    later = PublishRequest(
        text="Good morning",
        idempotency_key="today",
        attempted_at=datetime.now(UTC) + timedelta(hours=1),
    )
    assert connector.lookup(later) is None


def test_old_attempt_lets_the_server_choose_the_key(fake: FakeBluesky) -> None:
    request = PublishRequest(
        text="late retry",
        idempotency_key="old",
        attempted_at=datetime.now(UTC) - timedelta(hours=1),
    )
    connect(fake).publish(request)
    assert fake.posts[0]["rkey"] != tid_for("old", request.attempted_at)  # type: ignore[arg-type]


def test_record_key_refused_by_a_skewed_server_clock_falls_back(fake: FakeBluesky) -> None:
    fake.rkey_window = 60  # the server thinks our attempt time is too far off
    request = PublishRequest(
        text="clock skew",
        idempotency_key="skew",
        attempted_at=datetime.now(UTC) - timedelta(minutes=3),
    )
    receipt = connect(fake).publish(request)
    assert len(fake.posts) == 1 and receipt.remote_id == fake.posts[0]["uri"]
    assert fake.posts[0]["rkey"] != tid_for("skew", request.attempted_at)  # type: ignore[arg-type]


def test_delete_and_no_edit(fake: FakeBluesky) -> None:
    connector = connect(fake)
    receipt = connector.publish(now_request("Wrong", "d"))
    with pytest.raises(Unsupported):
        connector.edit(receipt.remote_id, now_request("Right", "d"))
    connector.delete(receipt.remote_id)
    assert fake.records == {}
    with pytest.raises(Permanent):
        connector.delete("at://not-a-uri")


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        # exactly 300 graphemes
        ("a" * 300, []),
        # one past
        ("a" * 301, ["too_long"]),
        # 300 family emoji: 300 graphemes of 25 bytes each is over 3,000 bytes
        ("👨‍👩‍👧‍👦" * 300, ["too_long"]),
        # 120 family emoji are 120 graphemes and 3,000 bytes: exactly at both limits
        ("👨‍👩‍👧‍👦" * 120, []),
        # accents written as combining marks count once: 300 graphemes
        ("e\u0301" * 300, []),
    ],
)
def test_validate_at_the_limit(fake: FakeBluesky, text: str, codes: list[str]) -> None:
    connector = connect(fake)
    request = now_request(text, "v")
    assert [p.code for p in connector.validate(request)] == codes
    if not codes:
        connector.publish(request)  # and the server takes it
        assert fake.posts[-1]["text"] == text


def test_validate_images(fake: FakeBluesky) -> None:
    connector = connect(fake)
    big = MediaItem(b"x" * 1_000_001)
    assert [p.code for p in connector.validate(now_request("x", "v", media=(big,)))] == [
        "media_too_large"
    ]
    five = tuple(MediaItem(PNG) for _ in range(5))
    with pytest.raises(Permanent):
        connector.publish(now_request("x", "v", media=five))
    assert fake.logins == 0  # refused before any network call


def test_tid_is_deterministic_and_well_formed() -> None:
    at = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    assert tid_for("a", at) == tid_for("a", at)
    assert tid_for("a", at) != tid_for("b", at)
    assert abs(tid_time(tid_for("a", at)) - at.timestamp()) < 0.01


def test_missing_credentials_are_refused() -> None:
    with pytest.raises(CredentialsError, match="app password"):
        make_connector(AccountConfig(name="b", platform="bluesky", credentials={"identifier": "x"}))
