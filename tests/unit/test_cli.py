"""The `gatepost` command line: in-process with Click's runner, and as a real program.

The walk-through is the one the README shows: a new database, an author who cannot
approve, an approver who can, an edit that voids the approval, and an audit log that
names the row someone changed with the sqlite3 shell.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result

from scheduler.times import last_sunday

GATEPOST = str(Path(sys.executable).parent / "gatepost")


def _env(data_dir: Path, login: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GATEPOST_DATABASE_URL"}
    # getpass.getuser() reads these first: each command runs as that OS login.
    env.update({"GATEPOST_DATA_DIR": str(data_dir), "LOGNAME": login, "USER": login})
    return env


def _future_year() -> int:
    return datetime.now(UTC).year + 1


class Shell:
    """Runs `gatepost` as a separate program, as a given login."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def __call__(self, login: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GATEPOST, *args],
            env=_env(self.data_dir, login),
            capture_output=True,
            text=True,
            timeout=120,
        )


def _one_line_error(result: subprocess.CompletedProcess[str] | Result) -> str:
    stderr = result.stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr
    return lines[0]


def test_walk_through_from_a_shell(tmp_path: Path) -> None:
    run = Shell(tmp_path)
    year = _future_year()
    at = f"{year}-06-01 09:00"

    done = run("ada", "init")
    assert done.returncode == 0, done.stderr
    assert "ada is an admin" in done.stdout
    assert "gatepost app" in done.stdout  # what to do next
    assert run("ada", "users", "add", "alice", "--role", "author").returncode == 0
    assert run("ada", "users", "add", "bob", "--role", "approver").returncode == 0
    added = run(
        "ada",
        "accounts",
        "add",
        "news",
        "--platform",
        "outbox",
        "--option",
        f"dir={tmp_path / 'outbox'}",
        "--require-approval",
    )
    assert added.returncode == 0, added.stderr

    created = run("alice", "posts", "new", "--account", "news", "--text", "Open day!", "--at", at)
    assert created.returncode == 0, created.stderr
    assert "Created post 1" in created.stdout
    submitted = run("alice", "posts", "submit", "1")
    assert submitted.returncode == 0, submitted.stderr
    assert "in_review" in submitted.stdout

    refused = run("alice", "posts", "approve", "1")
    assert refused.returncode == 1
    assert "only approvers can approve" in _one_line_error(refused)

    approved = run("bob", "posts", "approve", "1", "--comment", "fine")
    assert approved.returncode == 0, approved.stderr
    assert "scheduled" in approved.stdout

    edited = run("alice", "posts", "edit", "1", "--text", "Open day on Sunday!")
    assert edited.returncode == 0, edited.stderr
    shown = run("alice", "posts", "show", "1", "--json")
    post = json.loads(shown.stdout)
    assert post["state"] == "draft"
    assert post["approval"]["void"] is True
    assert post["approval_status"] == "void"

    intact = run("ada", "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert "intact" in intact.stdout

    database = tmp_path / "gatepost.sqlite3"
    with sqlite3.connect(database) as conn:
        (seq,) = conn.execute(
            "SELECT seq FROM audit_events WHERE action = 'post.approve'"
        ).fetchone()
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = ?", (seq,))
    broken = run("ada", "audit", "verify")
    assert broken.returncode == 1
    line = _one_line_error(broken)
    assert f"audit event {seq} (post.approve on post:1 by mallory" in line

    # Clock changes, as a real program: the spring gap and an unresolved autumn hour.
    spring = last_sunday(year, 3)
    gap = run("alice", "posts", "new", "--account", "news", "--at", f"{spring:%Y-%m-%d} 01:30")
    assert gap.returncode == 1
    assert "clock change" in _one_line_error(gap)
    autumn = last_sunday(year, 10)
    twice = run("alice", "posts", "new", "--account", "news", "--at", f"{autumn:%Y-%m-%d} 01:30")
    assert twice.returncode == 1
    assert "happens twice" in _one_line_error(twice)

    usage = run("ada", "posts", "new")  # --account is required
    assert usage.returncode == 2
    assert "Missing option '--account'" in usage.stderr
    assert "Traceback" not in usage.stderr
    missing = run("ada", "posts", "show", "42")
    assert missing.returncode == 1
    assert _one_line_error(missing) == "error: no post 42"


# -- in-process ---------------------------------------------------------------------------


def test_as_is_refused_outside_a_demo_database(gatepost) -> None:  # type: ignore[no-untyped-def]
    result = gatepost("ada", "--as", "bob", "posts", "list")
    assert result.exit_code == 1
    assert "--as works only in a demo database" in result.stderr


def test_users_and_roles(gatepost) -> None:  # type: ignore[no-untyped-def]
    assert gatepost("ada", "users", "add", "bob").exit_code == 0
    assert gatepost("ada", "users", "grant", "bob", "approver").exit_code == 0
    listed = json.loads(gatepost("ada", "users", "list", "--json").stdout)
    assert {(u["login"], u["role"]) for u in listed} == {("ada", "admin"), ("bob", "approver")}
    # Only admins manage people.
    denied = gatepost("bob", "users", "add", "mallory", "--role", "admin")
    assert denied.exit_code == 1
    assert "only admins can add users" in denied.stderr
    # The last admin cannot step down.
    last = gatepost("ada", "users", "grant", "ada", "author")
    assert last.exit_code == 1
    assert "last admin" in last.stderr
    assert gatepost("ada", "users", "grant", "carl", "author").exit_code == 1


def test_accounts_add_list_show(gatepost) -> None:  # type: ignore[no-untyped-def]
    added = gatepost(
        "ada",
        "accounts",
        "add",
        "research",
        "--platform",
        "mastodon",
        "--handle",
        "@research@example.social",
        "--api-base",
        "http://127.0.0.1:9",
        "--max-per-hour",
        "3",
    )
    assert added.exit_code == 0, added.output
    shown = json.loads(gatepost("ada", "accounts", "show", "research", "--json").stdout)
    assert shown["platform"] == "mastodon"
    assert shown["timezone"] == "Europe/London"
    assert shown["grace_minutes"] == 15
    assert shown["max_per_hour"] == 3
    listed = gatepost("ada", "accounts", "list")
    assert "research" in listed.stdout
    unknown = gatepost("ada", "accounts", "add", "odd", "--platform", "myspace")
    assert unknown.exit_code == 1
    assert "unknown platform 'myspace'" in unknown.stderr
    zone = gatepost(
        "ada", "accounts", "add", "odd", "--platform", "outbox", "--timezone", "Mars/Base"
    )
    assert zone.exit_code == 1
    assert "unknown time zone" in zone.stderr
    dup = gatepost("ada", "accounts", "add", "research", "--platform", "outbox")
    assert dup.exit_code == 1
    assert "already exists" in dup.stderr


def test_posts_lifecycle_and_listing(gatepost) -> None:  # type: ignore[no-untyped-def]
    year = _future_year()
    gatepost("ada", "users", "add", "alice")
    gatepost("ada", "users", "add", "bob", "--role", "approver")
    gatepost("ada", "accounts", "add", "news", "--platform", "outbox")
    made = gatepost(
        "alice", "posts", "new", "--account", "news", "--text", "Email me: a.b@example.ac.uk",
        "--at", f"{year}-05-01 10:00",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    submitted = gatepost("alice", "posts", "submit", "1")
    assert "in_review" in submitted.stdout and "finding" in submitted.stdout
    post = json.loads(gatepost("bob", "posts", "show", "1", "--json").stdout)
    finding = post["findings"][0]
    assert finding["rule"] == "personal_data"
    assert finding["severity"] == "review"
    early = gatepost("bob", "posts", "approve", "1")
    assert early.exit_code == 1
    assert "not yet signed off" in early.stderr
    no_comment = gatepost("bob", "posts", "sign-off", "1", str(finding["id"]))
    assert no_comment.exit_code == 2  # --comment is required
    signed = gatepost(
        "bob", "posts", "sign-off", "1", str(finding["id"]), "--comment", "public address"
    )
    assert signed.exit_code == 0, signed.output
    assert gatepost("bob", "posts", "approve", "1").exit_code == 0
    inbox = gatepost("bob", "posts", "inbox", "--json")
    assert json.loads(inbox.stdout) == []
    listed = json.loads(gatepost("bob", "posts", "list", "--state", "scheduled", "--json").stdout)
    assert [p["id"] for p in listed] == [1]
    assert listed[0]["scheduled_local"] == f"{year}-05-01 10:00 BST"
    stale = gatepost("alice", "posts", "edit", "1", "--text", "x", "--version", "1")
    assert stale.exit_code == 1
    assert "changed since you read it" in stale.stderr
    cancelled = gatepost("alice", "posts", "cancel", "1", "--reason", "not needed")
    assert cancelled.exit_code == 0
    again = gatepost("alice", "posts", "cancel", "1")
    assert again.exit_code == 1
    assert "post 1 is cancelled" in again.stderr
    log = json.loads(gatepost("ada", "audit", "log", "--post", "1", "--json").stdout)
    assert [e["action"] for e in log][:2] == ["post.cancel", "post.approve"]


def test_db_upgrade_is_idempotent(gatepost) -> None:  # type: ignore[no-untyped-def]
    result = gatepost("ada", "db", "upgrade")
    assert result.exit_code == 0
    assert "Already at the newest schema" in result.stdout


def test_demo_seeds_every_state_and_allows_as(gatepost, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seeded = gatepost("ada", "demo")
    assert seeded.exit_code == 0, seeded.output
    assert str(tmp_path / "demo.sqlite3") in seeded.stdout
    for state in ("draft", "in_review", "scheduled", "publishing", "published", "failed",
                  "unknown", "held", "cancelled", "retracted"):  # fmt: skip
        assert f" {state}" in seeded.stdout
    inbox = gatepost("ada", "--demo", "--as", "bob", "posts", "inbox", "--json")
    assert inbox.exit_code == 0, inbox.output
    assert json.loads(inbox.stdout)
    # alice may not approve, even in the demo.
    review_id = json.loads(inbox.stdout)[0]["id"]
    denied = gatepost("ada", "--demo", "--as", "alice", "posts", "approve", str(review_id))
    assert denied.exit_code == 1
    assert gatepost("ada", "--demo", "audit", "verify").exit_code == 0
    kept = gatepost("ada", "demo")
    assert "kept" in kept.stdout


def test_spring_gap_and_autumn_ambiguity(gatepost) -> None:  # type: ignore[no-untyped-def]
    gatepost(
        "ada", "accounts", "add", "news", "--platform", "outbox", "--timezone", "Europe/London"
    )
    year = _future_year()
    spring = last_sunday(year, 3)
    gap = gatepost("ada", "posts", "new", "--account", "news", "--at", f"{spring:%Y-%m-%d} 01:30")
    assert gap.exit_code == 1
    line = _one_line_error(gap)
    assert "does not exist in Europe/London" in line and "clock change" in line

    autumn = last_sunday(year, 10)
    when = f"{autumn:%Y-%m-%d} 01:30"
    ambiguous = gatepost("ada", "posts", "new", "--account", "news", "--at", when)
    assert ambiguous.exit_code == 1
    assert "happens twice" in _one_line_error(ambiguous)
    second = gatepost(
        "ada", "posts", "new", "--account", "news", "--at", when, "--fold", "1", "--json"
    )
    assert second.exit_code == 0, second.output
    scheduled = datetime.fromisoformat(json.loads(second.stdout)["scheduled_at"])
    assert scheduled == datetime(autumn.year, autumn.month, autumn.day, 1, 30, tzinfo=UTC)


def test_a_stranger_is_told_how_to_get_in(gatepost) -> None:  # type: ignore[no-untyped-def]
    stranger = gatepost("eve", "posts", "list")
    assert stranger.exit_code == 1
    assert "'eve' is not a Gatepost user" in _one_line_error(stranger)


def test_accounts_set_changes_only_what_is_given(gatepost) -> None:  # type: ignore[no-untyped-def]
    gatepost("ada", "accounts", "add", "news", "--platform", "outbox", "--max-per-day", "5")
    changed = gatepost(
        "ada", "accounts", "set", "news", "--require-approval", "--grace", "30",
        "--max-per-day", "0", "--timezone", "Europe/Dublin",
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    shown = json.loads(gatepost("ada", "accounts", "show", "news", "--json").stdout)
    assert shown["require_approval"] is True
    assert shown["grace_minutes"] == 30
    assert shown["max_per_day"] is None  # 0 lifts the limit
    assert shown["timezone"] == "Europe/Dublin"
    assert shown["platform"] == "outbox"  # untouched
    nothing = gatepost("ada", "accounts", "set", "news")
    assert nothing.exit_code == 2
    bad = gatepost("ada", "accounts", "set", "news", "--timezone", "Nowhere/Land")
    assert bad.exit_code == 1 and "unknown time zone" in bad.stderr
    log = json.loads(gatepost("ada", "audit", "log", "--subject", "account:1", "--json").stdout)
    assert log[0]["action"] == "account.update"
    assert log[0]["before"]["grace_minutes"] == 15


def test_policy_use_show_reset(gatepost, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shipped = Path(__file__).parents[2] / "compliance" / "policy.toml"
    ours = tmp_path / "our-policy.toml"
    ours.write_text(shipped.read_text())
    assert "shipped default" in gatepost("ada", "policy", "show").stdout
    assert gatepost("ada", "policy", "use", str(ours)).exit_code == 0
    assert gatepost("ada", "policy", "show").stdout.strip() == str(ours)
    broken = tmp_path / "broken.toml"
    broken.write_text("this is [not toml")
    refused = gatepost("ada", "policy", "use", str(broken))
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"error: cannot use {broken} as the policy")
    assert gatepost("ada", "policy", "reset").exit_code == 0
    assert "shipped default" in gatepost("ada", "policy", "show").stdout


def test_even_a_bug_is_one_line(gatepost, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from scheduler import services

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(services, "list_users", broken)
    result = gatepost("ada", "users", "list")
    assert result.exit_code == 1
    line = _one_line_error(result)
    assert "unexpected RuntimeError: something nobody expected" in line
    assert "GATEPOST_DEBUG=1" in line


def test_a_locked_database_is_a_one_line_error(gatepost, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Someone holds the write lock far longer than the busy timeout allows.
    import sqlite3 as sqlite

    from scheduler import store as store_module

    holder = sqlite.connect(tmp_path / "gatepost.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    original = store_module.BUSY_TIMEOUT_MS
    store_module.BUSY_TIMEOUT_MS = 200
    try:
        result = gatepost("ada", "users", "add", "zoe")
    finally:
        store_module.BUSY_TIMEOUT_MS = original
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert "database is locked" in _one_line_error(result)
