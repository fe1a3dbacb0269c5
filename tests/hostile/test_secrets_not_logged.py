"""No token, password, client secret or passphrase reaches the logs or an error message.

Every path that handles a secret runs with logging at DEBUG for everything, including
the HTTP and OAuth libraries (urllib3, requests_oauthlib and oauthlib print headers and
tokens at DEBUG), and the captured log text and every error raised are searched for
each secret value the fakes issued.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from keyring.backends import fail
from requests_oauthlib import OAuth2Session

from connectors import AccountConfig, MediaItem, PublishRequest, make_connector
from connectors.authflows import connect_bluesky, connect_mastodon
from connectors.credentials import CredentialStore
from connectors.errors import ConnectorError
from connectors.http import allow_loopback_http_for_oauthlib, quiet_http_debug_logs
from tests.fakes.bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from tests.fakes.mastodon import FakeMastodon

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10
LOUD = ("", "urllib3", "requests_oauthlib", "oauthlib", "connectors", "tests")
PASSPHRASE = "file-passphrase-4f1c9a"


@pytest.fixture
def loud_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """DEBUG everywhere, as an admin chasing a problem might set it."""
    before = {name: logging.getLogger(name).level for name in LOUD}
    for name in LOUD:
        caplog.set_level(logging.DEBUG, logger=name or None)
    yield caplog
    for name, level in before.items():
        logging.getLogger(name or None).setLevel(level)


def turn_up() -> None:
    """Set DEBUG again on the libraries (connectors quieten them when built), so only
    the filters stand between their debug output and the log."""
    for name in LOUD:
        logging.getLogger(name or None).setLevel(logging.DEBUG)


class Errors:
    """Runs a step that may fail and keeps the text a person or a log would see."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def run(self, step: object) -> None:
        try:
            step()  # type: ignore[operator]
        except ConnectorError as exc:
            self.texts.append(str(exc))
            self.texts.append(repr(exc))
            self.texts.append(getattr(exc, "reason", ""))
            # what a traceback would print of the chain (not the source lines)
            self.texts.append(
                "".join(traceback.TracebackException.from_exception(exc).format_exception_only())
            )
            chained = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
            while chained is not None:
                self.texts.append(f"{type(chained).__name__}: {chained}")
                chained = chained.__cause__ or (
                    None if chained.__suppress_context__ else chained.__context__
                )


def assert_no_secret(secrets: set[str], *texts: str) -> None:
    haystack = "\n".join(texts)
    leaked = sorted(s for s in secrets if s and len(s) >= 6 and s in haystack)
    assert not leaked, f"{len(leaked)} secret value(s) found in logs or errors"


class MastodonUser:
    def __init__(self) -> None:
        self.codes: list[str] = []

    def __call__(self, prompt: str, *, secret: bool = False) -> str:
        match = re.search(r"http\S+/oauth/authorize\S+", prompt)
        assert match is not None
        page = requests.get(match.group(0), timeout=2).text
        found = re.search(r"value='([^']+)'", page)
        assert found is not None
        self.codes.append(found.group(1))
        return found.group(1)


def test_mastodon_paths_log_no_secret(loud_logs: pytest.LogCaptureFixture) -> None:
    errors = Errors()
    with FakeMastodon() as fake:
        user = MastodonUser()
        creds = connect_mastodon(fake.base_url, user)
        config = AccountConfig(
            name="m", platform="mastodon", api_base=fake.base_url, credentials=creds
        )
        connector = make_connector(config, timeout=2.0)
        turn_up()
        fake.media_processing_polls = 1
        connector.publish(
            PublishRequest(text="with image", idempotency_key="a", media=(MediaItem(PNG, "alt"),))
        )
        for fault in ("429", "500", "drop_after", "expired"):
            fake.inject(fault, path="/api/v1/statuses")
            errors.run(lambda: connector.publish(PublishRequest(text="x", idempotency_key="b")))
        fake.hang_seconds = 3.0  # past the client's 2 s time-out, even on a busy machine
        fake.inject("hang", path="/api/v1/statuses")
        errors.run(lambda: connector.publish(PublishRequest(text="y", idempotency_key="c")))
        connector.lookup(PublishRequest(text="with image", idempotency_key="a"))
        errors.run(lambda: connector.delete("999"))
        fake.revoke(creds["access_token"])
        errors.run(lambda: connector.publish(PublishRequest(text="z", idempotency_key="d")))
        # a refused code in the flow
        errors.run(lambda: connect_mastodon(fake.base_url, lambda p, secret=False: "bad-code-77"))
        secrets = set(fake.tokens) | {creds["access_token"], *user.codes, "bad-code-77"}
        secrets |= {app["client_secret"] for app in fake.apps.values()}
    assert len(errors.texts) >= 8 * 4
    assert loud_logs.records, "nothing was logged: the test would prove nothing"
    assert_no_secret(secrets, loud_logs.text, *errors.texts)


