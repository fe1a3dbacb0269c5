"""The daemon's commands: status, settling an unknown post, repeat, retract, correct."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from scheduler import services
from scheduler.daemon import Daemon
from scheduler.publishing import no_frequency_limits
from scheduler.store import Store, sqlite_url
from tests.daemon_support import add_account, add_scheduled_post, post_row
from tests.fakes.ledger import LedgerPlatform, ledger_connector_factory
from tui.cli import cli


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    url = sqlite_url(tmp_path / "gatepost.sqlite3")
    monkeypatch.setenv("GATEPOST_DATABASE_URL", url)
    monkeypatch.setenv("GATEPOST_DATA_DIR", str(tmp_path))
    store = Store(url)
    services.init_database(store)  # the current login becomes the first admin
    return store


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def unknown_post(store: Store, fake: LedgerPlatform) -> int:
    """A post whose outcome could not be settled (its account cannot look posts up)."""
    account = add_account(store, "news", api_base=fake.base_url, options={"lookup": "none"})
    post_id = add_scheduled_post(store, account, "Lost answer", datetime.now(UTC))
    fake.inject("drop_after", path="/api/posts")
    daemon = Daemon(
        store, connector_factory=ledger_connector_factory, gate=None, frequency=no_frequency_limits
    )
    assert daemon.publisher.publish(post_id).kind == "waiting"
    with store.write() as session:  # make the retry due now
        from scheduler.models import Post

        post = session.get(Post, post_id)
        assert post is not None
        post.not_before = datetime.now(UTC) - timedelta(seconds=1)
    assert daemon.publisher.publish(post_id).kind == "unknown"
    return post_id


def test_status_lists_daemons_next_posts_and_posts_needing_a_person(env):
    with LedgerPlatform() as fake:
        post_id = unknown_post(env, fake)
        account = add_account(env, "sport", api_base=fake.base_url)
        later = add_scheduled_post(
            env, account, "Match report", datetime.now(UTC) + timedelta(days=1)
        )
        Daemon(env, connector_factory=ledger_connector_factory, gate=None).beat()

        code, out = run("status", "--json")

    assert code == 0
    report = json.loads(out)
    assert report["daemons"][0]["alive"] is True
    assert [p["id"] for p in report["next"]] == [later]
    (stuck,) = report["attention"]
    assert stuck["id"] == post_id and stuck["state"] == "unknown"
    assert "could not say whether it went out" in stuck["reason"]
    code, text = run("status")
    assert code == 0 and "Daemons alive: 1" in text and "[unknown]" in text


def test_status_shows_a_post_whose_daemon_stopped_while_publishing_it(env):
    from scheduler import lifecycle
    from scheduler.models import Post, PostState

    with LedgerPlatform() as fake:
        account = add_account(env, "news", api_base=fake.base_url)
        post_id = add_scheduled_post(env, account, "Caught mid-send", datetime.now(UTC))
        busy_id = add_scheduled_post(env, account, "Going out now", datetime.now(UTC))
        # One daemon claimed a post and died (its lease ran out); another is sending one.
        for pid, owner, lease in ((post_id, "gone-daemon", -1), (busy_id, "live-daemon", 2)):
            with env.write() as session:
                post = session.get(Post, pid)
                assert post is not None
                post.lease_owner = owner
                post.lease_expires_at = datetime.now(UTC) + timedelta(minutes=lease)
                lifecycle.transition(
                    session,
                    post,
                    PostState.PUBLISHING,
                    action="claim",
                    actor="daemon",
                    now=datetime.now(UTC),
                )

        code, out = run("status", "--json")
        assert code == 0
        notes = {p["id"]: p["note"] for p in json.loads(out)["publishing"]}
        assert "gone-daemon" in notes[post_id] and "stopped" in notes[post_id]
        assert "live-daemon" in notes[busy_id] and "lease runs to" in notes[busy_id]
        code, text = run("status")
        assert code == 0 and "Being published (2):" in text


def test_daemon_once_counts_a_post_held_for_lateness_as_needing_a_person(env):
    with LedgerPlatform() as fake:
        account = add_account(env, "news", api_base=fake.base_url)
        late = add_scheduled_post(env, account, "Too late", datetime.now(UTC) - timedelta(hours=2))

        result = CliRunner().invoke(cli, ["daemon", "--once"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert post_row(env, late).state == "held"
    assert "published 0 post(s); 1 need a person" in result.output


def test_send_it_settles_an_unknown_post_and_it_is_sent_without_asking_again(env):
    with LedgerPlatform() as fake:
        post_id = unknown_post(env, fake)
        assert len(fake.posts) == 1  # it did go out, but the platform could not say so

        code, out = run("posts", "resolve", str(post_id), "--send-it")

        assert code == 0, out
        assert post_row(env, post_id).state in ("scheduled", "in_review")


def test_went_out_records_the_link_a_person_gives(env):
    with LedgerPlatform() as fake:
        post_id = unknown_post(env, fake)
        url = fake.posts[0]["url"]

        code, out = run("posts", "resolve", str(post_id), "--went-out", "--url", url)

    assert code == 0, out
    post = post_row(env, post_id)
    assert (post.state, post.remote_url) == ("published", url)


def test_repeat_retract_and_correct_from_the_command_line(env):
    with LedgerPlatform() as fake:
        account = add_account(env, "news", api_base=fake.base_url)
        daemon = Daemon(
            env,
            connector_factory=ledger_connector_factory,
            gate=None,
            frequency=no_frequency_limits,
        )
        out_now = add_scheduled_post(env, account, "Typo here", datetime.now(UTC))
        assert daemon.publisher.publish(out_now).kind == "published"
        future = add_scheduled_post(env, account, "Weekly", datetime.now(UTC) + timedelta(days=1))

        code, text = run("posts", "repeat", str(future), "weekly mon 09:00")
        assert code == 0 and "cron: 0 9 * * mon" in text
        code, text = run("posts", "repeat", str(future), "fortnightly")
        assert code == 1 and "cannot read repeat rule" in text

        code, text = run("posts", "correct", str(out_now), "--text", "No typo", "--reason", "typo")
        assert code == 0, text
        code, text = run("posts", "retract", str(out_now), "--reason", "again")
        assert code == 1 and "already has a correct in progress" in text
        code, text = run("posts", "corrections", str(out_now), "--json")
        (row,) = json.loads(text)
        assert (row["kind"], row["state"]) == ("correct", "requested")


def test_posts_new_with_repeat_starts_a_series_and_a_bad_rule_writes_nothing(gatepost):
    assert gatepost("ada", "accounts", "add", "news", "--platform", "outbox").exit_code == 0
    at = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d 09:00")
    bad = gatepost(
        "ada",
        "posts",
        "new",
        "--account",
        "news",
        "--text",
        "x",
        "--at",
        at,
        "--repeat",
        "fortnightly",
    )
    assert bad.exit_code == 1 and "cannot read repeat rule" in bad.output
    assert json.loads(gatepost("ada", "posts", "list", "--json").output) == []
    made = gatepost(
        "ada",
        "posts",
        "new",
        "--account",
        "news",
        "--text",
        "Library hours",
        "--at",
        at,
        "--repeat",
        "weekly mon 09:00",
        "--json",
    )
    assert made.exit_code == 0, made.output
    post = json.loads(made.output)
    assert post["repeat_rule"] and post["series_id"]
