"""The Facebook Pages connector against a loopback fake of the Graph API."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors import (
    AccountConfig,
    AuthExpired,
    Connector,
    ConnectorError,
    CredentialsError,
    MediaItem,
    Permanent,
    PublishRequest,
    RateLimited,
    Transient,
    make_connector,
)
from connectors.authflows_oauth import facebook_page_flow, run_oauth_flow
from connectors.facebook import DEFAULT_RATE_LIMIT_WAIT, FacebookConnector, regain_access_at
from tests.fakes.base import FakeRequest, FakeResponse
from tests.fakes.browser import browser_for
from tests.fakes.facebook import FakeFacebook

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64


@pytest.fixture
def fake() -> Iterator[FakeFacebook]:
    with FakeFacebook() as server:
        yield server


def connect(
    fake: FakeFacebook,
    credentials: dict[str, str] | None = None,
    options: dict[str, str] | None = None,
) -> FacebookConnector:
    config = AccountConfig(
        name="uni-facebook",
        platform="facebook",
        handle="University of Example",
        api_base=fake.base_url,
        credentials=credentials if credentials is not None else {"page_token": fake.page_token},
        options=options if options is not None else {"page_id": fake.page_id},
    )
    connector = make_connector(config, timeout=0.5)
    assert isinstance(connector, FacebookConnector)
    return connector


@pytest.fixture
def facebook(fake: FakeFacebook) -> FacebookConnector:
    return connect(fake)


def request(text: str = "Welcome week starts Monday.", **kw: object) -> PublishRequest:
    return PublishRequest(text=text, idempotency_key="post-1-attempt-1", **kw)  # type: ignore[arg-type]


# -- happy paths -------------------------------------------------------------------------


def test_publish_text_to_the_page_feed(fake: FakeFacebook, facebook: FacebookConnector) -> None:
    receipt = facebook.publish(request())
    post = fake.live_posts()[0]
    assert post["message"] == request().text
    assert receipt.remote_id == post["id"]
    assert receipt.url == f"https://www.facebook.com/{post['id']}"
    call = next(r for r in fake.requests if r.path.endswith("/feed"))
    assert call.path == f"/v23.0/{fake.page_id}/feed"
    assert call.headers["Host"] == "graph.facebook.com"
    assert call.headers["Authorization"] == f"Bearer {fake.page_token}"


def test_images_are_uploaded_unpublished_then_attached(
    fake: FakeFacebook, facebook: FacebookConnector
) -> None:
    images = (
        MediaItem(PNG, alt="Freshers' fair", mime="image/png"),
        MediaItem(JPEG, alt="", mime="image/jpeg", filename="b.jpg"),
    )
    facebook.publish(request(media=images))
    post = fake.live_posts()[0]
    photos = [fake.photos[i] for i in post["attached_media"]]
    assert [p["data"] for p in photos] == [PNG, JPEG]
    assert [p["alt"] for p in photos] == ["Freshers' fair", ""]
    assert [p["published"] for p in photos] == [False, False]


def test_edit_changes_the_message(fake: FakeFacebook, facebook: FacebookConnector) -> None:
    receipt = facebook.publish(request("Talk at 5pm"))
    facebook.edit(receipt.remote_id, request("Talk at 6pm"))
    assert fake.live_posts()[0]["message"] == "Talk at 6pm"


def test_delete_and_a_second_delete(fake: FakeFacebook, facebook: FacebookConnector) -> None:
    receipt = facebook.publish(request())
    facebook.delete(receipt.remote_id)
    assert fake.live_posts() == []
    facebook.delete(receipt.remote_id)  # already gone: nothing to correct


def test_is_a_connector(facebook: FacebookConnector) -> None:
    assert isinstance(facebook, Connector)


def test_missing_token_or_page_is_reported(fake: FakeFacebook) -> None:
    with pytest.raises(CredentialsError):
        connect(fake, credentials={})
    with pytest.raises(ConnectorError):
        connect(fake, options={})


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        4,  # application request limit
        17,  # user request limit
        32,  # page request limit
        613,  # calls exceeded the rate limit
    ],
)
def test_throttling_codes_are_rate_limited_until_facebook_says(
    fake: FakeFacebook, facebook: FacebookConnector, code: int
) -> None:
    fake.regain_minutes = 7
    fake.throttle(code)
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        facebook.publish(request())
    expected = before + timedelta(minutes=7)
    assert abs((caught.value.retry_at - expected).total_seconds()) < 2
    assert fake.posts == []


def test_http_429_is_rate_limited(fake: FakeFacebook, facebook: FacebookConnector) -> None:
    fake.regain_minutes = 3
    fake.inject("429", path="/feed")
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        facebook.publish(request())
    assert abs((caught.value.retry_at - (before + timedelta(minutes=3))).total_seconds()) < 2


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({}, DEFAULT_RATE_LIMIT_WAIT),  # nothing to go on: the default
        ({"X-App-Usage": '{"call_count":100,"total_time":20}'}, DEFAULT_RATE_LIMIT_WAIT),
        (
            {
                "x-business-use-case-usage": json.dumps(
                    {"1": [{"estimated_time_to_regain_access": 12}]}
                )
            },
            timedelta(minutes=12),
        ),
        ({"Retry-After": "90"}, timedelta(seconds=90)),  # a plain Retry-After
    ],
)
def test_regain_access_at(headers: dict[str, str], wait: timedelta) -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert regain_access_at(headers, now=now) == now + wait


def test_expired_token_is_auth_expired(fake: FakeFacebook, facebook: FacebookConnector) -> None:
    fake.inject("expired", path="/feed")
    with pytest.raises(AuthExpired) as caught:
        facebook.publish(request())
    assert "uni-facebook" in str(caught.value)
    assert fake.page_token not in str(caught.value)


def test_unknown_token_is_auth_expired(fake: FakeFacebook) -> None:
    with pytest.raises(AuthExpired):
        connect(fake, credentials={"page_token": "EAAnot-a-real-token"}).publish(request())


def test_duplicate_is_permanent(fake: FakeFacebook, facebook: FacebookConnector) -> None:
    facebook.publish(request())
    with pytest.raises(Permanent) as caught:
        facebook.publish(request())
    assert caught.value.reason.startswith("duplicate post")


@pytest.mark.parametrize(
    "path",
    [
        "/feed",  # the post
        "/photos",  # an image before it
    ],
)
def test_500_is_transient(fake: FakeFacebook, facebook: FacebookConnector, path: str) -> None:
    fake.inject("500", path=path)
    with pytest.raises(Transient):
        facebook.publish(request(media=(MediaItem(PNG),)))
    assert fake.posts == []


def test_hang_past_the_client_timeout_is_transient(
    fake: FakeFacebook, facebook: FacebookConnector
) -> None:
    fake.hang_seconds = 1.5
    fake.inject("hang", path="/feed")
    started = time.monotonic()
    with pytest.raises(Transient):
        facebook.publish(request())
    assert time.monotonic() - started < 1.4


def test_dropped_response_is_transient_and_lookup_finds_the_post(
    fake: FakeFacebook, facebook: FacebookConnector
) -> None:
    text = "Graduation photos are up!"
    fake.inject("drop_after", path="/feed")
    with pytest.raises(Transient):
        facebook.publish(request(text, media=(MediaItem(PNG),)))
    assert len(fake.live_posts()) == 1

    assert facebook.lookup(request(text)) is None  # same text without the photo is not it
    found = facebook.lookup(request(text, media=(MediaItem(PNG),)))

    assert found is not None
    assert found.remote_id == fake.posts[0]["id"]
    assert found.published_at == fake.posts[0]["created_time"]


def test_lookup_none_when_absent_and_asks_only_since_the_attempt(
    fake: FakeFacebook, facebook: FacebookConnector
) -> None:
    assert facebook.lookup(request("never sent")) is None
    facebook.publish(request("Good morning!"))
    fake.posts[0]["created_time"] -= timedelta(days=1)
    attempt = PublishRequest("Good morning!", "k", attempted_at=datetime.now(UTC))
    assert facebook.lookup(attempt) is None
    assert "since" in fake.requests[-1].query
    assert facebook.lookup(request("Good morning!")) is not None


def test_lookup_follows_paging(fake: FakeFacebook, facebook: FacebookConnector) -> None:
    facebook.publish(request("the oldest"))
    for n in range(55):
        facebook.publish(request(f"filler {n}"))
    for offset, post in enumerate(fake.posts):  # distinct times, oldest first
        post["created_time"] = post["created_time"] - timedelta(seconds=100 - offset)
    assert facebook.lookup(request("the oldest")) is not None
    assert len([r for r in fake.requests if r.path.endswith("/posts")]) == 2


def test_lookup_when_facebook_is_down_is_transient(
    fake: FakeFacebook, facebook: FacebookConnector
) -> None:
    fake.inject("500", path="/posts")
    with pytest.raises(Transient):
        facebook.lookup(request())


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        pytest.param("a" * 63_206, [], id="at-limit"),
        pytest.param("a" * 63_207, ["too_long"], id="one-past"),
        pytest.param("", ["empty"], id="empty"),
    ],
)
def test_text_limits(facebook: FacebookConnector, text: str, codes: list[str]) -> None:
    assert [p.code for p in facebook.validate(request(text))] == codes


@pytest.mark.parametrize(
    ("media", "codes"),
    [
        ((MediaItem(b"\x00" * (4 * 1024 * 1024)),), []),  # exactly 4 MB
        ((MediaItem(b"\x00" * (4 * 1024 * 1024 + 1)),), ["media_too_large"]),  # one byte over
        ((MediaItem(PNG, mime="image/webp"),), ["media_format"]),  # JPEG, PNG, GIF only
        ((MediaItem(PNG),) * 11, ["too_many_media"]),  # ten at most
    ],
)
def test_media_limits(
    facebook: FacebookConnector, media: tuple[MediaItem, ...], codes: list[str]
) -> None:
    assert [p.code for p in facebook.validate(request(media=media))] == codes


def test_invalid_post_is_refused_without_calling_facebook(
    fake: FakeFacebook, facebook: FacebookConnector
) -> None:
    with pytest.raises(Permanent):
        facebook.publish(request("a" * 63_207))
    assert fake.requests == []


# -- authorisation flow -------------------------------------------------------------------


def test_page_flow_returns_a_working_page_token(fake: FakeFacebook) -> None:
    browser = browser_for(fake, ("www.facebook.com", "graph.facebook.com"))
    result = facebook_page_flow(
        fake.app_id, fake.app_secret, fake.page_id, browser, api_base=fake.base_url, wait_seconds=5
    )
    opened = urlsplit(browser.visited[0])  # type: ignore[attr-defined]
    assert (opened.hostname, opened.path) == ("www.facebook.com", "/v23.0/dialog/oauth")
    assert "pages_manage_posts" in parse_qs(opened.query)["scope"][0]
    assert result.handle == fake.page_name
    connect(fake, credentials=dict(result.credentials)).publish(request())
    assert len(fake.live_posts()) == 1


def test_page_flow_for_a_page_the_user_does_not_manage(fake: FakeFacebook) -> None:
    browser = browser_for(fake, ("www.facebook.com",))
    with pytest.raises(Permanent):
        facebook_page_flow(
            fake.app_id, fake.app_secret, "999", browser, api_base=fake.base_url, wait_seconds=5
        )


def test_command_line_flow_without_show_prints_the_address_in_the_prompt(
    fake: FakeFacebook,
) -> None:
    browser = browser_for(fake, ("www.facebook.com", "graph.facebook.com"))
    answers = iter([fake.app_id, fake.app_secret, fake.page_id])

    def ask(prompt: str, *, secret: bool = False) -> str:
        if "Open this address" in prompt:
            browser(prompt.split("\n")[1].strip())  # the person opens it, then presses Enter
            return ""
        return next(answers)

    credentials = run_oauth_flow("facebook", fake.base_url, ask, port=0, wait_seconds=5)
    assert credentials == {"page_token": fake.page_token, "username": fake.page_name}


def test_no_token_reaches_the_logs_or_error_messages(
    fake: FakeFacebook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    browser = browser_for(fake, ("www.facebook.com", "graph.facebook.com"))
    result = facebook_page_flow(
        fake.app_id, fake.app_secret, fake.page_id, browser, api_base=fake.base_url, wait_seconds=5
    )
    facebook = connect(fake, credentials=dict(result.credentials))
    facebook.publish(request(media=(MediaItem(PNG, alt="alt"),)))
    fake.inject("expired", path="/feed")
    with pytest.raises(AuthExpired) as caught:
        facebook.publish(request("second"))
    seen = caplog.text + str(caught.value)
    secrets = [fake.app_secret, fake.page_token, *fake.user_tokens, *fake.long_lived_user_tokens]
    for secret in secrets:
        assert secret not in seen


def test_lookup_counts_the_photos_of_an_album(
    fake: FakeFacebook, facebook: FacebookConnector
) -> None:
    images = (MediaItem(PNG), MediaItem(JPEG, mime="image/jpeg"), MediaItem(PNG))
    facebook.publish(request("Three views of the library", media=images))
    assert facebook.lookup(request("Three views of the library", media=images[:2])) is None
    assert facebook.lookup(request("Three views of the library", media=images)) is not None


class _ProxyPageFacebook(FakeFacebook):
    """Facebook behind a proxy that answers the feed post with an HTML page."""

    def _create_post(self, req: FakeRequest) -> FakeResponse:
        return FakeResponse(200, raw=b"<html>gateway</html>", headers={"Content-Type": "text/html"})


def test_an_answer_that_is_not_json_is_transient() -> None:
    with _ProxyPageFacebook() as fake:
        with pytest.raises(Transient):
            connect(fake).publish(request())
