"""The LinkedIn connector against a loopback fake of the Posts and Images APIs."""

from __future__ import annotations

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
from connectors.authflows_oauth import linkedin_flow, run_oauth_flow
from connectors.linkedin import LinkedInConnector, escape_commentary, unescape_commentary
from tests.fakes.base import FakeRequest, FakeResponse
from tests.fakes.browser import browser_for
from tests.fakes.linkedin import FakeLinkedIn, created_at

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64


@pytest.fixture
def fake() -> Iterator[FakeLinkedIn]:
    with FakeLinkedIn() as server:
        yield server


def connect(
    fake: FakeLinkedIn,
    credentials: dict[str, str] | None = None,
    saved: list[dict[str, str]] | None = None,
    options: dict[str, str] | None = None,
) -> LinkedInConnector:
    config = AccountConfig(
        name="uni-linkedin",
        platform="linkedin",
        handle="University of Example",
        api_base=fake.base_url,
        credentials=credentials if credentials is not None else fake.issue_token(),
        options=options if options is not None else {"organization_id": fake.organization_id},
    )
    connector = make_connector(
        config, timeout=0.5, save_credentials=saved.append if saved is not None else None
    )
    assert isinstance(connector, LinkedInConnector)
    return connector


@pytest.fixture
def linkedin(fake: FakeLinkedIn) -> LinkedInConnector:
    return connect(fake)


def request(text: str = "Applications for 2027 entry are open.", **kw: object) -> PublishRequest:
    return PublishRequest(text=text, idempotency_key="post-1-attempt-1", **kw)  # type: ignore[arg-type]


# -- happy paths -------------------------------------------------------------------------


def test_publish_text_as_the_organisation(fake: FakeLinkedIn, linkedin: LinkedInConnector) -> None:
    receipt = linkedin.publish(request())

    post = fake.live_posts()[0]
    assert receipt.remote_id == post["id"]
    assert receipt.url == f"https://www.linkedin.com/feed/update/{post['id']}/"
    assert post["author"] == f"urn:li:organization:{fake.organization_id}"
    assert post["commentary"] == request().text
    assert post["visibility"] == "PUBLIC"
    assert post["distribution"]["feedDistribution"] == "MAIN_FEED"
    call = next(r for r in fake.requests if r.method == "POST" and r.path == "/rest/posts")
    assert call.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert call.headers["LinkedIn-Version"] == "202610"
    assert call.headers["Host"] == "api.linkedin.com"


def test_reserved_characters_are_escaped_so_linkedin_does_not_cut_the_post(
    fake: FakeLinkedIn, linkedin: LinkedInConnector
) -> None:
    text = (
        "Open day (Sat) [10am] <all welcome> with @team * ~ _ | {x} #OpenDay https://ex.ac.uk/a_b"
    )
    linkedin.publish(request(text))
    stored = fake.live_posts()[0]["commentary"]
    assert unescape_commentary(stored) == text  # nothing was cut
    assert "#OpenDay" in stored and "https://ex.ac.uk/a_b" in stored  # still link


def test_version_option_sets_the_header(fake: FakeLinkedIn) -> None:
    options = {"organization_id": fake.organization_id, "linkedin_version": "202601"}
    connect(fake, options=options).publish(request())
    call = next(r for r in fake.requests if r.path == "/rest/posts")
    assert call.headers["LinkedIn-Version"] == "202601"


def test_one_image_is_a_media_post_with_alt_text(
    fake: FakeLinkedIn, linkedin: LinkedInConnector
) -> None:
    linkedin.publish(request(media=(MediaItem(PNG, alt="Students on the lawn"),)))
    post = fake.live_posts()[0]
    urn = post["content"]["media"]["id"]
    assert post["content"]["media"]["altText"] == "Students on the lawn"
    assert fake.images[urn]["data"] == PNG
    assert fake.images[urn]["content_type"] == "image/png"


