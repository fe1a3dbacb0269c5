"""`gatepost daemon`, `gatepost status`, and the post actions the daemon carries out.

- ``gatepost daemon`` publishes due posts in the foreground until SIGTERM/SIGINT (one
  log line per event on stderr, ``--log-format json`` for log collectors);
  ``--once`` publishes what is due now and exits (for cron).
- ``gatepost status`` shows the daemons alive (their heartbeats), the next due posts,
  and every post that failed, is held or whose outcome is unknown, with the reason.
- ``gatepost posts retract`` asks the daemon to delete a published post on its platform;
  ``posts correct`` writes the corrected text as a new post through the gate, which the
  daemon uses to edit the original in place or replace it; ``posts repeat`` makes a post
  the first of a recurring series; ``posts corrections`` lists retractions and
  corrections.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, NoReturn, Protocol

import click

from scheduler.views import Actor


class _CommandContext(Protocol):
    """What the `gatepost` group puts in ``ctx.obj`` (tui.cli.Context)."""

    @property
    def store(self) -> Any: ...

    def actor(self) -> Actor: ...


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(1)


# -- logging: one line per event ------------------------------------------------------------


class _TextFormatter(logging.Formatter):
    """``2026-11-26T09:00:00Z published post 12 [news]: published https://...``"""

    def format(self, record: logging.LogRecord) -> str:
        event = getattr(record, "event", None)
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if event is None:
            return f"{stamp} {record.levelname.lower()} {record.getMessage()}"
        where = f" post {event.post_id}" if event.post_id is not None else ""
        account = f" [{event.account}]" if event.account else ""
        url = f" {event.remote_url}" if event.remote_url else ""
        return f"{stamp} {event.kind}{where}{account}: {event.message}{url}"


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: the event's fields, or level and message."""

    def format(self, record: logging.LogRecord) -> str:
        event = getattr(record, "event", None)
        if event is not None:
            return json.dumps(event.to_dict(), ensure_ascii=False)
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        return json.dumps(
            {"at": stamp, "level": record.levelname.lower(), "message": record.getMessage()},
            ensure_ascii=False,
        )


