"""Where account credentials live: the OS keyring, or a file encrypted with the admin's key.

One keyring entry per account (service ``gatepost``, user name = account name, value =
the credentials as JSON). On a headless server where keyring has no usable backend the
store falls back to one file encrypted with a key derived (scrypt) from the passphrase
in ``GATEPOST_CREDENTIALS_KEY`` (Fernet: AES-128-CBC with an HMAC). With neither, it
refuses to start rather than keep tokens in plain text; a plain-text keyring backend is
refused too.

Environment:
    GATEPOST_CREDENTIALS_KEY      passphrase for the encrypted file
    GATEPOST_CREDENTIALS_FILE     where the encrypted file lives (default: user data dir)
    GATEPOST_CREDENTIALS_BACKEND  ``keyring`` or ``file`` to choose instead of detecting

Nothing here logs or puts a credential value into an exception message.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.errors
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from connectors.base import AccountConfig, Connector
from connectors.errors import CredentialsError
from connectors.registry import make_connector

try:  # advisory locking for the file backend (not on Windows)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SERVICE = "gatepost"
KEY_ENV = "GATEPOST_CREDENTIALS_KEY"
FILE_ENV = "GATEPOST_CREDENTIALS_FILE"
BACKEND_ENV = "GATEPOST_CREDENTIALS_BACKEND"
FILE_FORMAT = 1
#: scrypt cost for new files (2**15 takes ~0.1 s and 32 MiB); stored in the file.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1

_SETUP_HINT = (
    "No usable OS keyring was found and no key for an encrypted credentials file is set. "
    f"Set {KEY_ENV} to a long passphrase (and optionally {FILE_ENV} to the file's path), "
    "or install and unlock a keyring backend. Credentials are never stored in plain text."
)


def default_credentials_file() -> Path:
    """The encrypted file's default place: ``credentials.enc`` in the user data folder."""
    import platformdirs

    return Path(platformdirs.user_data_dir("gatepost", appauthor=False)) / "credentials.enc"


def keyring_is_usable(backend: keyring.backend.KeyringBackend) -> bool:
    """Whether ``backend`` can keep secrets safely: not the fail/null backend, not an
    empty chain, and not a plain-text file backend."""
    from keyring.backends import chainer, fail

    if isinstance(backend, fail.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return any(keyring_is_usable(b) for b in backend.backends)
    module = type(backend).__module__
    name = type(backend).__name__.lower()
    if module.startswith("keyring.backends.null") or "plaintext" in name:
        return False
    return True


def _derive_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=n, r=r, p=p)
    return base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8")))