def test_several_images_are_a_multi_image_post(
    fake: FakeLinkedIn, linkedin: LinkedInConnector
) -> None:
    images = (MediaItem(PNG, alt="one"), MediaItem(GIF, alt="two", mime="image/gif"))
    linkedin.publish(request(media=images))
    refs = fake.live_posts()[0]["content"]["multiImage"]["images"]
    assert [r["altText"] for r in refs] == ["one", "two"]
    assert [fake.images[r["id"]]["data"] for r in refs] == [PNG, GIF]


def test_delete_and_a_second_delete(fake: FakeLinkedIn, linkedin: LinkedInConnector) -> None:
    receipt = linkedin.publish(request())
    linkedin.delete(receipt.remote_id)
    assert fake.live_posts() == []
    linkedin.delete(receipt.remote_id)  # already gone: nothing to correct


def test_edit_replaces_the_text(fake: FakeLinkedIn, linkedin: LinkedInConnector) -> None:
    receipt = linkedin.publish(request("Lecture at 5pm (room 2)"))
    edited = linkedin.edit(receipt.remote_id, request("Lecture at 6pm (room 3)"))
    assert edited.remote_id == receipt.remote_id
    assert unescape_commentary(fake.live_posts()[0]["commentary"]) == "Lecture at 6pm (room 3)"


def test_is_a_connector(linkedin: LinkedInConnector) -> None:
    assert isinstance(linkedin, Connector)


# -- configuration and authentication -----------------------------------------------------


def test_missing_token_or_organisation_is_reported(fake: FakeLinkedIn) -> None:
    with pytest.raises(CredentialsError):
        connect(fake, credentials={})
    with pytest.raises(ConnectorError):
        connect(fake, options={})


def test_unknown_token_without_refresh_is_auth_expired(fake: FakeLinkedIn) -> None:
    linkedin = connect(fake, credentials={"access_token": "nobody-issued-this"})
    with pytest.raises(AuthExpired) as caught:
        linkedin.publish(request())
    assert "uni-linkedin" in str(caught.value)
    assert "nobody-issued-this" not in str(caught.value)
    assert fake.posts == []


def test_expired_token_is_refreshed_saved_and_the_post_goes_out(fake: FakeLinkedIn) -> None:
    saved: list[dict[str, str]] = []
    credentials = fake.issue_token()
    linkedin = connect(fake, credentials=credentials, saved=saved)
    fake.expire_access_tokens()

    linkedin.publish(request())

    assert len(fake.live_posts()) == 1
    assert len(saved) == 1
    assert saved[0]["access_token"] in fake.access_tokens
    assert saved[0]["refresh_token"] != credentials["refresh_token"]


def test_expired_answer_is_auth_expired_when_refresh_is_refused(fake: FakeLinkedIn) -> None:
    linkedin = connect(fake, credentials=fake.issue_token())
    fake.refresh_tokens.clear()
    fake.inject("expired", path="/rest/posts")
    with pytest.raises(AuthExpired):
        linkedin.publish(request())
    assert fake.posts == []


def test_expired_answer_without_refresh_token_is_auth_expired(fake: FakeLinkedIn) -> None:
    linkedin = connect(fake, credentials=fake.issue_token(refreshable=False))
    fake.inject("expired", path="/rest/posts")
    with pytest.raises(AuthExpired):
        linkedin.publish(request())


# -- errors -------------------------------------------------------------------------------


def test_429_is_rate_limited_until_retry_after(
    fake: FakeLinkedIn, linkedin: LinkedInConnector
) -> None:
    fake.retry_after_seconds = 300
    fake.inject("429", path="/rest/posts")
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        linkedin.publish(request())
    expected = before + timedelta(seconds=300)
    assert abs((caught.value.retry_at - expected).total_seconds()) < 2


@pytest.mark.parametrize(
    "path",
    [
        "/rest/posts",  # the post
        "/rest/images",  # registering an image upload
        "/dms-uploads/",  # the image bytes
    ],
)
def test_500_is_transient(fake: FakeLinkedIn, linkedin: LinkedInConnector, path: str) -> None:
    fake.inject("500", path=path)
    with pytest.raises(Transient):
        linkedin.publish(request(media=(MediaItem(PNG),)))
    assert fake.posts == []


