"""Mastodon connector against the loopback fake instance: real requests-oauthlib calls."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors import AccountConfig, MediaItem, PublishRequest, make_connector
from connectors.errors import AuthExpired, CredentialsError, Permanent, RateLimited, Transient
from connectors.mastodon import MastodonConnector, status_text
from tests.fakes.mastodon import FakeMastodon, render_content

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10
TOKEN = "good-mastodon-token"


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server  # type: ignore[misc]


def connect(
    fake: FakeMastodon, *, timeout: float = 2.0, token: str = TOKEN, **options: str
) -> MastodonConnector:
    config = AccountConfig(
        name="uni-mastodon",
        platform="mastodon",
        handle="@comms@127.0.0.1",
        api_base=fake.base_url,
        credentials={"access_token": token, "client_id": "cid", "client_secret": "csecret"},
        options=options,
    )
    connector = make_connector(config, timeout=timeout)
    assert isinstance(connector, MastodonConnector)
    connector.media_poll_interval = 0.01
    return connector


def test_publish_text_only(fake: FakeMastodon) -> None:
    receipt = connect(fake).publish(PublishRequest(text="Hello from campus", idempotency_key="k1"))
    assert fake.posts[0]["text"] == "Hello from campus"
    assert fake.posts[0]["key"] == "k1"
    assert receipt.remote_id == fake.posts[0]["id"]
    assert receipt.url == f"{fake.base_url}/@comms/{receipt.remote_id}"
    assert abs(receipt.published_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_publish_with_images_waits_for_processing_and_sends_alt_text(
    fake: FakeMastodon,
) -> None:
    fake.media_processing_polls = 2  # 202 on upload, then 206 twice, then 200
    request = PublishRequest(
        text="Graduation photos",
        idempotency_key="k2",
        media=(MediaItem(PNG, alt="Graduates throw hats"), MediaItem(PNG + b"2", alt="Dean")),
    )
    connect(fake).publish(request)
    attached = fake.posts[0]["media"]
    assert [m["description"] for m in attached] == ["Graduates throw hats", "Dean"]
    assert all(m["url"] for m in attached)
    polls = [r for r in fake.requests if r.method == "GET" and "/api/v1/media/" in r.path]
    assert len(polls) == 6  # three GETs per image


def test_media_still_processing_after_the_wait_is_transient(fake: FakeMastodon) -> None:
    fake.media_processing_polls = 1000
    connector = connect(fake, media_wait_seconds="1")
    connector.media_poll_interval = 0.2
    with pytest.raises(Transient, match="still processing"):
        connector.publish(PublishRequest(text="x", idempotency_key="k", media=(MediaItem(PNG),)))
    assert fake.posts == []


def test_same_idempotency_key_gives_one_status(fake: FakeMastodon) -> None:
    connector = connect(fake)
    request = PublishRequest(text="Only once", idempotency_key="same-key")
    assert connector.publish(request) == connector.publish(request)
    assert len(fake.posts) == 1


def test_rate_limit_carries_the_reset_time(fake: FakeMastodon) -> None:
    fake.rate_limit_reset = int(time.time()) + 300
    fake.inject("429", path="/api/v1/statuses")
    with pytest.raises(RateLimited) as info:
        connect(fake).publish(PublishRequest(text="x", idempotency_key="k"))
    assert info.value.retry_at == datetime.fromtimestamp(fake.rate_limit_reset, UTC)
    assert fake.posts == []


def test_server_error_is_transient(fake: FakeMastodon) -> None:
    fake.inject("500", path="/api/v1/statuses")
    with pytest.raises(Transient):
        connect(fake).publish(PublishRequest(text="x", idempotency_key="k"))


def test_hang_past_the_timeout_is_transient_then_lookup_finds_it(fake: FakeMastodon) -> None:
    fake.hang_seconds = 1.5
    fake.inject("hang", path="/api/v1/statuses")
    connector = connect(fake, timeout=0.5)
    request = PublishRequest(text="Slow server day", idempotency_key="hang-key")
    with pytest.raises(Transient, match="did not answer"):
        connector.publish(request)
    deadline = time.monotonic() + 3
    while not fake.posts and time.monotonic() < deadline:
        time.sleep(0.05)
    found = connector.lookup(request)
    assert found is not None and found.remote_id == fake.posts[0]["id"]


def test_dropped_response_then_lookup_finds_the_post(fake: FakeMastodon) -> None:
    fake.inject("drop_after", path="/api/v1/statuses")
    connector = connect(fake)
    request = PublishRequest(
        text="Lost answer\n\nsee https://example.ac.uk/a/very/long/path/that/gets/shortened",
        idempotency_key="drop-key",
        media=(MediaItem(PNG, alt="a"),),
    )
    with pytest.raises(Transient):
        connector.publish(request)
    # the instance forgot the key (an hour later): lookup must still find it by text
    fake.forget_idempotency_keys()
    found = connector.lookup(request)
    assert found is not None and found.remote_id == fake.posts[0]["id"]


def test_lookup_misses_a_different_or_older_post(fake: FakeMastodon) -> None:
    connector = connect(fake)
    connector.publish(PublishRequest(text="Good morning", idempotency_key="yesterday"))
    # a different text is not a match
    assert connector.lookup(PublishRequest(text="Good evening", idempotency_key="x")) is None
    # the same text posted before this attempt began is not this attempt's post
    later = PublishRequest(
        text="Good morning",
        idempotency_key="today",
        attempted_at=datetime.now(UTC) + timedelta(hours=1),
    )
    assert connector.lookup(later) is None


def test_lookup_reads_older_pages(fake: FakeMastodon) -> None:
    connector = connect(fake)
    connector.publish(PublishRequest(text="The one", idempotency_key="first"))
    for n in range(45):
        connector.publish(PublishRequest(text=f"filler {n}", idempotency_key=f"f{n}"))
    found = connector.lookup(PublishRequest(text="The one", idempotency_key="first"))
    assert found is not None and found.remote_id == fake.posts[0]["id"]
    pages = [r for r in fake.requests if r.path.endswith("/statuses") and r.method == "GET"]
    assert len(pages) == 2


def test_expired_token_is_auth_expired_naming_the_account(fake: FakeMastodon) -> None:
    fake.revoke(TOKEN)
    with pytest.raises(AuthExpired, match="uni-mastodon") as info:
        connect(fake).publish(PublishRequest(text="x", idempotency_key="k"))
    assert TOKEN not in str(info.value)


def test_injected_expired_fault_is_auth_expired(fake: FakeMastodon) -> None:
    fake.inject("expired")
    with pytest.raises(AuthExpired):
        connect(fake).publish(PublishRequest(text="x", idempotency_key="k"))


def test_server_validation_is_permanent_with_its_reason(fake: FakeMastodon) -> None:
    # our own limit is set higher than the instance's, so the instance refuses
    connector = connect(fake, max_chars="600")
    with pytest.raises(Permanent) as info:
        connector.publish(PublishRequest(text="a" * 501, idempotency_key="k"))
    assert info.value.reason == "Validation failed: Text character limit of 500 exceeded"


def test_edit_and_delete(fake: FakeMastodon) -> None:
    connector = connect(fake)
    receipt = connector.publish(PublishRequest(text="Tpyo", idempotency_key="k"))
    edited = connector.edit(
        receipt.remote_id,
        PublishRequest(text="Typo", idempotency_key="k", media=(MediaItem(PNG, alt="fixed"),)),
    )
    assert edited.remote_id == receipt.remote_id
    status = fake.statuses[receipt.remote_id]
    assert status["text"] == "Typo" and status["edited_at"]
    assert status["media_attachments"][0]["description"] == "fixed"
    connector.delete(receipt.remote_id)
    assert receipt.remote_id not in fake.statuses
    with pytest.raises(Permanent, match="Record not found"):
        connector.delete(receipt.remote_id)


@pytest.mark.parametrize(
    ("text", "over"),
    [
        # exactly 500 characters
        ("a" * 500, False),
        # one past
        ("a" * 501, True),
        # a long URL counts 23: 477 + 23 = 500
        ("a" * 476 + " https://example.ac.uk/" + "p" * 200, False),
        # 478 + 23 = 501
        ("a" * 477 + " https://example.ac.uk/" + "p" * 200, True),
        # a family emoji (one grapheme of seven code points) counts 1: 499 + 1
        ("a" * 499 + "👨‍👩‍👧‍👦", False),
        # a remote mention counts its local part: "@dean" is 5
        ("a" * 495 + "@dean@other.example", False),
    ],
)
def test_validate_at_the_limit(fake: FakeMastodon, text: str, over: bool) -> None:
    connector = connect(fake)
    codes = [p.code for p in connector.validate(PublishRequest(text=text, idempotency_key="v"))]
    assert codes == (["too_long"] if over else [])
    if not over:
        # and the instance agrees
        connector.publish(PublishRequest(text=text, idempotency_key="v"))


def test_validate_media(fake: FakeMastodon) -> None:
    connector = connect(fake)
    five = tuple(MediaItem(PNG) for _ in range(5))
    assert [p.code for p in connector.validate(PublishRequest("x", "v", five))] == [
        "too_many_media"
    ]
    assert connector.validate(PublishRequest("x", "v", five[:4])) == []
    with pytest.raises(Permanent):
        connector.publish(PublishRequest("x", "v", five))
    assert not any(r.path == "/api/v2/media" for r in fake.requests)


def test_instance_limits_are_read() -> None:
    with FakeMastodon(max_characters=1000) as fake:
        connector = connect(fake)  # type: ignore[arg-type]
        connector.load_instance_limits()
        assert connector.measure("x").limit == 1000
        assert connector.validate(PublishRequest("x", "v", (MediaItem(PNG, mime="image/webp"),)))[
            0
        ].code == ("media_format")
        # an explicit option wins over the instance
        pinned = connect(fake, max_chars="450")  # type: ignore[arg-type]
        pinned.load_instance_limits()
        assert pinned.measure("x").limit == 450


def test_missing_token_is_a_credentials_error() -> None:
    config = AccountConfig(name="m", platform="mastodon", api_base="http://127.0.0.1:9")
    with pytest.raises(CredentialsError, match="accounts connect m"):
        make_connector(config)


@pytest.mark.parametrize(
    "text",
    [
        "plain",  # one paragraph
        "line one\nline two",  # a line break
        "para one\n\npara two & <three>",  # paragraphs and escaped characters
        "see https://example.ac.uk/a/very/long/path/that/gets/shortened?x=1&y=2 now",  # a link
    ],
)
def test_status_html_reads_back_as_the_text(text: str) -> None:
    assert " ".join(status_text(render_content(text)).split()) == " ".join(text.split())
