"""The compose screen's live check: the gate on content not saved yet, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import pytest

from scheduler import services
from scheduler.draft_check import check_draft
from scheduler.errors import NotFound
from scheduler.store import Store
from scheduler.views import Attachment
from tests.conftest import Team, make_png


def test_the_live_check_finds_what_submit_would_and_keeps_nothing(store: Store, team: Team) -> None:
    text = "Mail jo@example.ac.uk for the embargoed results"
    findings = check_draft(store, account="uni-news", text=text)
    rules = {f.rule for f in findings}
    assert {"personal_data", "confidential"} <= rules
    email = next(f for f in findings if f.rule == "personal_data")
    assert email.span is not None and text[email.span[0] : email.span[1]] == "jo@example.ac.uk"
    # Nothing was written: no post, no audit event beyond the set-up.
    assert services.count_posts(store) == 0
    assert all(not e.action.startswith("post.") for e in services.list_audit(store))


def test_the_live_check_sees_attached_images(store: Store, team: Team) -> None:
    photo = services.add_asset(store, team.admin, make_png(7), filename="lawn.png")
    findings = check_draft(
        store, account=team.news.id, text="Open day", attachments=[Attachment(photo.id, "")]
    )
    # A pending photo (and no alt text) holds the post back.
    assert any(f.asset_id == str(photo.id) for f in findings)


@pytest.mark.parametrize(
    ("account", "attachments"),
    [
        ("no-such-account", ()),  # an account that does not exist
        ("uni-news", (Attachment(999, ""),)),  # an asset that does not exist
    ],
)
def test_the_live_check_names_what_is_missing(
    store: Store, team: Team, account: str, attachments: tuple[Attachment, ...]
) -> None:
    with pytest.raises(NotFound):
        check_draft(store, account=account, text="Hi", attachments=attachments)
