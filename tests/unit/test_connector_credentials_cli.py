"""`gatepost accounts connect` and `set-credentials` end to end against the fakes.

The commands run through the real `gatepost` group on a SQLite database in a temporary
folder, with the credential store set to an encrypted file there (never the user's
keyring); the stored credentials then publish through the connector.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from connectors import AccountConfig, PublishRequest, make_connector
from connectors.authflows import mastodon_authorize_url
from connectors.credentials import CredentialStore
from tests.fakes.bluesky import APP_PASSWORD, DID, HANDLE, FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.x import FakeX
from tui.cli import cli

PASSPHRASE = "cli-test-passphrase"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "GATEPOST_DATA_DIR": str(tmp_path / "data"),
        "GATEPOST_CREDENTIALS_BACKEND": "file",
        "GATEPOST_CREDENTIALS_KEY": PASSPHRASE,
        "GATEPOST_CREDENTIALS_FILE": str(tmp_path / "credentials.enc"),
    }
    monkeypatch.delenv("GATEPOST_DATABASE_URL", raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def gatepost(env: dict[str, str], *args: str, input: object = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


def stored(env: dict[str, str], name: str) -> dict[str, str] | None:
    return CredentialStore(environ=env).get(name)


@pytest.fixture
def bluesky() -> Iterator[FakeBluesky]:
    with FakeBluesky() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server  # type: ignore[misc]


def add_account(env: dict[str, str], name: str, platform: str, handle: str, base: str) -> None:
    assert gatepost(env, "init").exit_code == 0
    result = gatepost(
        env, "accounts", "add", name, "--platform", platform, "--handle", handle, "--api-base", base
    )
    assert result.exit_code == 0, result.output


def test_connect_bluesky(env: dict[str, str], bluesky: FakeBluesky) -> None:
    add_account(env, "uni-bsky", "bluesky", HANDLE, bluesky.base_url)
    result = gatepost(env, "accounts", "connect", "uni-bsky", input=APP_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert f"Connected uni-bsky (bluesky) as {HANDLE}." in result.output
    assert "encrypted file" in result.output
    assert APP_PASSWORD not in result.output
    creds = stored(env, "uni-bsky")
    assert creds is not None and creds["did"] == DID
    config = AccountConfig(
        name="uni-bsky", platform="bluesky", api_base=bluesky.base_url, credentials=creds
    )
    make_connector(config).publish(PublishRequest(text="via the CLI", idempotency_key="k"))
    assert bluesky.logins == 1 and bluesky.posts[0]["text"] == "via the CLI"


def test_connect_bluesky_wrong_password(env: dict[str, str], bluesky: FakeBluesky) -> None:
    add_account(env, "uni-bsky", "bluesky", HANDLE, bluesky.base_url)
    result = gatepost(env, "accounts", "connect", "uni-bsky", input="nope-nope-nope\n")
    assert result.exit_code == 1
    assert "error: Bluesky refused" in result.output
    assert "nope-nope-nope" not in result.output
    assert stored(env, "uni-bsky") is None


def connect_mastodon(env: dict[str, str], mastodon: FakeMastodon, name: str) -> Result:
    """`accounts connect NAME`, with a person approving the app and typing the code."""
    read_fd, write_fd = os.pipe()

    def person() -> None:
        """Waits for the app registration, approves it in 'the browser', types the code."""
        deadline = time.monotonic() + 10
        while not mastodon.apps and time.monotonic() < deadline:
            time.sleep(0.02)
        client_id = next(iter(mastodon.apps))
        url = mastodon_authorize_url(mastodon.base_url, client_id)
        page = requests.get(url, timeout=2).text
        code = page.split("value='")[1].split("'")[0]
        os.write(write_fd, code.encode() + b"\n")
        os.close(write_fd)

    helper = threading.Thread(target=person)
    helper.start()
    with os.fdopen(read_fd, "rb") as stdin:
        result = gatepost(env, "accounts", "connect", name, input=stdin)
    helper.join()
    return result


def test_connect_mastodon(env: dict[str, str], mastodon: FakeMastodon) -> None:
    add_account(env, "uni-masto", "mastodon", "@comms@127.0.0.1", mastodon.base_url)
    result = connect_mastodon(env, mastodon, "uni-masto")
    assert result.exit_code == 0, result.output
    assert "/oauth/authorize?" in result.output
    assert "Connected uni-masto (mastodon) as comms." in result.output
    creds = stored(env, "uni-masto")
    assert creds is not None
    assert creds["access_token"] not in result.output
    config = AccountConfig(
        name="uni-masto", platform="mastodon", api_base=mastodon.base_url, credentials=creds
    )
    make_connector(config).publish(PublishRequest(text="via the CLI", idempotency_key="k"))
    assert mastodon.posts[0]["text"] == "via the CLI"
    assert "characters per post" not in result.output  # the instance allows Mastodon's 500


def test_connecting_mastodon_adopts_the_instances_own_limit(env: dict[str, str]) -> None:
    with FakeMastodon(max_characters=1000) as mastodon:
        add_account(env, "uni-masto", "mastodon", "@comms@127.0.0.1", mastodon.base_url)
        result = connect_mastodon(env, mastodon, "uni-masto")
    assert result.exit_code == 0, result.output
    assert "The instance allows 1000 characters per post" in result.output
    shown = json.loads(gatepost(env, "accounts", "show", "uni-masto", "--json").output)
    assert shown["options"]["max_chars"] == "1000"


def test_connecting_mastodon_when_its_limits_cannot_be_read_still_connects(
    env: dict[str, str], mastodon: FakeMastodon
) -> None:
    add_account(env, "uni-masto", "mastodon", "@comms@127.0.0.1", mastodon.base_url)
    mastodon.inject("500", path="/api/v2/instance")
    result = connect_mastodon(env, mastodon, "uni-masto")
    assert result.exit_code == 0, result.output
    assert "Connected uni-masto (mastodon)" in result.output
    assert "Could not read the instance's limits" in result.output
    assert stored(env, "uni-masto") is not None


def test_set_credentials_from_stdin(env: dict[str, str], mastodon: FakeMastodon) -> None:
    add_account(env, "uni-masto", "mastodon", "@comms@127.0.0.1", mastodon.base_url)
    payload = json.dumps({"access_token": "good-mastodon-token", "client_id": "abc"})
    result = gatepost(env, "accounts", "set-credentials", "uni-masto", input=payload)
    assert result.exit_code == 0, result.output
    assert "(access_token, client_id)" in result.output
    assert "good-mastodon-token" not in result.output
    assert stored(env, "uni-masto") == {"access_token": "good-mastodon-token", "client_id": "abc"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        # not JSON at all (and the text is not repeated back)
        ("token=s3cr3t-value", "not JSON"),
        # JSON, but not an object
        ('["s3cr3t-value"]', "must be a JSON object"),
        # a nested value
        ('{"access_token": {"v": "s3cr3t-value"}}', "not text: access_token"),
        # the connector needs a field that is missing
        ('{"client_id": "s3cr3t-value"}', "no access token"),
    ],
)
def test_set_credentials_refuses_bad_input(
    env: dict[str, str], mastodon: FakeMastodon, payload: str, message: str
) -> None:
    add_account(env, "uni-masto", "mastodon", "@comms@127.0.0.1", mastodon.base_url)
    result = gatepost(env, "accounts", "set-credentials", "uni-masto", input=payload)
    assert result.exit_code == 1
    assert message in result.output
    assert "s3cr3t-value" not in result.output
    assert stored(env, "uni-masto") is None


def test_connect_x_with_the_pin_flow(env: dict[str, str]) -> None:
    with FakeX() as fake:
        add_account(env, "uni-x", "x", "@uniofexample", fake.base_url)
        read_fd, write_fd = os.pipe()
        # the app's keys first; the PIN once X has handed out a request token
        os.write(write_fd, f"{fake.consumer_key}\n{fake.consumer_secret}\n".encode())

        def person() -> None:
            deadline = time.monotonic() + 10
            while not fake.request_tokens and time.monotonic() < deadline:
                time.sleep(0.02)
            pin = fake.approve(next(iter(fake.request_tokens)))
            os.write(write_fd, pin.encode() + b"\n")
            os.close(write_fd)

        helper = threading.Thread(target=person)
        helper.start()
        with os.fdopen(read_fd, "rb") as stdin:
            result = gatepost(env, "accounts", "connect", "uni-x", input=stdin)
        helper.join()
        assert result.exit_code == 0, result.output
        assert "oauth/authorize?oauth_token=" in result.output
        assert "Connected uni-x (x) as @uniofexample." in result.output
        creds = stored(env, "uni-x")
        assert creds is not None
        assert fake.consumer_secret not in result.output
        assert creds["access_token_secret"] not in result.output
        config = AccountConfig(
            name="uni-x", platform="x", api_base=fake.base_url, credentials=creds
        )
        make_connector(config).publish(PublishRequest(text="via the CLI", idempotency_key="k"))
        assert [p["text"] for p in fake.live_posts()] == ["via the CLI"]


def test_connect_refuses_platforms_without_a_flow(env: dict[str, str], tmp_path: Path) -> None:
    assert gatepost(env, "init").exit_code == 0
    gatepost(env, "accounts", "add", "box", "--platform", "outbox", "--option", f"dir={tmp_path}")
    result = gatepost(env, "accounts", "connect", "box")
    assert result.exit_code == 1 and "needs no credentials" in result.output


def test_without_key_or_keyring_nothing_is_stored(
    env: dict[str, str], bluesky: FakeBluesky, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_account(env, "uni-bsky", "bluesky", HANDLE, bluesky.base_url)
    no_key = {**env, "GATEPOST_CREDENTIALS_KEY": ""}
    monkeypatch.setenv("GATEPOST_CREDENTIALS_KEY", "")
    result = gatepost(no_key, "accounts", "connect", "uni-bsky", input=APP_PASSWORD + "\n")
    assert result.exit_code == 1
    assert "GATEPOST_CREDENTIALS_KEY" in result.output
    assert bluesky.logins == 0
