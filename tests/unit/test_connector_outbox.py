"""The outbox writes each post once, atomically, and finds it again by its key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors import AccountConfig, MediaItem, PublishRequest, make_connector
from connectors.errors import ConnectorError, Permanent, Transient
from connectors.outbox import OutboxConnector, folder_name_for_key

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10


def outbox(tmp_path: Path, **options: str) -> OutboxConnector:
    config = AccountConfig(
        name="demo", platform="outbox", options={"dir": str(tmp_path / "out"), **options}
    )
    connector = make_connector(config)
    assert isinstance(connector, OutboxConnector)
    return connector


def test_publish_writes_json_and_images(tmp_path: Path) -> None:
    box = outbox(tmp_path)
    request = PublishRequest(
        text="Open day on Saturday",
        idempotency_key="post-1-attempt-1",
        media=(MediaItem(PNG, alt="The main quad"),),
        links=("https://example.ac.uk/open-day",),
    )
    receipt = box.publish(request)
    folder = tmp_path / "out" / receipt.remote_id
    record = json.loads((folder / "post.json").read_text("utf-8"))
    assert record["text"] == "Open day on Saturday"
    assert record["links"] == ["https://example.ac.uk/open-day"]
    assert record["media"][0]["alt"] == "The main quad"
    assert (folder / record["media"][0]["file"]).read_bytes() == PNG
    assert receipt.url.startswith("file://")
    # nothing half-written is left behind
    assert [p.name for p in (tmp_path / "out").iterdir()] == [receipt.remote_id]


def test_publish_without_images_and_lookup(tmp_path: Path) -> None:
    box = outbox(tmp_path)
    request = PublishRequest(text="Hello", idempotency_key="k1")
    assert box.lookup(request) is None
    receipt = box.publish(request)
    assert box.lookup(request) == receipt
    assert box.read_post(receipt.remote_id)["media"] == []


def test_second_publish_with_same_key_writes_nothing_new(tmp_path: Path) -> None:
    box = outbox(tmp_path)
    request = PublishRequest(text="Once only", idempotency_key="same")
    first = box.publish(request)
    second = box.publish(request)
    assert first == second
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_odd_keys_map_to_one_safe_folder(tmp_path: Path) -> None:
    box = outbox(tmp_path)
    request = PublishRequest(text="x", idempotency_key="../../etc/passwd")
    receipt = box.publish(request)
    assert receipt.remote_id == folder_name_for_key("../../etc/passwd")
    assert (tmp_path / "out" / receipt.remote_id / "post.json").is_file()
    assert box.lookup(request) == receipt


def test_edit_replaces_text_and_images_and_keeps_the_id(tmp_path: Path) -> None:
    box = outbox(tmp_path)
    original = box.publish(
        PublishRequest(text="Tpyo", idempotency_key="e1", media=(MediaItem(PNG, alt="old"),))
    )
    new_png = PNG + b"new"
    edited = box.edit(
        original.remote_id,
        PublishRequest(text="Typo", idempotency_key="e1", media=(MediaItem(new_png, alt="new"),)),
    )
    assert edited.remote_id == original.remote_id
    assert edited.published_at == original.published_at
    record = box.read_post(original.remote_id)
    assert record["text"] == "Typo"
    assert record["edited_at"] is not None
    folder = tmp_path / "out" / original.remote_id
    # the old image is gone, only the new one and post.json remain
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["post.json", record["media"][0]["file"]]
    )
    assert (folder / record["media"][0]["file"]).read_bytes() == new_png


def test_delete_removes_the_post(tmp_path: Path) -> None:
    box = outbox(tmp_path)
    request = PublishRequest(text="Wrong date", idempotency_key="d1")
    receipt = box.publish(request)
    box.delete(receipt.remote_id)
    assert box.lookup(request) is None
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(
    "remote_id",
    [
        "never-published",  # an id that was never written
        "..",  # a path out of the folder
        "../out",  # a relative path
    ],
)
def test_delete_and_edit_of_unknown_post_are_permanent(tmp_path: Path, remote_id: str) -> None:
    box = outbox(tmp_path)
    box.publish(PublishRequest(text="keep me", idempotency_key="keep"))
    with pytest.raises(Permanent):
        box.delete(remote_id)
    with pytest.raises(Permanent):
        box.edit(remote_id, PublishRequest(text="x", idempotency_key="x"))
    assert box.lookup(PublishRequest(text="keep me", idempotency_key="keep")) is not None


@pytest.mark.parametrize(
    ("text", "media", "codes"),
    [
        # exactly at the limit: fine
        ("a" * 5000, 0, []),
        # one past the limit
        ("a" * 5001, 0, ["too_long"]),
        # four images is the most
        ("pics", 4, []),
        # a fifth is one too many
        ("pics", 5, ["too_many_media"]),
        # nothing at all
        ("   ", 0, ["empty"]),
        # an image alone is a post
        ("", 1, []),
    ],
)
def test_validate_limits(tmp_path: Path, text: str, media: int, codes: list[str]) -> None:
    box = outbox(tmp_path)
    request = PublishRequest(
        text=text, idempotency_key="v", media=tuple(MediaItem(PNG) for _ in range(media))
    )
    assert [p.code for p in box.validate(request)] == codes


def test_validate_media_type_and_size(tmp_path: Path) -> None:
    box = outbox(tmp_path, max_media_bytes="100")
    request = PublishRequest(
        text="x",
        idempotency_key="m",
        media=(MediaItem(b"x" * 101, mime="image/png"), MediaItem(b"%PDF", mime="application/pdf")),
    )
    assert sorted(p.code for p in box.validate(request)) == ["media_format", "media_too_large"]


def test_invalid_request_is_refused_and_not_written(tmp_path: Path) -> None:
    box = outbox(tmp_path, max_chars="10")
    with pytest.raises(Permanent) as info:
        box.publish(PublishRequest(text="eleven char", idempotency_key="long"))
    assert "limit is 10" in info.value.reason
    assert not (tmp_path / "out").exists()


def test_missing_folder_option_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="'dir' option"):
        make_connector(AccountConfig(name="demo", platform="outbox"))
    with pytest.raises(ConnectorError, match="max_chars"):
        outbox(tmp_path, max_chars="lots")


def test_unwritable_folder_is_transient(tmp_path: Path) -> None:
    # the folder's parent is a file, so the folder can never be made
    (tmp_path / "blocker").write_text("not a folder")
    config = AccountConfig(
        name="demo", platform="outbox", options={"dir": str(tmp_path / "blocker" / "out")}
    )
    box = make_connector(config)
    with pytest.raises(Transient):
        box.publish(PublishRequest(text="x", idempotency_key="ro"))


def test_damaged_post_file_is_permanent_on_lookup(tmp_path: Path) -> None:
    box = outbox(tmp_path)
    request = PublishRequest(text="x", idempotency_key="bad")
    receipt = box.publish(request)
    (tmp_path / "out" / receipt.remote_id / "post.json").write_text("{not json")
    with pytest.raises(Permanent, match="damaged"):
        box.lookup(request)


def test_concurrent_publishes_of_one_key_write_one_post(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    box = outbox(tmp_path)
    request = PublishRequest(text="race", idempotency_key="race", media=(MediaItem(PNG),))
    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(pool.map(lambda _: box.publish(request), range(16)))
    assert len(set(receipts)) == 1
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["race"]