class CredentialStore:
    """Keeps each account's credentials (a ``dict[str, str]``) in one safe place.

    ``backend_name`` says which: ``"keyring (<backend>)"`` or
    ``"encrypted file (<path>)"``. Raises ``CredentialsError`` when neither is
    available (the message says what to set).
    """

    def __init__(
        self,
        *,
        keyring_backend: keyring.backend.KeyringBackend | None = None,
        file_path: Path | str | None = None,
        passphrase: str | None = None,
        prefer: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        prefer = (prefer or env.get(BACKEND_ENV) or "").strip().lower() or None
        if prefer not in (None, "keyring", "file"):
            raise CredentialsError(f"{BACKEND_ENV} must be 'keyring' or 'file', not {prefer!r}")
        self._passphrase = passphrase if passphrase is not None else env.get(KEY_ENV) or None
        path = file_path or env.get(FILE_ENV) or None
        self._file = Path(path).expanduser() if path else default_credentials_file()
        self._fernet: Fernet | None = None
        self._params: dict[str, Any] | None = None
        self._keyring: keyring.backend.KeyringBackend | None = None

        backend = keyring_backend if keyring_backend is not None else None
        if prefer != "file":
            if backend is None:
                backend = keyring.get_keyring()
            if keyring_is_usable(backend):
                self._keyring = backend
            elif prefer == "keyring":
                raise CredentialsError(
                    f"{BACKEND_ENV}=keyring but no usable keyring backend was found "
                    f"({type(backend).__name__}); install and unlock one, or set "
                    f"{KEY_ENV} to use an encrypted file"
                )
        if self._keyring is None and not self._passphrase:
            if prefer == "file":
                raise CredentialsError(
                    f"{BACKEND_ENV}=file needs {KEY_ENV}: set it to a long passphrase"
                )
            raise CredentialsError(_SETUP_HINT)

    # -- what is in use -----------------------------------------------------------

    @property
    def backend_name(self) -> str:
        """Which place credentials are kept in, for people (no secrets)."""
        if self._keyring is not None:
            name = getattr(self._keyring, "name", type(self._keyring).__name__)
            return f"keyring ({name})"
        return f"encrypted file ({self._file})"

    @property
    def uses_keyring(self) -> bool:
        return self._keyring is not None

    # -- operations ---------------------------------------------------------------

    def get(self, account: str) -> dict[str, str] | None:
        """The account's credentials, or ``None`` when none are stored."""
        if self._keyring is not None:
            try:
                raw = self._keyring.get_password(SERVICE, account)
            except keyring.errors.KeyringError as exc:
                raise CredentialsError(
                    f"the keyring could not be read for account {account!r} "
                    f"({type(exc).__name__}); is it unlocked?"
                ) from None
            return None if raw is None else self._decode_entry(account, raw)
        with self._locked():
            entry = self._read_file().get(account)
        return None if entry is None else {str(k): str(v) for k, v in entry.items()}

    def require(self, account: str) -> dict[str, str]:
        """The account's credentials; ``CredentialsError`` naming the fix when missing."""
        found = self.get(account)
        if not found:
            raise CredentialsError(
                f"no credentials stored for account {account!r}; run "
                f"`gatepost accounts connect {account}` or `gatepost accounts set-credentials "
                f"{account}`"
            )
        return found

    def set(self, account: str, credentials: Mapping[str, str]) -> None:
        """Store (replace) the account's credentials."""
        if not account:
            raise CredentialsError("an account name is needed to store credentials")
        values = {str(k): str(v) for k, v in credentials.items()}
        if self._keyring is not None:
            try:
                self._keyring.set_password(SERVICE, account, json.dumps(values))
            except keyring.errors.KeyringError as exc:
                raise CredentialsError(
                    f"the keyring refused the credentials of account {account!r} "
                    f"({type(exc).__name__}); is it unlocked?"
                ) from None
            return
        with self._locked():
            data = self._read_file()
            data[account] = values
            self._write_file(data)

    def delete(self, account: str) -> bool:
        """Forget the account's credentials; ``True`` when there were some."""
        if self._keyring is not None:
            try:
                self._keyring.delete_password(SERVICE, account)
            except keyring.errors.PasswordDeleteError:
                return False
            except keyring.errors.KeyringError as exc:
                raise CredentialsError(
                    f"the keyring could not delete account {account!r} ({type(exc).__name__})"
                ) from None
            return True
        with self._locked():
            data = self._read_file()
            if account not in data:
                return False
            del data[account]
            self._write_file(data)
        return True

    def saver(self, account: str) -> Callable[[dict[str, str]], None]:
        """A callback for ``make_connector(save_credentials=...)`` that keeps refreshed
        tokens for ``account``."""

        def save(credentials: dict[str, str]) -> None:
            self.set(account, credentials)

        return save

    # -- keyring entries ------------------------------------------------------------

    @staticmethod
    def _decode_entry(account: str, raw: str) -> dict[str, str]:
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise CredentialsError(
                f"the keyring entry of account {account!r} is not Gatepost credentials; "
                "set them again"
            )
        return {str(k): str(v) for k, v in value.items()}

    # -- encrypted file -------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an exclusive lock on a side file while reading or rewriting the store
        (the daemon and the command line may both save a refreshed token)."""
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle = open(self._file.with_name(self._file.name + ".lock"), "a")
        except OSError as exc:
            raise CredentialsError(
                f"cannot use the credentials file {self._file} ({exc.strerror})"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            handle.close()

    def _cipher(self, header: Mapping[str, Any] | None) -> tuple[Fernet, dict[str, Any]]:
        if header is None:
            params: dict[str, Any] = {
                "salt": base64.b64encode(os.urandom(16)).decode("ascii"),
                "n": SCRYPT_N,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
            }
        else:
            params = {k: header[k] for k in ("salt", "n", "r", "p")}
        if self._fernet is None or self._params != params:
            assert self._passphrase is not None
            key = _derive_key(
                self._passphrase,
                base64.b64decode(params["salt"]),
                int(params["n"]),
                int(params["r"]),
                int(params["p"]),
            )
            self._fernet = Fernet(key)
            self._params = params
        return self._fernet, params

    def _read_file(self) -> dict[str, dict[str, str]]:
        try:
            raw = self._file.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise CredentialsError(
                f"cannot read the credentials file {self._file} ({exc.strerror})"
            ) from None
        try:
            header = json.loads(raw)
            if header.get("format") != FILE_FORMAT:
                raise ValueError("unknown format")
            fernet, _ = self._cipher(header)
            plain = fernet.decrypt(header["token"].encode("ascii"))
        except InvalidToken:
            raise CredentialsError(
                f"{KEY_ENV} does not open the credentials file {self._file}; "
                "use the passphrase it was written with"
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CredentialsError(
                f"the credentials file {self._file} is damaged or not a Gatepost file"
            ) from None
        data: dict[str, dict[str, str]] = json.loads(plain)
        return data

    def _write_file(self, data: Mapping[str, Mapping[str, str]]) -> None:
        header: dict[str, Any] | None = None
        with contextlib.suppress(FileNotFoundError, ValueError, OSError):
            header = json.loads(self._file.read_bytes())
        fernet, params = self._cipher(header if isinstance(header, dict) else None)
        token = fernet.encrypt(json.dumps(data).encode("utf-8")).decode("ascii")
        body = json.dumps({"format": FILE_FORMAT, "kdf": "scrypt", **params, "token": token})
        try:
            fd, scratch = tempfile.mkstemp(prefix=".credentials-", dir=self._file.parent)
            try:
                with os.fdopen(fd, "w", encoding="ascii") as handle:
                    os.fchmod(handle.fileno(), 0o600)
                    handle.write(body)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(scratch, self._file)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(scratch)
        except OSError as exc:
            raise CredentialsError(
                f"cannot write the credentials file {self._file} ({exc.strerror})"
            ) from None


def connector_factory(
    store: CredentialStore, *, timeout: float = 10.0
) -> Callable[[AccountConfig], Connector]:
    """A factory that builds an account's connector with its stored credentials.

    Credentials already in the config win; otherwise they come from ``store`` (none for
    an outbox). Refreshed tokens are written back through ``store.saver``. Use it as the
    daemon's connector factory.
    """

    def build(config: AccountConfig) -> Connector:
        credentials = dict(config.credentials) or (store.get(config.name) or {})
        return make_connector(
            replace(config, credentials=credentials),
            timeout=timeout,
            save_credentials=store.saver(config.name),
        )

    return build


__all__ = [
    "BACKEND_ENV",
    "FILE_ENV",
    "KEY_ENV",
    "SERVICE",
    "CredentialStore",
    "connector_factory",
    "default_credentials_file",
    "keyring_is_usable",
]