def test_hang_past_the_client_timeout_is_transient(
    fake: FakeLinkedIn, linkedin: LinkedInConnector
) -> None:
    fake.hang_seconds = 1.5
    fake.inject("hang", path="/rest/posts")
    started = time.monotonic()
    with pytest.raises(Transient):
        linkedin.publish(request())
    assert time.monotonic() - started < 1.4


def test_duplicate_is_permanent(fake: FakeLinkedIn, linkedin: LinkedInConnector) -> None:
    linkedin.publish(request())
    with pytest.raises(Permanent) as caught:
        linkedin.publish(request())
    assert "duplicate" in caught.value.reason.lower()


def test_dropped_response_is_transient_and_lookup_finds_the_post(
    fake: FakeLinkedIn, linkedin: LinkedInConnector
) -> None:
    text = "Clearing (2027): call us [8am-6pm] #Clearing"
    images = (MediaItem(PNG), MediaItem(GIF, mime="image/gif"))
    fake.inject("drop_after", path="/rest/posts")
    with pytest.raises(Transient):
        linkedin.publish(request(text, media=images))
    assert len(fake.live_posts()) == 1

    assert linkedin.lookup(request(text)) is None  # same text without the images is not it
    found = linkedin.lookup(request(text, media=images))

    assert found is not None
    assert found.remote_id == fake.posts[0]["id"]
    assert found.published_at == created_at(fake.posts[0])


def test_lookup_none_when_absent_and_ignores_older_identical_posts(
    fake: FakeLinkedIn, linkedin: LinkedInConnector
) -> None:
    assert linkedin.lookup(request("never sent")) is None
    linkedin.publish(request("Good morning!"))
    fake.posts[0]["createdAt"] -= 86_400_000  # posted yesterday
    attempt = PublishRequest("Good morning!", "k", attempted_at=datetime.now(UTC))
    assert linkedin.lookup(attempt) is None
    assert linkedin.lookup(request("Good morning!")) is not None


def test_lookup_pages_through_more_than_one_page(
    fake: FakeLinkedIn, linkedin: LinkedInConnector
) -> None:
    linkedin.publish(request("the oldest post"))
    for n in range(55):
        linkedin.publish(request(f"filler {n}"))
    assert linkedin.lookup(request("the oldest post")) is not None
    assert len([r for r in fake.requests if r.method == "GET"]) == 2


def test_lookup_when_linkedin_is_down_is_transient(
    fake: FakeLinkedIn, linkedin: LinkedInConnector
) -> None:
    fake.inject("500", path="/rest/posts")
    with pytest.raises(Transient):
        linkedin.lookup(request())


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        pytest.param("a" * 3000, [], id="at-limit"),
        pytest.param("a" * 3001, ["too_long"], id="one-past"),
        pytest.param("(" * 3000, [], id="escaping-does-not-count"),
        pytest.param("", ["empty"], id="empty"),
    ],
)
def test_text_limits(linkedin: LinkedInConnector, text: str, codes: list[str]) -> None:
    assert [p.code for p in linkedin.validate(request(text))] == codes


@pytest.mark.parametrize(
    ("media", "code"),
    [
        ((MediaItem(PNG),) * 21, "too_many_media"),  # twenty at most
        ((MediaItem(PNG, mime="image/webp"),), "media_format"),  # JPEG, PNG, GIF only
        ((MediaItem(b"\x00" * (8 * 1024 * 1024 + 1)),), "media_too_large"),
    ],
)
def test_media_limits(linkedin: LinkedInConnector, media: tuple[MediaItem, ...], code: str) -> None:
    assert [p.code for p in linkedin.validate(request(media=media))] == [code]


