"""Input the database would choke on is refused with a message, never a database error,
on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest

from scheduler import services
from scheduler.errors import InvalidInput
from scheduler.store import Store
from tests.conftest import Team, make_png

LATER = "2026-12-01 09:00"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        # PostgreSQL cannot store NUL characters in text at all.
        (lambda s, t: services.create_post(s, t.alice, account="uni-news", text="a\x00b"), "NUL"),
        # A post longer than any platform allows by orders of magnitude.
        (
            lambda s, t: services.create_post(s, t.alice, account="uni-news", text="x" * 100_001),
            "too long",
        ),
        # Column limits: the account name, a login, an asset title, an alt text, a link.
        (lambda s, t: services.add_account(s, t.admin, "n" * 101, platform="outbox"), "too long"),
        (lambda s, t: services.add_user(s, t.admin, "bob smith"), "is not a login"),
        (lambda s, t: services.add_user(s, t.admin, "x" * 129), "is not a login"),
        (
            lambda s, t: services.add_asset(s, t.admin, make_png(1), title="t" * 301),
            "too long",
        ),
        (
            lambda s, t: services.create_post(
                s, t.alice, account="uni-news", text="hi", attachments=[(1, "a" * 2001)]
            ),
            "too long",
        ),
        (
            lambda s, t: services.create_post(
                s, t.alice, account="uni-news", text="hi", links=["https://e.ac.uk/" + "a" * 2000]
            ),
            "too long",
        ),
        (
            lambda s, t: services.create_post(
                s, t.alice, account="uni-news", text="hi", links=["javascript:alert(1)"]
            ),
            "must start with http",
        ),
    ],
)
def test_unstorable_input_is_refused(store: Store, team: Team, action, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=message):
        action(store, team)
    assert services.verify_audit(store).ok


def test_search_text_is_data_not_sql(store: Store, team: Team) -> None:
    services.create_post(
        store, team.alice, account="uni-news", text="Robert'); DROP TABLE posts;--"
    )
    found = services.list_posts(store, text="'); DROP TABLE posts;--")
    assert [p.text for p in found] == ["Robert'); DROP TABLE posts;--"]
    assert services.count_posts(store) == 1
