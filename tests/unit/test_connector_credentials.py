"""Credentials go to the keyring, else to a file encrypted with the admin's key, never
plain text. These tests never touch the real user keyring: each passes its own backend."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import keyring.backend
import keyring.errors
import pytest
from jaraco.classes.properties import classproperty
from keyring.backends import chainer, fail

from connectors.credentials import SERVICE, CredentialStore, keyring_is_usable
from connectors.errors import CredentialsError

SECRET = {"access_token": "tok-9f8e7d6c5b4a", "client_secret": "cs-0123456789"}


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that lives in a dict, standing in for the OS keyring.

    Its priority raises, so keyring's own discovery never picks it up for other tests:
    it is used only where a test passes it in.
    """

    @classproperty
    def priority(cls) -> float:
        raise RuntimeError("test keyring: pass it in explicitly")

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.entries[(service, username)]


class LockedKeyring(MemoryKeyring):
    """A keyring that is present but locked."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("locked")


class PlaintextKeyring(MemoryKeyring):
    """Named like keyrings.alt's plain-text file backend, which must be refused."""


def test_keyring_holds_one_json_entry_per_account(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    store = CredentialStore(keyring_backend=backend, file_path=tmp_path / "c.enc", environ={})
    assert store.backend_name.startswith("keyring (") and "MemoryKeyring" in store.backend_name
    store.set("uni-mastodon", SECRET)
    store.set("uni-bsky", {"app_password": "abcd-efgh"})
    assert json.loads(backend.entries[(SERVICE, "uni-mastodon")]) == SECRET
    assert store.get("uni-mastodon") == SECRET
    assert store.get("nobody") is None
    assert store.delete("uni-bsky") is True
    assert store.delete("uni-bsky") is False
    assert not (tmp_path / "c.enc").exists()


@pytest.mark.parametrize(
    "backend",
    [
        fail.Keyring(),  # keyring found nothing at all
        chainer.ChainerBackend(),  # a chain with no usable backends (headless server)
        PlaintextKeyring(),  # a plain-text backend is no safer than no keyring
    ],
)
def test_unusable_keyring_without_key_refuses_and_says_what_to_set(
    backend: keyring.backend.KeyringBackend, tmp_path: Path
) -> None:
    assert not keyring_is_usable(backend)
    with pytest.raises(CredentialsError, match="GATEPOST_CREDENTIALS_KEY"):
        CredentialStore(keyring_backend=backend, file_path=tmp_path / "c.enc", environ={})


def test_headless_falls_back_to_an_encrypted_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "credentials.enc"
    env = {"GATEPOST_CREDENTIALS_KEY": "correct horse battery staple"}
    store = CredentialStore(keyring_backend=fail.Keyring(), file_path=path, environ=env)
    assert store.backend_name == f"encrypted file ({path})"
    store.set("uni-mastodon", SECRET)
    store.set("uni-bsky", {"app_password": "abcd-efgh"})
    raw = path.read_bytes()
    for value in [*SECRET.values(), "abcd-efgh", "uni-mastodon"]:
        assert value.encode() not in raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # a second store (another process) with the same key reads it back
    again = CredentialStore(keyring_backend=fail.Keyring(), file_path=path, environ=env)
    assert again.get("uni-mastodon") == SECRET
    assert again.delete("uni-bsky") is True
    assert store.get("uni-bsky") is None


def test_file_location_and_choice_come_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "env.enc"
    env = {
        "GATEPOST_CREDENTIALS_KEY": "passphrase here",
        "GATEPOST_CREDENTIALS_FILE": str(path),
        "GATEPOST_CREDENTIALS_BACKEND": "file",
    }
    # the file is chosen even though a keyring is available
    store = CredentialStore(keyring_backend=MemoryKeyring(), environ=env)
    store.set("a", {"k": "v"})
    assert path.exists() and not store.uses_keyring


def test_wrong_key_is_reported_without_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c.enc"
    good = {"GATEPOST_CREDENTIALS_KEY": "the right one"}
    CredentialStore(keyring_backend=fail.Keyring(), file_path=path, environ=good).set("a", SECRET)
    bad = CredentialStore(
        keyring_backend=fail.Keyring(), file_path=path, environ={"GATEPOST_CREDENTIALS_KEY": "x1"}
    )
    with pytest.raises(CredentialsError, match="does not open") as info:
        bad.get("a")
    assert "x1" not in str(info.value)
    # and the file was not overwritten by the failed attempt
    with pytest.raises(CredentialsError):
        bad.set("b", {"k": "v"})
    assert CredentialStore(keyring_backend=fail.Keyring(), file_path=path, environ=good).get(
        "a"
    ) == (SECRET)


def test_damaged_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.enc"
    path.write_text("not json at all")
    store = CredentialStore(
        keyring_backend=fail.Keyring(), file_path=path, environ={"GATEPOST_CREDENTIALS_KEY": "k"}
    )
    with pytest.raises(CredentialsError, match="damaged"):
        store.get("a")


def test_locked_keyring_is_a_credentials_error(tmp_path: Path) -> None:
    store = CredentialStore(keyring_backend=LockedKeyring(), environ={})
    with pytest.raises(CredentialsError, match="unlocked"):
        store.get("a")
    with pytest.raises(CredentialsError, match="unlocked"):
        store.set("a", SECRET)


def test_require_names_the_commands(tmp_path: Path) -> None:
    store = CredentialStore(keyring_backend=MemoryKeyring(), environ={})
    with pytest.raises(CredentialsError, match="gatepost accounts connect uni-x"):
        store.require("uni-x")


def test_saver_keeps_refreshed_tokens(tmp_path: Path) -> None:
    store = CredentialStore(keyring_backend=MemoryKeyring(), environ={})
    store.saver("uni-bsky")({"access_jwt": "new"})
    assert store.require("uni-bsky") == {"access_jwt": "new"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        # a typo in the backend choice
        ({"GATEPOST_CREDENTIALS_BACKEND": "vault"}, "must be 'keyring' or 'file'"),
        # the file asked for but no key given
        ({"GATEPOST_CREDENTIALS_BACKEND": "file"}, "needs GATEPOST_CREDENTIALS_KEY"),
        # the keyring asked for but none is usable
        ({"GATEPOST_CREDENTIALS_BACKEND": "keyring"}, "no usable keyring"),
    ],
)
def test_bad_backend_choices(env: dict[str, str], message: str) -> None:
    with pytest.raises(CredentialsError, match=message):
        CredentialStore(keyring_backend=fail.Keyring(), environ=env)


def test_connector_factory_reads_and_saves_back(tmp_path: Path) -> None:
    from connectors import AccountConfig, PublishRequest
    from connectors.credentials import connector_factory
    from tests.fakes.bluesky import APP_PASSWORD, HANDLE, FakeBluesky

    store = CredentialStore(keyring_backend=MemoryKeyring(), environ={})
    store.set("uni-bsky", {"identifier": HANDLE, "app_password": APP_PASSWORD})
    build = connector_factory(store, timeout=2)
    # an outbox needs nothing from the store
    outbox = build(AccountConfig(name="demo", platform="outbox", options={"dir": str(tmp_path)}))
    assert outbox.platform == "outbox"
    with FakeBluesky() as fake:
        config = AccountConfig(name="uni-bsky", platform="bluesky", api_base=fake.base_url)
        build(config).publish(PublishRequest(text="hi", idempotency_key="k"))
        # the session the connector started is now in the store: no second login
        assert store.require("uni-bsky")["access_jwt"]
        build(config).publish(PublishRequest(text="again", idempotency_key="k2"))
        assert fake.logins == 1