def test_invalid_post_is_refused_without_calling_linkedin(
    fake: FakeLinkedIn, linkedin: LinkedInConnector
) -> None:
    with pytest.raises(Permanent):
        linkedin.publish(request("a" * 3001))
    assert fake.requests == []


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain", "plain"),  # nothing to escape
        ("(a) [b] {c} <d>", r"\(a\) \[b\] \{c\} \<d\>"),  # brackets
        ("@name *x* _y_ ~z~ a|b", r"\@name \*x\* \_y\_ \~z\~ a\|b"),  # markup characters
        ("C# and #hashtag", r"C\# and #hashtag"),  # a hashtag stays clickable
        ("back\\slash", "back\\\\slash"),  # a backslash itself
        ("see https://ex.ac.uk/a_(b)", "see https://ex.ac.uk/a_(b)"),  # a link stays whole
    ],
)
def test_escape_commentary(text: str, escaped: str) -> None:
    assert escape_commentary(text) == escaped
    assert unescape_commentary(escaped) == text


# -- authorisation flow -------------------------------------------------------------------


def test_authorisation_code_flow_with_the_loopback_redirect(fake: FakeLinkedIn) -> None:
    browser = browser_for(fake, ("www.linkedin.com", "api.linkedin.com"))
    result = linkedin_flow(
        fake.client_id, fake.client_secret, browser, api_base=fake.base_url, wait_seconds=5
    )

    opened = urlsplit(browser.visited[0])  # type: ignore[attr-defined]
    query = parse_qs(opened.query)
    assert (opened.hostname, opened.path) == ("www.linkedin.com", "/oauth/v2/authorization")
    assert query["redirect_uri"][0].startswith("http://127.0.0.1:")
    assert "w_organization_social" in query["scope"][0]
    assert result.credentials["access_token"] in fake.access_tokens
    assert result.credentials["refresh_token"] in fake.refresh_tokens
    connect(fake, credentials=dict(result.credentials)).publish(request())
    assert len(fake.live_posts()) == 1


def test_authorisation_flow_with_a_wrong_client_secret_is_refused(fake: FakeLinkedIn) -> None:
    browser = browser_for(fake, ("www.linkedin.com",))
    with pytest.raises(Permanent):
        linkedin_flow(fake.client_id, "wrong", browser, api_base=fake.base_url, wait_seconds=5)


def test_command_line_flow_asks_for_the_app_and_waits_for_the_redirect(
    fake: FakeLinkedIn,
) -> None:
    browser = browser_for(fake, ("www.linkedin.com",))
    answers = iter([fake.client_id, fake.client_secret])
    asked: list[bool] = []

    def ask(prompt: str, *, secret: bool = False) -> str:
        asked.append(secret)
        return next(answers)

    credentials = run_oauth_flow(
        "linkedin",
        fake.base_url,
        ask,
        show=lambda message: browser(message.split()[-1]),
        port=0,
        wait_seconds=5,
    )
    assert asked == [False, True]
    assert credentials["access_token"] in fake.access_tokens


def test_no_token_reaches_the_logs_or_error_messages(
    fake: FakeLinkedIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    saved: list[dict[str, str]] = []
    credentials = fake.issue_token()
    linkedin = connect(fake, credentials=credentials, saved=saved)
    fake.expire_access_tokens()
    linkedin.publish(request(media=(MediaItem(PNG, alt="alt"),)))  # refreshes on the way
    fake.refresh_tokens.clear()
    fake.expire_access_tokens()
    with pytest.raises(AuthExpired) as caught:
        linkedin.publish(request("second"))
    seen = caplog.text + str(caught.value)
    for secret in (*credentials.values(), *saved[0].values()):
        if secret != fake.client_id:
            assert secret not in seen


class _ProxyPageLinkedIn(FakeLinkedIn):
    """LinkedIn behind a proxy that answers the image registration with an HTML page."""

    def _initialize_upload(self, req: FakeRequest) -> FakeResponse:
        return FakeResponse(200, raw=b"<html>gateway</html>", headers={"Content-Type": "text/html"})


def test_an_answer_that_is_not_json_is_transient() -> None:
    with _ProxyPageLinkedIn() as fake:
        with pytest.raises(Transient):
            connect(fake).publish(request(media=(MediaItem(PNG),)))
        assert fake.posts == []