def test_bluesky_paths_log_no_secret(loud_logs: pytest.LogCaptureFixture) -> None:
    errors = Errors()
    saved: list[dict[str, str]] = []
    with FakeBluesky() as fake:
        creds = connect_bluesky(
            fake.base_url, lambda p, secret=False: APP_PASSWORD, identifier=HANDLE
        )
        config = AccountConfig(
            name="b", platform="bluesky", api_base=fake.base_url, credentials=creds
        )
        connector = make_connector(config, timeout=2.0, save_credentials=saved.append)
        turn_up()
        connector.publish(
            PublishRequest(text="with image", idempotency_key="a", media=(MediaItem(PNG, "alt"),))
        )
        fake.expire_access_tokens()  # refresh
        connector.publish(PublishRequest(text="after refresh", idempotency_key="b"))
        for fault in ("429", "500", "drop_after"):
            fake.inject(fault, path="createRecord")
            errors.run(lambda: connector.publish(PublishRequest(text="x", idempotency_key="c")))
        fake.expire_access_tokens()
        fake.revoke_refresh_tokens()
        fake.app_password = "changed-pass-word"
        errors.run(lambda: connector.publish(PublishRequest(text="y", idempotency_key="d")))
        errors.run(
            lambda: connect_bluesky(
                fake.base_url, lambda p, secret=False: "wrong-app-pass", identifier=HANDLE
            )
        )
        secrets = {APP_PASSWORD, "changed-pass-word", "wrong-app-pass"}
        secrets |= set(fake.access_tokens)
        for item in [creds, *saved]:
            secrets |= {item.get("access_jwt", ""), item.get("refresh_jwt", "")}
    assert len(saved) >= 1 and len(errors.texts) >= 5 * 4
    assert_no_secret(secrets, loud_logs.text, *errors.texts)


def test_credential_file_paths_log_no_secret(
    loud_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    errors = Errors()
    path = tmp_path / "credentials.enc"
    env = {"GATEPOST_CREDENTIALS_KEY": PASSPHRASE}
    store = CredentialStore(keyring_backend=fail.Keyring(), file_path=path, environ=env)
    store.set("m", {"access_token": "stored-token-abc123"})
    store.get("m")
    wrong = CredentialStore(
        keyring_backend=fail.Keyring(),
        file_path=path,
        environ={"GATEPOST_CREDENTIALS_KEY": "nope-123456"},
    )
    errors.run(lambda: wrong.get("m"))
    assert errors.texts
    assert_no_secret(
        {PASSPHRASE, "nope-123456", "stored-token-abc123"},
        loud_logs.text,
        *errors.texts,
        path.read_text(),
    )


def test_the_libraries_would_leak_without_the_filter(loud_logs: pytest.LogCaptureFixture) -> None:
    """Control: requests_oauthlib really does log the token at DEBUG, so the searches
    above can fail; our filter is what keeps it out."""
    quiet_http_debug_logs()
    # an admin turns the library's logging up on purpose
    logging.getLogger("requests_oauthlib").setLevel(logging.DEBUG)
    logger = logging.getLogger("requests_oauthlib.oauth2_session")
    kept = list(logger.filters)
    with FakeMastodon() as fake:
        allow_loopback_http_for_oauthlib(fake.base_url)
        token = {"access_token": "good-mastodon-token", "token_type": "Bearer"}
        for f in kept:
            logger.removeFilter(f)
        try:
            OAuth2Session("cid", token=token).get(
                f"{fake.base_url}/api/v1/accounts/verify_credentials", timeout=2
            )
        finally:
            for f in kept:
                logger.addFilter(f)
        assert "good-mastodon-token" in loud_logs.text
        loud_logs.clear()
        OAuth2Session("cid", token=token).get(
            f"{fake.base_url}/api/v1/accounts/verify_credentials", timeout=2
        )
        assert "good-mastodon-token" not in loud_logs.text
