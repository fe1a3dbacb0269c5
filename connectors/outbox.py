"""The outbox connector: posts are written to a local folder instead of a platform.

It is the demo's default account and a dry-run target for any account. Each post is one
folder named after its idempotency key, holding ``post.json`` and its images:

    <dir>/<key>/post.json       text, links, alt texts, times, image file names
    <dir>/<key>/<sha256>.png    each image, named by its content hash

Publishing builds the folder under a temporary name and renames it into place in one
step, so a reader (or a crash) never sees half a post, and a second publish with the
same key finds the first instead of writing again. Editing writes new images beside the
old ones and replaces ``post.json`` in one step (``os.replace``); the JSON file is the
single point at which a change becomes visible.

Account options: ``dir`` (required), ``max_chars`` (5000), ``max_media`` (4),
``max_media_bytes`` (10 MiB).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mimetypes
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.base import AccountConfig, Problem, PublishRequest, Receipt, TextMeasure
from connectors.errors import ConnectorError, Permanent, Transient
from connectors.limits import int_option, media_problems, raise_if_invalid, text_problems

POST_FILE = "post.json"
DEFAULT_MAX_CHARS = 5000
DEFAULT_MAX_MEDIA = 4
DEFAULT_MAX_MEDIA_BYTES = 10 * 1024 * 1024

_SAFE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def text_limit(options: Mapping[str, str]) -> int:
    """The account's limit in characters: its ``max_chars`` option, else 5,000.

    Raises ``ConnectorError`` when the option is not a positive whole number.
    """
    return int_option(options, "max_chars", DEFAULT_MAX_CHARS)


def count_text(text: str, limit: int) -> TextMeasure:
    """Count ``text`` in Unicode code points against ``limit``.

    The connector's ``measure`` and ``connectors.measure_text`` both count with this.
    """
    return TextMeasure(len(text), limit)


def folder_name_for_key(key: str) -> str:
    """The folder a key's post lives in: the key itself when it is a safe file name,
    else a hash of it (so any key maps to exactly one folder, and never outside ``dir``).
    """
    if _SAFE_KEY.fullmatch(key) and not key.startswith(".tmp-"):
        return key
    return "k-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def _fsync_dir(path: Path) -> None:
    # Make the rename itself durable; not every platform lets a directory be opened.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class OutboxConnector:
    """Writes posts to a local folder; see the module docstring for the layout."""

    platform = "outbox"

    def __init__(
        self,
        config: AccountConfig,
        *,
        timeout: float = 10.0,
        save_credentials: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        folder = config.options.get("dir", "").strip()
        if not folder:
            raise ConnectorError(
                f"outbox account {config.name!r} needs a folder: set its 'dir' option",
                platform=self.platform,
            )
        self.config = config
        self.directory = Path(folder).expanduser()
        self.max_chars = text_limit(config.options)
        self.max_media = int_option(config.options, "max_media", DEFAULT_MAX_MEDIA)
        self.max_media_bytes = int_option(
            config.options, "max_media_bytes", DEFAULT_MAX_MEDIA_BYTES
        )

    # -- limits -------------------------------------------------------------------

    def measure(self, text: str) -> TextMeasure:
        """Count ``text`` in Unicode code points against the outbox's limit."""
        return count_text(text, self.max_chars)

    def validate(self, request: PublishRequest) -> list[Problem]:
        """Return every limit the request breaks: length, image count, type and size."""
        return text_problems(
            request.text, self.measure(request.text), has_media=bool(request.media)
        ) + media_problems(request.media, max_count=self.max_media, max_bytes=self.max_media_bytes)

    # -- operations ---------------------------------------------------------------

    def publish(self, request: PublishRequest) -> Receipt:
        """Write the post into its key's folder and return its receipt.

        Publishing a key that is already in the outbox returns the existing receipt and
        writes nothing. Raises ``Permanent`` for an invalid request and ``Transient``
        when the folder cannot be written (disk full, permissions).
        """
        raise_if_invalid(self.validate(request), platform=self.platform)
        existing = self.lookup(request)
        if existing is not None:
            return existing
        final = self._folder(folder_name_for_key(request.idempotency_key))
        now = datetime.now(UTC)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.directory))
        except OSError as exc:
            raise Transient(
                f"outbox folder {self.directory} cannot be written ({exc.strerror})",
                platform=self.platform,
            ) from None
        try:
            record = self._write_post(staging, request, published_at=now, edited_at=None)
            try:
                os.rename(staging, final)
            except OSError:
                # Another writer put the same key in place first: theirs stands.
                found = self._read(final)
                if found is None:
                    raise
                return self._receipt(final, found)
            _fsync_dir(self.directory)
        except OSError as exc:
            raise Transient(
                f"outbox could not write the post ({exc.strerror or type(exc).__name__})",
                platform=self.platform,
            ) from None
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return self._receipt(final, record)

    def edit(self, remote_id: str, request: PublishRequest) -> Receipt:
        """Replace the text, links and images of an outbox post in one step.

        Raises ``Permanent`` when there is no such post or the request is invalid.
        """
        raise_if_invalid(self.validate(request), platform=self.platform)
        folder = self._existing(remote_id)
        old = self._read(folder)
        if old is None:
            raise Permanent(f"outbox has no post {remote_id!r}", platform=self.platform)
        published_at = datetime.fromisoformat(old["published_at"])
        try:
            record = self._write_post(
                folder, request, published_at=published_at, edited_at=datetime.now(UTC)
            )
        except OSError as exc:
            raise Transient(
                f"outbox could not edit the post ({exc.strerror or type(exc).__name__})",
                platform=self.platform,
            ) from None
        keep = {POST_FILE} | {m["file"] for m in record["media"]}
        for child in folder.iterdir():
            if child.name not in keep and not child.name.startswith(".tmp-"):
                with contextlib.suppress(OSError):
                    child.unlink()
        return self._receipt(folder, record)

    def delete(self, remote_id: str) -> None:
        """Remove an outbox post. Raises ``Permanent`` when there is no such post."""
        folder = self._existing(remote_id)
        trash = self.directory / f".tmp-deleted-{uuid.uuid4().hex}"
        try:
            os.rename(folder, trash)
        except FileNotFoundError:
            raise Permanent(f"outbox has no post {remote_id!r}", platform=self.platform) from None
        except OSError as exc:
            raise Transient(
                f"outbox could not delete the post ({exc.strerror})", platform=self.platform
            ) from None
        shutil.rmtree(trash, ignore_errors=True)

    def lookup(self, request: PublishRequest) -> Receipt | None:
        """Return the receipt of the post written under the request's key, if any."""
        folder = self._folder(folder_name_for_key(request.idempotency_key))
        record = self._read(folder)
        return None if record is None else self._receipt(folder, record)

    def read_post(self, remote_id: str) -> dict[str, Any]:
        """The stored ``post.json`` of ``remote_id`` (for previews and tests)."""
        folder = self._existing(remote_id)
        record = self._read(folder)
        if record is None:
            raise Permanent(f"outbox has no post {remote_id!r}", platform=self.platform)
        return record

    # -- internals ----------------------------------------------------------------

    def _folder(self, name: str) -> Path:
        return self.directory / name

    def _existing(self, remote_id: str) -> Path:
        # remote ids are folder names we made; anything else (a path, "..") is refused
        if not _SAFE_KEY.fullmatch(remote_id) or remote_id.startswith(".tmp-"):
            raise Permanent(f"outbox has no post {remote_id!r}", platform=self.platform)
        folder = self._folder(remote_id)
        if not (folder / POST_FILE).is_file():
            raise Permanent(f"outbox has no post {remote_id!r}", platform=self.platform)
        return folder

    def _write_post(
        self,
        folder: Path,
        request: PublishRequest,
        *,
        published_at: datetime,
        edited_at: datetime | None,
    ) -> dict[str, Any]:
        media = []
        for item in request.media:
            digest = hashlib.sha256(item.data).hexdigest()
            suffix = mimetypes.guess_extension(item.mime) or Path(item.filename).suffix or ""
            name = f"{digest[:32]}{suffix}"
            target = folder / name
            if not target.exists():
                scratch = folder / f".tmp-{uuid.uuid4().hex}"
                _write_file(scratch, item.data)
                os.replace(scratch, target)
            media.append(
                {
                    "file": name,
                    "alt": item.alt,
                    "mime": item.mime,
                    "filename": item.filename,
                    "sha256": digest,
                    "bytes": len(item.data),
                }
            )
        record: dict[str, Any] = {
            "remote_id": folder_name_for_key(request.idempotency_key),
            "idempotency_key": request.idempotency_key,
            "account": self.config.name,
            "handle": self.config.handle,
            "text": request.text,
            "links": list(request.links),
            "media": media,
            "published_at": published_at.isoformat(),
            "edited_at": edited_at.isoformat() if edited_at else None,
        }
        if edited_at is not None:
            # an edit keeps the folder (and so the remote id) of the original post
            record["remote_id"] = folder.name
        scratch = folder / f".tmp-{uuid.uuid4().hex}.json"
        data = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
        _write_file(scratch, data)
        os.replace(scratch, folder / POST_FILE)
        _fsync_dir(folder)
        return record

    def _read(self, folder: Path) -> dict[str, Any] | None:
        try:
            raw = (folder / POST_FILE).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise Transient(
                f"outbox could not read {folder.name} ({exc.strerror})", platform=self.platform
            ) from None
        try:
            record: dict[str, Any] = json.loads(raw)
        except ValueError:
            raise Permanent(
                f"outbox post {folder.name} is damaged (post.json is not JSON)",
                platform=self.platform,
            ) from None
        return record

    def _receipt(self, folder: Path, record: dict[str, Any]) -> Receipt:
        return Receipt(
            remote_id=folder.name,
            url=(folder / POST_FILE).resolve().as_uri(),
            published_at=datetime.fromisoformat(record["published_at"]),
        )
