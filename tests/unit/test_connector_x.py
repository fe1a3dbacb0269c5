"""The X connector against a loopback fake of X that verifies OAuth 1.0a signatures."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth1Session

from connectors import (
    AccountConfig,
    AuthExpired,
    ConnectorError,
    CredentialsError,
    MediaItem,
    Permanent,
    PublishRequest,
    RateLimited,
    Transient,
    Unsupported,
    make_connector,
)
from connectors.authflows_oauth import run_oauth_flow, x_pin_flow, x_pkce_flow
from connectors.x import XConnector, comparable_text
from tests.fakes.base import FakeRequest, FakeResponse
from tests.fakes.browser import browser_for
from tests.fakes.x import FakeX

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX() as server:
        yield server


def connect(fake: FakeX, **overrides: object) -> XConnector:
    credentials = overrides.pop("credentials", fake.oauth1_credentials())
    config = AccountConfig(
        name="uni-x",
        platform="x",
        handle="@uniofexample",
        api_base=fake.base_url,
        credentials=credentials,  # type: ignore[arg-type]
        options=overrides.pop("options", {}),  # type: ignore[arg-type]
    )
    connector = make_connector(config, timeout=0.5, **overrides)  # type: ignore[arg-type]
    assert isinstance(connector, XConnector)
    return connector


@pytest.fixture
def x(fake: FakeX) -> XConnector:
    return connect(fake)


def request(text: str = "Open day on Saturday: https://example.ac.uk/open", **kw: object):
    return PublishRequest(text=text, idempotency_key="post-1-attempt-1", **kw)  # type: ignore[arg-type]


# -- happy paths -------------------------------------------------------------------------


def test_publish_text_posts_once_with_a_verified_signature(fake: FakeX, x: XConnector) -> None:
    receipt = x.publish(request())

    assert [p["text"] for p in fake.live_posts()] == [request().text]
    assert receipt.remote_id == fake.posts[0]["id"]
    assert receipt.url == f"https://x.com/uniofexample/status/{receipt.remote_id}"
    assert receipt.published_at.tzinfo is not None
    # tweepy signed the public URL; the fake saw it through the Host header and verified.
    tweet_calls = [r for r in fake.requests if r.path == "/2/tweets"]
    assert tweet_calls[0].headers["Host"] == "api.twitter.com"
    assert tweet_calls[0].headers["Authorization"].startswith("OAuth ")
    assert fake.auth_failures == []


def test_publish_with_images_uploads_each_through_v2_media_with_alt_text(
    fake: FakeX, x: XConnector
) -> None:
    images = (
        MediaItem(PNG, alt="The quad in spring", mime="image/png", filename="quad.png"),
        MediaItem(JPEG, alt="", mime="image/jpeg", filename="library.jpg"),
    )
    x.publish(request("Campus views", media=images))

    post = fake.live_posts()[0]
    uploaded = [fake.media[m] for m in post["media_ids"]]
    assert [m["data"] for m in uploaded] == [PNG, JPEG]
    assert [m["alt"] for m in uploaded] == ["The quad in spring", ""]
    assert [m["mime"] for m in uploaded] == ["image/png", "image/jpeg"]
    upload_calls = [r for r in fake.requests if r.path == "/2/media/upload"]
    assert {r.headers["Host"] for r in upload_calls} == {"api.x.com"}
    # Alt text is only sent for the image that has some.
    assert len([r for r in fake.requests if r.path == "/2/media/metadata"]) == 1
    assert fake.auth_failures == []


def test_image_only_post_without_text(fake: FakeX, x: XConnector) -> None:
    x.publish(request("", media=(MediaItem(PNG, alt="Logo-free photo"),)))
    assert fake.live_posts()[0]["text"] == ""


def test_connector_satisfies_the_protocol_and_edit_is_unsupported(x: XConnector) -> None:
    from connectors import Connector

    assert isinstance(x, Connector)
    with pytest.raises(Unsupported):
        x.edit("123", request())


def test_delete_removes_the_post_and_a_missing_post_counts_as_deleted(
    fake: FakeX, x: XConnector
) -> None:
    receipt = x.publish(request())
    x.delete(receipt.remote_id)
    assert fake.live_posts() == []
    x.delete(receipt.remote_id)  # already gone: nothing to correct, no error


# -- authentication ------------------------------------------------------------------------


def test_a_wrong_token_secret_fails_the_signature_and_reads_as_auth_expired(
    fake: FakeX,
) -> None:
    credentials = {**fake.oauth1_credentials(), "access_token_secret": "not-the-secret"}
    x = connect(fake, credentials=credentials)
    with pytest.raises(AuthExpired) as caught:
        x.publish(request())
    assert fake.posts == []
    assert fake.auth_failures == ["OAuth 1.0a signature did not verify"]
    assert "not-the-secret" not in str(caught.value)
    assert "uni-x" in str(caught.value)  # says which account to reconnect


def test_revoked_access_token_is_auth_expired(fake: FakeX, x: XConnector) -> None:
    fake.revoke_access_token()
    with pytest.raises(AuthExpired):
        x.publish(request())


def test_expired_token_answer_is_auth_expired(fake: FakeX, x: XConnector) -> None:
    fake.inject("expired", path="/2/tweets")
    with pytest.raises(AuthExpired):
        x.publish(request())
    assert fake.posts == []


def test_missing_credentials_are_reported_when_the_connector_is_built(fake: FakeX) -> None:
    with pytest.raises(CredentialsError):
        connect(fake, credentials={"consumer_key": "only-this"})


def test_no_secret_reaches_the_logs_or_error_messages(
    fake: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    x = connect(fake)
    x.publish(request(media=(MediaItem(PNG, alt="alt"),)))
    fake.inject("expired", path="/2/tweets")
    with pytest.raises(AuthExpired) as caught:
        x.publish(request("second post"))
    seen = caplog.text + str(caught.value)
    for secret in (fake.consumer_secret, fake.access_token_secret, fake.access_token):
        assert secret not in seen


# -- OAuth 2.0 user token -------------------------------------------------------------------


def test_oauth2_user_token_posts_with_a_bearer_header(fake: FakeX) -> None:
    credentials = fake.issue_oauth2_token()
    x = connect(fake, credentials=credentials)
    x.publish(request(media=(MediaItem(PNG, alt="alt"),)))
    assert len(fake.live_posts()) == 1
    tweet_call = next(r for r in fake.requests if r.path == "/2/tweets")
    assert tweet_call.headers["Authorization"] == f"Bearer {credentials['bearer_token']}"


def test_expired_oauth2_token_is_refreshed_saved_and_the_post_goes_out(fake: FakeX) -> None:
    saved: list[dict[str, str]] = []
    credentials = fake.issue_oauth2_token()
    x = connect(fake, credentials=credentials, save_credentials=saved.append)
    fake.expire_oauth2_tokens()

    x.publish(request())

    assert len(fake.live_posts()) == 1
    assert len(saved) == 1
    assert saved[0]["bearer_token"] != credentials["bearer_token"]
    assert saved[0]["bearer_token"] in fake.bearer_tokens
    assert saved[0]["refresh_token"] != credentials["refresh_token"]


def test_refused_refresh_is_auth_expired(fake: FakeX) -> None:
    credentials = fake.issue_oauth2_token()
    fake.expire_oauth2_tokens()
    fake.refresh_tokens.clear()
    x = connect(fake, credentials=credentials)
    with pytest.raises(AuthExpired):
        x.publish(request())
    assert fake.posts == []


# -- errors -------------------------------------------------------------------------------


def test_429_is_rate_limited_until_x_rate_limit_reset(fake: FakeX, x: XConnector) -> None:
    fake.rate_limit_reset = int(time.time()) + 900
    fake.inject("429", path="/2/tweets")
    with pytest.raises(RateLimited) as caught:
        x.publish(request())
    assert caught.value.retry_at == datetime.fromtimestamp(fake.rate_limit_reset, UTC)
    assert fake.posts == []


def test_429_on_image_upload_is_rate_limited_too(fake: FakeX, x: XConnector) -> None:
    fake.rate_limit_reset = int(time.time()) + 300
    fake.inject("429", path="/2/media/upload")
    with pytest.raises(RateLimited) as caught:
        x.publish(request(media=(MediaItem(PNG),)))
    assert caught.value.retry_at == datetime.fromtimestamp(fake.rate_limit_reset, UTC)


@pytest.mark.parametrize(
    "path",
    [
        "/2/tweets",  # the post itself
        "/2/media/upload",  # an image before it
    ],
)
def test_500_is_transient(fake: FakeX, x: XConnector, path: str) -> None:
    fake.inject("500", path=path)
    with pytest.raises(Transient):
        x.publish(request(media=(MediaItem(PNG),)))
    assert fake.posts == []


def test_hang_past_the_client_timeout_is_transient(fake: FakeX, x: XConnector) -> None:
    fake.hang_seconds = 1.5
    fake.inject("hang", path="/2/tweets")
    started = time.monotonic()
    with pytest.raises(Transient):
        x.publish(request())
    assert time.monotonic() - started < 1.4


def test_duplicate_content_is_permanent(fake: FakeX, x: XConnector) -> None:
    x.publish(request())
    with pytest.raises(Permanent) as caught:
        x.publish(request())
    assert caught.value.reason.startswith("duplicate content")
    assert len(fake.live_posts()) == 1


def test_dropped_response_is_transient_and_lookup_then_finds_the_post(
    fake: FakeX, x: XConnector
) -> None:
    text = "Results day & clearing <live> from 8am: https://example.ac.uk/clearing"
    fake.inject("drop_after", path="/2/tweets")
    with pytest.raises(Transient):
        x.publish(request(text, media=(MediaItem(PNG),)))
    assert len(fake.live_posts()) == 1  # it did go out

    assert x.lookup(request(text)) is None  # same text without the image is not it
    found = x.lookup(request(text, media=(MediaItem(PNG),)))

    assert found is not None
    assert found.remote_id == fake.posts[0]["id"]
    assert found.published_at == fake.posts[0]["created_at"].replace(
        microsecond=fake.posts[0]["created_at"].microsecond // 1000 * 1000
    )


def test_lookup_returns_none_when_the_post_is_not_there(fake: FakeX, x: XConnector) -> None:
    x.publish(request("Something else entirely"))
    assert x.lookup(request("Never sent")) is None


def test_lookup_when_x_is_down_is_transient(fake: FakeX, x: XConnector) -> None:
    fake.inject("500", path="/tweets")
    with pytest.raises(Transient):
        x.lookup(request())


def test_errors_are_connector_errors_only(fake: FakeX, x: XConnector) -> None:
    fake.stop()  # nothing listening: connection refused
    with pytest.raises(Transient) as caught:
        x.publish(request())
    assert isinstance(caught.value, ConnectorError)
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    ("remote", "local"),
    [
        # X swaps links for t.co links and escapes &, < and >
        ("Fees &amp; funding https://t.co/abc", "Fees & funding https://example.ac.uk/f"),
        # an attached image adds a trailing t.co link
        ("Graduation! https://t.co/xyz", "Graduation!"),
    ],
)
def test_comparable_text_matches_what_x_shows_with_what_we_sent(remote: str, local: str) -> None:
    assert comparable_text(remote) == comparable_text(local)


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        pytest.param("a" * 280, True, id="latin-at-limit"),
        pytest.param("a" * 281, False, id="latin-one-past"),
        pytest.param("中" * 140, True, id="cjk-weighs-2-at-limit"),
        pytest.param("中" * 140 + "a", False, id="cjk-one-past"),
        # a URL is 23 whatever its length: 256 + space + 23 = 280
        pytest.param("a" * 256 + " https://example.ac.uk/" + "x" * 200, True, id="url-at-limit"),
        pytest.param("a" * 257 + " https://example.ac.uk/", False, id="url-one-past"),
        # a family ZWJ sequence is one emoji of weight 2
        pytest.param("👨‍👩‍👧‍👦" * 140, True, id="zwj-family-at-limit"),
        pytest.param("👨‍👩‍👧‍👦" * 140 + "a", False, id="zwj-family-one-past"),
        # a newer ZWJ family the parser package alone counts as 8
        pytest.param("🧑‍🧑‍🧒" * 140, True, id="new-zwj-family-at-limit"),
        pytest.param("🇬🇧" * 140, True, id="flags-at-limit"),
        pytest.param("👍🏽" * 140 + "!", False, id="skin-tones-one-past"),
    ],
)
def test_weighted_length_at_and_past_the_limit(x: XConnector, text: str, ok: bool) -> None:
    problems = x.validate(request(text))
    assert ([p.code for p in problems] == []) is ok
    if not ok:
        assert [p.code for p in problems] == ["too_long"]


def test_measure_reports_weighted_characters(x: XConnector) -> None:
    measured = x.measure("Hello 👋🏽 https://example.ac.uk/very/long/path")
    assert (measured.used, measured.limit, measured.over) == (6 + 2 + 1 + 23, 280, False)


def test_text_limit_option_for_longer_posts(fake: FakeX) -> None:
    x = connect(fake, options={"text_limit": "25000"})
    assert x.validate(request("a" * 25_000)) == []


@pytest.mark.parametrize(
    ("media", "code"),
    [
        ((MediaItem(PNG),) * 5, "too_many_media"),  # four at most
        ((MediaItem(PNG, mime="image/bmp", filename="a.bmp"),), "media_format"),
        ((MediaItem(b"\x00" * (5 * 1024 * 1024 + 1)),), "media_too_large"),
        ((MediaItem(PNG, alt="a" * 1001),), "alt_too_long"),
        # a GIF goes alone
        ((MediaItem(PNG), MediaItem(b"GIF89a", mime="image/gif")), "media_mix"),
    ],
)
def test_media_limits(x: XConnector, media: tuple[MediaItem, ...], code: str) -> None:
    assert [p.code for p in x.validate(request(media=media))] == [code]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),  # no text and no image
        ("hello\ufeffworld", "invalid_characters"),  # a byte-order mark X refuses
    ],
)
def test_text_problems(x: XConnector, text: str, code: str) -> None:
    assert [p.code for p in x.validate(request(text))] == [code]


def test_publish_refuses_an_invalid_post_without_calling_x(fake: FakeX, x: XConnector) -> None:
    with pytest.raises(Permanent):
        x.publish(request("a" * 281))
    assert fake.requests == []


# -- authorisation flows ---------------------------------------------------------------------


def test_pin_flow_gets_working_credentials(fake: FakeX) -> None:
    shown: list[str] = []

    def ask_pin(url: str) -> str:
        shown.append(url)
        token = parse_qs(urlsplit(url).query)["oauth_token"][0]
        return fake.approve(token)  # the person approves and types the PIN

    result = x_pin_flow(fake.consumer_key, fake.consumer_secret, ask_pin, api_base=fake.base_url)

    assert shown[0].startswith("https://api.twitter.com/oauth/authorize?oauth_token=")
    assert result.handle == "@uniofexample"
    assert result.credentials["consumer_key"] == fake.consumer_key
    assert result.credentials["access_token"] in fake.token_secrets
    # The new credentials post for real.
    connect(fake, credentials=dict(result.credentials)).publish(request())
    assert len(fake.live_posts()) == 1


def test_pin_flow_with_a_wrong_pin_fails(fake: FakeX) -> None:
    def ask_pin(url: str) -> str:
        fake.approve(parse_qs(urlsplit(url).query)["oauth_token"][0])
        return "0000000x"

    with pytest.raises(CredentialsError):
        x_pin_flow(fake.consumer_key, fake.consumer_secret, ask_pin, api_base=fake.base_url)


def test_pin_flow_with_a_wrong_consumer_secret_fails(fake: FakeX) -> None:
    with pytest.raises(CredentialsError):
        x_pin_flow(fake.consumer_key, "wrong-secret", lambda url: "1", api_base=fake.base_url)


def test_pkce_flow_through_the_loopback_redirect(fake: FakeX) -> None:
    browser = browser_for(fake, ("x.com", "api.x.com"))
    result = x_pkce_flow(fake.client_id, browser, api_base=fake.base_url, wait_seconds=5)

    opened = urlsplit(browser.visited[0])  # type: ignore[attr-defined]
    assert (opened.hostname, opened.path) == ("x.com", "/i/oauth2/authorize")
    assert "code_challenge" in parse_qs(opened.query)
    assert result.credentials["bearer_token"] in fake.bearer_tokens
    assert result.credentials["refresh_token"] in fake.refresh_tokens
    connect(fake, credentials=dict(result.credentials)).publish(request())
    assert len(fake.live_posts()) == 1


def test_lookup_ignores_an_identical_post_older_than_the_attempt(
    fake: FakeX, x: XConnector
) -> None:
    text = "Good morning from campus!"
    yesterday = datetime.now(UTC) - timedelta(days=1, minutes=5)
    fake.posts.append(
        {"id": "1", "text": text, "media_ids": [], "created_at": yesterday, "deleted": False}
    )
    attempt = PublishRequest(text, "post-9-attempt-1", attempted_at=datetime.now(UTC))
    assert x.lookup(attempt) is None
    start_time = next(r for r in fake.requests if r.path.endswith("/tweets")).query["start_time"]
    assert start_time[0].endswith("Z")

    x.publish(attempt)
    found = x.lookup(attempt)
    assert found is not None and found.remote_id == fake.live_posts()[-1]["id"]


def test_command_line_flow_asks_for_keys_shows_the_address_and_reads_the_pin(
    fake: FakeX,
) -> None:
    asked: list[tuple[str, bool]] = []
    pins: list[str] = []

    def show(message: str) -> None:
        url = message.split()[-1]
        pins.append(fake.approve(parse_qs(urlsplit(url).query)["oauth_token"][0]))

    answers = iter([fake.consumer_key, fake.consumer_secret])

    def ask(prompt: str, *, secret: bool = False) -> str:
        asked.append((prompt, secret))
        return pins[-1] if "PIN" in prompt else next(answers)

    credentials = run_oauth_flow("x", fake.base_url, ask, show=show)

    assert [secret for _, secret in asked] == [False, True, False]  # the secret is not echoed
    assert credentials["access_token"] in fake.token_secrets
    assert credentials["username"] == "@uniofexample"


def test_command_line_flow_refuses_an_empty_key(fake: FakeX) -> None:
    with pytest.raises(CredentialsError):
        run_oauth_flow("x", fake.base_url, lambda prompt, secret=False: "  ")


def test_command_line_flow_for_another_platform_is_an_error() -> None:
    with pytest.raises(ConnectorError):
        run_oauth_flow("myspace", None, lambda prompt, secret=False: "x")


def test_the_fake_refuses_a_signature_made_for_another_url(fake: FakeX) -> None:
    # Signed for api.x.com but delivered as api.twitter.com: the signature covers the
    # URL, so the fake's oauthlib check must fail it.
    session = OAuth1Session(
        fake.consumer_key,
        client_secret=fake.consumer_secret,
        resource_owner_key=fake.access_token,
        resource_owner_secret=fake.access_token_secret,
    )
    prepared = session.prepare_request(
        requests.Request("POST", "https://api.x.com/2/tweets", json={"text": "hi"})
    )
    prepared.url = f"{fake.base_url}/2/tweets"
    prepared.headers["Host"] = "api.twitter.com"
    response = requests.Session().send(prepared, timeout=5)
    assert response.status_code == 401
    assert fake.auth_failures == ["OAuth 1.0a signature did not verify"]
    assert fake.posts == []


class _ProxyPageX(FakeX):
    """X behind a proxy that answers the media upload with an HTML page."""

    def _upload(self, req: FakeRequest) -> FakeResponse:
        return FakeResponse(200, raw=b"<html>gateway</html>", headers={"Content-Type": "text/html"})


def test_an_upload_answer_that_is_not_json_is_transient() -> None:
    with _ProxyPageX() as fake:
        with pytest.raises(Transient):
            connect(fake).publish(request(media=(MediaItem(PNG),)))
        assert fake.posts == []