def configure_logging(log_format: str) -> None:
    """Send the daemon's log to stderr, one line per event, as text or JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if log_format == "json" else _TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # APScheduler reports every job run at INFO: our own events say what happened.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


# -- commands ----------------------------------------------------------------------------


@click.command("daemon")
@click.option("--once", is_flag=True, help="Publish what is due now, then exit (for cron).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per event on stderr, as text or JSON.",
)
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True)
@click.pass_obj
def daemon_command(ctx: _CommandContext, once: bool, log_format: str, workers: int) -> None:
    """Publish due posts until stopped (SIGTERM or Ctrl-C finish the post in flight)."""
    from scheduler.daemon import Daemon, DaemonSettings

    configure_logging(log_format)
    daemon = Daemon(ctx.store, settings=DaemonSettings(publish_workers=workers))
    if once:
        results = daemon.run_once()
        # Held (too late), sent back to review, failed or unknown: each waits for someone.
        problems = [r for r in results if r.kind in ("failed", "unknown", "held", "in_review")]
        published = sum(1 for r in results if r.kind == "published")
        logging.getLogger("gatepost.daemon").info(
            "published %d post(s); %d need a person", published, len(problems)
        )
        return
    raise click.exceptions.Exit(daemon.run_forever(exit_process=True))


def _local(moment: datetime | None, tz: str) -> str:
    from scheduler.times import format_local

    return format_local(moment, tz) if moment is not None else ""


@click.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.option("--next", "next_count", type=click.IntRange(0, 500), default=10, show_default=True)
@click.pass_obj
def status_command(ctx: _CommandContext, as_json: bool, next_count: int) -> None:
    """Daemons alive, the next due posts, and posts that need a person."""
    report = status_report(ctx.store, next_count=next_count)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return
    daemons = report["daemons"]
    alive = [d for d in daemons if d["alive"]]
    click.echo(f"Daemons alive: {len(alive)}")
    for d in alive:
        click.echo(
            f"  {d['daemon_id']}  pid {d['pid']} on {d['host']}, last beat "
            f"{d['last_beat']:%H:%M:%S} UTC, {d['published']} published since "
            f"{d['started_at']:%Y-%m-%d %H:%M} UTC"
        )
    if not alive:
        click.echo("  none: due posts wait until `gatepost daemon` runs")
    click.echo("")
    click.echo(f"Next due ({len(report['next'])}):")
    for p in report["next"]:
        click.echo(f"  post {p['id']:>6}  {p['due']:<24} {p['account']:<16} {p['text']}")
    click.echo("")
    in_flight = report["publishing"]
    if in_flight:
        click.echo(f"Being published ({len(in_flight)}):")
        for p in in_flight:
            click.echo(f"  post {p['id']:>6}  {p['account']}: {p['note']}")
        click.echo("")
    attention = report["attention"]
    click.echo(f"Needing a person ({len(attention)}):")
    for p in attention:
        click.echo(f"  post {p['id']:>6}  [{p['state']}] {p['account']}: {p['reason']}")


def status_report(store: Any, *, next_count: int = 10) -> dict[str, Any]:
    """What ``gatepost status`` shows, as plain data (the TUI may use it too)."""
    from scheduler import services
    from scheduler.daemon import daemon_statuses
    from scheduler.models import PostState

    upcoming = services.list_posts(
        store, states=[PostState.SCHEDULED], order_by="scheduled_at", limit=next_count
    )
    stuck = services.list_posts(
        store,
        states=[PostState.FAILED, PostState.HELD, PostState.UNKNOWN],
        order_by="updated_at",
        descending=True,
        limit=500,
    )
    publishing = services.list_posts(
        store, states=[PostState.PUBLISHING], order_by="updated_at", limit=500
    )
    now = store.now()
    in_flight = []
    for post in publishing:
        expires = post.lease_expires_at
        if expires is not None and expires > now:
            note = (
                f"by {post.lease_owner or 'a daemon'}, its lease runs to "
                f"{_local(expires, post.timezone)}"
            )
        else:
            note = (
                f"its daemon ({post.lease_owner or 'unknown'}) stopped while publishing it; "
                "the next daemon running asks the platform whether it went out before "
                "sending anything"
            )
        in_flight.append({"id": post.id, "account": post.account, "note": note})
    next_posts = []
    for post in upcoming:
        first_line = post.text.splitlines()[0] if post.text else ""
        next_posts.append(
            {
                "id": post.id,
                "account": post.account,
                "due": _local(post.due_at, post.timezone),
                "text": first_line[:60],
                "waiting": post.last_error if post.not_before is not None else "",
            }
        )
    return {
        "daemons": [s.__dict__ for s in daemon_statuses(store)],
        "next": next_posts,
        "publishing": in_flight,
        "attention": [
            {
                "id": post.id,
                "state": post.state.value,
                "account": post.account,
                "reason": post.state_reason or post.last_error,
            }
            for post in stuck
        ],
    }


@click.command("retract")
@click.argument("post_id", type=int)
@click.option("--reason", required=True, help="Why it comes down (kept in the audit log).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def retract_command(ctx: _CommandContext, post_id: int, reason: str, as_json: bool) -> None:
    """Delete a published post from its platform (the daemon carries it out)."""
    from scheduler import corrections

    view = corrections.request_retraction(ctx.store, ctx.actor(), post_id, reason=reason)
    if as_json:
        click.echo(json.dumps(view.__dict__, default=str))
        return
    click.echo(
        f"Retraction {view.id} of post {post_id} requested: the daemon deletes it on its "
        "platform and marks it retracted."
    )


@click.command("correct")
@click.argument("post_id", type=int)
@click.option("--text", required=True, help="The corrected text.")
@click.option("--reason", required=True, help="What the correction fixes.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def correct_command(
    ctx: _CommandContext, post_id: int, text: str, reason: str, as_json: bool
) -> None:
    """Correct a published post: edited in place where the platform allows, else replaced."""
    from scheduler import corrections

    view = corrections.request_correction(ctx.store, ctx.actor(), post_id, text=text, reason=reason)
    if as_json:
        click.echo(json.dumps(view.__dict__, default=str))
        return
    click.echo(
        f"Correction {view.id}: the corrected text is post {view.replacement_post_id}, which "
        "goes through the gate; once it is approved the daemon edits or replaces post "
        f"{post_id}."
    )


@click.command("corrections")
@click.argument("post_id", type=int, required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def corrections_command(ctx: _CommandContext, post_id: int | None, as_json: bool) -> None:
    """List retractions and corrections (of one post, when given)."""
    from scheduler import corrections

    rows = corrections.list_corrections(ctx.store, post_id=post_id)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in rows], indent=2, default=str))
        return
    for r in rows:
        extra = f" -> post {r.replacement_post_id}" if r.replacement_post_id else ""
        error = f" ({r.error})" if r.error else ""
        click.echo(f"{r.id:>5}  post {r.post_id}  {r.kind}{extra}  {r.state} {r.method}{error}")


@click.command("repeat")
@click.argument("post_id", type=int)
@click.argument("rule")
@click.pass_obj
def repeat_command(ctx: _CommandContext, post_id: int, rule: str) -> None:
    """Repeat a post by RULE: a cron expression or 'weekly mon 09:00', 'daily 08:30'...

    Times are wall-clock times in the account's time zone, kept across clock changes.
    Each occurrence is created as its own post and goes through the gate.
    """
    from scheduler import recurrence

    parsed = recurrence.set_repeat(ctx.store, ctx.actor(), post_id, rule)
    click.echo(f"Post {post_id} repeats {parsed.description} (cron: {parsed.cron}).")


def register(cli: click.Group, posts: click.Group) -> None:
    """Add these commands to the `gatepost` group and its `posts` group.

    ``posts retract`` replaces the one that only changed the state: a retraction must
    delete the post on its platform, which the daemon does with the same lease, attempt
    and lookup discipline as publishing.
    """
    cli.add_command(daemon_command)
    cli.add_command(status_command)
    posts.add_command(retract_command)
    posts.add_command(correct_command)
    posts.add_command(corrections_command)
    posts.add_command(repeat_command)
