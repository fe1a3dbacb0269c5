"""Authorisation flows for Bluesky (app password) and Mastodon (out-of-band code),
driven through their ``ask`` callback against the loopback fakes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors import AccountConfig, PublishRequest, make_connector
from connectors.authflows import OOB_REDIRECT, connect_bluesky, connect_mastodon, run_flow
from connectors.errors import ConnectorError, CredentialsError, RateLimited
from tests.fakes.bluesky import APP_PASSWORD, DID, HANDLE, FakeBluesky
from tests.fakes.mastodon import FakeMastodon


class Person:
    """Answers prompts in order and remembers what was asked (and whether hidden)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[tuple[str, bool]] = []

    def __call__(self, prompt: str, *, secret: bool = False) -> str:
        self.prompts.append((prompt, secret))
        return self.answers.pop(0)


class MastodonUser:
    """Opens the authorisation address as a browser would and pastes the code shown."""

    def __init__(self, *, tamper: bool = False) -> None:
        self.prompts: list[str] = []
        self.tamper = tamper

    def __call__(self, prompt: str, *, secret: bool = False) -> str:
        self.prompts.append(prompt)
        url = re.search(r"http\S+/oauth/authorize\S+", prompt)
        assert url is not None, prompt
        page = requests.get(url.group(0), timeout=2).text
        code = re.search(r"value='([^']+)'", page)
        assert code is not None
        return code.group(1) + ("x" if self.tamper else "")


@pytest.fixture
def bluesky() -> Iterator[FakeBluesky]:
    with FakeBluesky() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server  # type: ignore[misc]


def test_bluesky_app_password_flow(bluesky: FakeBluesky) -> None:
    person = Person("@" + HANDLE, APP_PASSWORD)
    creds = connect_bluesky(bluesky.base_url, person)
    assert creds["did"] == DID and creds["identifier"] == HANDLE
    assert creds["app_password"] == APP_PASSWORD and creds["access_jwt"]
    assert person.prompts[1][1] is True  # the app password is asked without echo
    # the connector starts from the session the flow made: no second login
    config = AccountConfig(
        name="b", platform="bluesky", api_base=bluesky.base_url, credentials=creds
    )
    make_connector(config).publish(PublishRequest(text="hi", idempotency_key="k"))
    assert bluesky.logins == 1


def test_bluesky_wrong_password_is_refused_without_echoing_it(bluesky: FakeBluesky) -> None:
    with pytest.raises(CredentialsError, match="refused") as info:
        connect_bluesky(bluesky.base_url, Person("wrong-pass-word"), identifier=HANDLE)
    assert "wrong-pass-word" not in str(info.value)


def test_bluesky_login_limit_is_rate_limited(bluesky: FakeBluesky) -> None:
    bluesky.inject("429", path="createSession")
    with pytest.raises(RateLimited):
        connect_bluesky(bluesky.base_url, Person(APP_PASSWORD), identifier=HANDLE)


def test_empty_answer_stores_nothing(bluesky: FakeBluesky) -> None:
    with pytest.raises(CredentialsError, match="no app password"):
        connect_bluesky(bluesky.base_url, Person("  "), identifier=HANDLE)
    assert bluesky.logins == 0


def test_mastodon_out_of_band_flow(mastodon: FakeMastodon) -> None:
    user = MastodonUser()
    creds = connect_mastodon(mastodon.base_url, user)
    assert creds["username"] == "comms"
    assert creds["client_id"] in mastodon.apps
    query = parse_qs(urlsplit(re.search(r"http\S+", user.prompts[0]).group(0)).query)  # type: ignore[union-attr]
    assert query["redirect_uri"] == [OOB_REDIRECT]
    assert query["response_type"] == ["code"]
    assert "write:statuses" in query["scope"][0].split()
    config = AccountConfig(
        name="m", platform="mastodon", api_base=mastodon.base_url, credentials=creds
    )
    make_connector(config).publish(PublishRequest(text="connected", idempotency_key="k"))
    assert mastodon.posts[0]["text"] == "connected"


def test_mastodon_flow_can_show_the_address_separately(mastodon: FakeMastodon) -> None:
    shown: list[str] = []

    def ask(prompt: str, *, secret: bool = False) -> str:
        return MastodonUser()(shown[-1])

    creds = connect_mastodon(mastodon.base_url, ask, show=shown.append)
    assert "/oauth/authorize" in shown[0] and creds["access_token"]


def test_mastodon_wrong_code_is_refused(mastodon: FakeMastodon) -> None:
    with pytest.raises(CredentialsError, match="refused the authorisation code"):
        connect_mastodon(mastodon.base_url, MastodonUser(tamper=True))


def test_mastodon_unreachable_instance_is_a_connector_error() -> None:
    with FakeMastodon() as gone:
        url = gone.base_url
    with pytest.raises(ConnectorError):
        connect_mastodon(url, MastodonUser())


def test_run_flow_dispatches_and_refuses_unknown(bluesky: FakeBluesky) -> None:
    creds = run_flow("bluesky", bluesky.base_url, Person(APP_PASSWORD), identifier=HANDLE)
    assert creds["did"] == DID
    with pytest.raises(ConnectorError, match="set-credentials"):
        run_flow("myspace", "http://127.0.0.1:9", Person())
