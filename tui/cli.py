"""The `gatepost` command line: the composition root for every command.

It builds the store from the environment (``GATEPOST_DATABASE_URL`` or the SQLite file in
``GATEPOST_DATA_DIR``/the user data directory), works out who is acting, and calls the
scheduler's services. Errors are one line on stderr (``error: ...``) with exit status 1;
usage errors exit with 2. No traceback reaches the terminal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from scheduler import services
from scheduler.errors import GatepostError
from scheduler.store import Store, data_dir, default_url, sqlite_url
from scheduler.views import Actor, Attachment, PostView
from tui.commands.assets import register as register_asset_commands
from tui.commands.check import check_command
from tui.commands.credentials import register as register_credential_commands
from tui.commands.daemon import register as register_daemon_commands

if TYPE_CHECKING:
    from scheduler.daemon import DaemonSettings

DEMO_DATABASE = "demo.sqlite3"
DEMO_OUTBOX = "demo-outbox"


def demo_paths() -> tuple[Path, Path]:
    """Where ``gatepost demo`` keeps its database and its outbox folder."""
    base = data_dir()
    return base / DEMO_DATABASE, base / DEMO_OUTBOX


class Context:
    """What every command needs: the store (opened on first use) and who is acting."""

    def __init__(self, *, as_login: str | None, use_demo: bool) -> None:
        self.as_login = as_login
        self.use_demo = use_demo
        self._store: Store | None = None

    @property
    def url(self) -> str:
        if self.use_demo:
            return sqlite_url(demo_paths()[0])
        return default_url()

    @property
    def store(self) -> Store:
        if self._store is None:
            if self.use_demo and not demo_paths()[0].exists():
                raise GatepostError("there is no demo database yet: run `gatepost demo` first")
            self._store = Store(self.url)
        return self._store

    def actor(self) -> Actor:
        return services.resolve_actor(self.store, self.as_login)

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()


class GatepostGroup(click.Group):
    """A command group that turns the scheduler's errors into one line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GatepostError as exc:
            _fail(exc.message)
        except KeyboardInterrupt:
            _fail("interrupted")
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug: still one line, with a way to see more
            if os.environ.get("GATEPOST_DEBUG"):
                raise
            _fail(f"unexpected {type(exc).__name__}: {exc} (run with GATEPOST_DEBUG=1 for details)")


def _fail(message: str) -> NoReturn:
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    click.echo(f"error: {first}", err=True)
    raise click.exceptions.Exit(1)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


pass_ctx = click.make_pass_decorator(Context)


@click.group(cls=GatepostGroup)
@click.version_option(package_name="gatepost")
@click.option(
    "--as",
    "as_login",
    metavar="LOGIN",
    help="Act as LOGIN (only in a database made by `gatepost demo`).",
)
@click.option("--demo", "use_demo", is_flag=True, help="Use the demo database.")
@click.pass_context
def cli(ctx: click.Context, as_login: str | None, use_demo: bool) -> None:
    """Gatepost: schedule university social-media posts through a compliance gate."""
    context = Context(as_login=as_login, use_demo=use_demo)
    ctx.obj = context
    ctx.call_on_close(context.close)


# -- set-up -----------------------------------------------------------------------------


@cli.command()
@pass_ctx
def init(ctx: Context) -> None:
    """Create the database and make you (your login) its first admin."""
    user = services.init_database(ctx.store)
    click.echo(f"Database ready: {ctx.store.describe()}")
    click.echo(f"{user.login} is an admin.")
    click.echo(
        "Next: add people (gatepost users add), an account (gatepost accounts add), "
        "then open the app: gatepost app"
    )


@cli.command()
@click.option("--fresh", is_flag=True, help="Throw away the demo database and seed it again.")
@click.option(
    "--tui/--no-tui",
    "open_tui",
    default=None,
    help="Open the terminal app on the demo (default: when run in a terminal).",
)
def demo(fresh: bool, open_tui: bool | None) -> None:
    """Seed a demo database (outbox accounts, people, assets, posts in every state)
    and open the terminal app on it, with the publishing daemon running inside."""
    from scheduler.demo import seed_demo

    database, outbox = demo_paths()
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    existed = database.exists()
    store = Store(sqlite_url(database))
    try:
        if existed and services.is_demo(store):
            click.echo(f"Demo database (kept; --fresh starts again): {database}")
        elif existed:
            _fail(f"{database} exists but is not a demo database; move it away first")
        else:
            seed_demo(store, outbox)
            click.echo(f"Seeded a demo database: {database}")
        click.echo(f"Outbox folder (the demo's 'platform'): {outbox}")
        click.echo("")
        click.echo(
            "People: "
            + ", ".join(f"{u.login} ({u.role.value})" for u in services.list_users(store))
        )
        click.echo(
            "Accounts: "
            + ", ".join(f"{a.name} ({a.platform})" for a in services.list_accounts(store))
        )
        counts = services.count_by_state(store)
        click.echo("Posts: " + ", ".join(f"{n} {s.value}" for s, n in counts.items() if n))
        click.echo("")
        click.echo("Try: gatepost --demo posts list")
        click.echo("     gatepost --demo --as bob posts inbox")
        if open_tui is None:
            open_tui = sys.stdin.isatty() and sys.stdout.isatty()
        if open_tui:
            context = click.get_current_context().find_object(Context)
            _open_demo_app(store, context.as_login if context is not None else None)
    finally:
        store.dispose()


def _open_demo_app(store: Store, as_login: str | None) -> None:
    """The terminal app on the demo database, as the demo's author unless `--as` says,
    with the publishing daemon running inside it (in its own threads)."""
    from scheduler.daemon import DaemonSettings
    from scheduler.demo import AUTHOR

    actor = services.resolve_actor(store, as_login or AUTHOR)
    # A quick sync and heartbeat, so the demo shows changes within seconds.
    settings = DaemonSettings(sync_seconds=5.0, heartbeat_seconds=2.0)
    _run_app(store, actor, demo=True, daemon_settings=settings)


def _run_app(
    store: Store, actor: Actor, *, demo: bool, daemon_settings: DaemonSettings | None
) -> None:
    """Run the terminal app as ``actor``; with ``daemon_settings``, a publishing daemon
    runs inside it (in its own threads) until the app closes."""
    import logging

    from textual.logging import TextualHandler

    from scheduler.daemon import Daemon
    from tui.app import GatepostApp

    # The daemon logs a line per event; on the terminal it would write over the app, so
    # its lines go to Textual's log (`textual console` shows them) instead.
    logging.basicConfig(level=logging.INFO, handlers=[TextualHandler()], force=True)
    # APScheduler's own lines (job added, scheduler shut down...) are noise here, and the
    # last of them would land on the terminal after the app has closed.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    factory = None
    if daemon_settings is not None:
        settings = daemon_settings

        def factory(on_event: Any) -> Daemon:
            return Daemon(store, on_event=on_event, settings=settings)

    GatepostApp(store, actor, demo=demo, daemon_factory=factory).run()


@cli.command("app")
@click.option(
    "--daemon/--no-daemon",
    "with_daemon",
    default=False,
    help="Also publish due posts from inside the app (for a one-machine set-up; "
    "normally `gatepost daemon` runs as a service).",
)
@pass_ctx
def app_command(ctx: Context, with_daemon: bool) -> None:
    """Open the terminal app on your database, as you."""
    from scheduler.daemon import DaemonSettings

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        _fail("the app needs a terminal; the other commands work without one")
    actor = ctx.actor()
    _run_app(
        ctx.store,
        actor,
        demo=services.is_demo(ctx.store),
        daemon_settings=DaemonSettings() if with_daemon else None,
    )


@cli.group()
def db() -> None:
    """The database itself."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Bring the database to the newest schema."""
    store = Store(ctx.url, migrate=False)
    try:
        before = store.current_revision()
        after = store.upgrade()
    finally:
        store.dispose()
    if before == after:
        click.echo(f"Already at the newest schema ({after}).")
    else:
        click.echo(f"Upgraded from {before or 'an empty database'} to {after}.")


@db.command("where")
@pass_ctx
def db_where(ctx: Context) -> None:
    """Print which database Gatepost uses."""
    click.echo(ctx.url)


# -- users ------------------------------------------------------------------------------

ROLES = click.Choice(["author", "approver", "admin"])


@cli.group()
def users() -> None:
    """People and their roles (admins)."""


@users.command("add")
@click.argument("login")
@click.option("--role", type=ROLES, default="author", show_default=True)
@click.option("--name", "display_name", default="", help="Display name.")
@pass_ctx
def users_add(ctx: Context, login: str, role: str, display_name: str) -> None:
    """Add a person by their login."""
    user = services.add_user(ctx.store, ctx.actor(), login, role=role, display_name=display_name)
    click.echo(f"Added {user.login} as {user.role.value}.")


@users.command("grant")
@click.argument("login")
@click.argument("role", type=ROLES)
@pass_ctx
def users_grant(ctx: Context, login: str, role: str) -> None:
    """Give a person another role."""
    user = services.grant_role(ctx.store, ctx.actor(), login, role)
    click.echo(f"{user.login} is now {user.role.value}.")


@users.command("deactivate")
@click.argument("login")
@pass_ctx
def users_deactivate(ctx: Context, login: str) -> None:
    """Stop a person from using Gatepost (their history stays)."""
    services.set_user_active(ctx.store, ctx.actor(), login, False)
    click.echo(f"{login} is deactivated.")


@users.command("activate")
@click.argument("login")
@pass_ctx
def users_activate(ctx: Context, login: str) -> None:
    """Let a deactivated person back in."""
    services.set_user_active(ctx.store, ctx.actor(), login, True)
    click.echo(f"{login} is active again.")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def users_list(ctx: Context, as_json: bool) -> None:
    """List people."""
    ctx.actor()
    rows = services.list_users(ctx.store)
    if as_json:
        _echo_json([u.to_dict() for u in rows])
        return
    for u in rows:
        flag = "" if u.active else "  (deactivated)"
        click.echo(f"{u.login:<20} {u.role.value:<9} {u.display_name}{flag}")


# -- accounts ---------------------------------------------------------------------------


def _options(pairs: Sequence[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--option")
        result[key.strip()] = value
    return result


@cli.group()
def accounts() -> None:
    """Social-media accounts (admins connect them)."""


@accounts.command("add")
@click.argument("name")
@click.option("--platform", required=True, help="outbox, x, mastodon, bluesky, linkedin...")
@click.option("--handle", default="")
@click.option("--kind", type=click.Choice(["official", "personal"]), default="official")
@click.option("--timezone", default="Europe/London", show_default=True)
@click.option("--api-base", default=None, help="Override the platform's address.")
@click.option("--option", "option_pairs", multiple=True, metavar="KEY=VALUE")
@click.option("--require-approval/--no-require-approval", default=False)
@click.option("--grace", "grace_minutes", type=click.IntRange(min=0), default=15, show_default=True)
@click.option("--max-per-hour", type=click.IntRange(min=1), default=None)
@click.option("--max-per-day", type=click.IntRange(min=1), default=None)
@pass_ctx
def accounts_add(
    ctx: Context,
    name: str,
    platform: str,
    handle: str,
    kind: str,
    timezone: str,
    api_base: str | None,
    option_pairs: tuple[str, ...],
    require_approval: bool,
    grace_minutes: int,
    max_per_hour: int | None,
    max_per_day: int | None,
) -> None:
    """Connect an account."""
    account = services.add_account(
        ctx.store,
        ctx.actor(),
        name,
        platform=platform,
        handle=handle,
        kind=kind,
        timezone=timezone,
        api_base=api_base,
        options=_options(option_pairs),
        require_approval=require_approval,
        grace_minutes=grace_minutes,
        max_per_hour=max_per_hour,
        max_per_day=max_per_day,
    )
    click.echo(f"Added account {account.name} ({account.platform}).")


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def accounts_list(ctx: Context, as_json: bool) -> None:
    """List accounts."""
    ctx.actor()
    rows = services.list_accounts(ctx.store)
    if as_json:
        _echo_json([a.to_dict() for a in rows])
        return
    for a in rows:
        flag = "" if a.active else "  (inactive)"
        click.echo(f"{a.name:<24} {a.platform:<10} {a.kind:<9} {a.timezone}{flag}")


@accounts.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def accounts_show(ctx: Context, name: str, as_json: bool) -> None:
    """Show one account's settings."""
    ctx.actor()
    account = services.get_account(ctx.store, name)
    if as_json:
        _echo_json(account.to_dict())
        return
    for key, value in account.to_dict().items():
        click.echo(f"{key}: {value if value is not None else ''}")


@accounts.command("set")
@click.argument("name")
@click.option("--rename", "new_name", default=None, help="A new name for the account.")
@click.option("--handle", default=None)
@click.option("--kind", type=click.Choice(["official", "personal"]), default=None)
@click.option("--timezone", default=None)
@click.option("--api-base", default=None, help="Override the platform's address ('' to clear).")
@click.option("--option", "option_pairs", multiple=True, metavar="KEY=VALUE", help="Replace.")
@click.option("--require-approval/--no-require-approval", default=None)
@click.option("--grace", "grace_minutes", type=click.IntRange(min=0), default=None)
@click.option("--max-per-hour", type=click.IntRange(min=0), default=None, help="0: no limit.")
@click.option("--max-per-day", type=click.IntRange(min=0), default=None, help="0: no limit.")
@click.option("--active/--inactive", default=None)
@pass_ctx
def accounts_set(
    ctx: Context,
    name: str,
    new_name: str | None,
    handle: str | None,
    kind: str | None,
    timezone: str | None,
    api_base: str | None,
    option_pairs: tuple[str, ...],
    require_approval: bool | None,
    grace_minutes: int | None,
    max_per_hour: int | None,
    max_per_day: int | None,
    active: bool | None,
) -> None:
    """Change an account's settings (only those given)."""
    changes: dict[str, Any] = {
        key: value
        for key, value in {
            "name": new_name,
            "handle": handle,
            "kind": kind,
            "timezone": timezone,
            "require_approval": require_approval,
            "grace_minutes": grace_minutes,
            "active": active,
        }.items()
        if value is not None
    }
    if api_base is not None:
        changes["api_base"] = api_base or None
    if option_pairs:
        changes["options"] = _options(option_pairs)
    for key, limit in (("max_per_hour", max_per_hour), ("max_per_day", max_per_day)):
        if limit is not None:
            changes[key] = limit or None
    if not changes:
        raise click.UsageError("say what to change (see --help)")
    account = services.update_account(ctx.store, ctx.actor(), name, **changes)
    click.echo(f"Updated account {account.name}.")


# `accounts connect` and `accounts set-credentials` (authorisation flows, credential store)
register_credential_commands(accounts)


# -- posts ------------------------------------------------------------------------------


def _attachments(values: Sequence[str]) -> list[Attachment]:
    result = []
    for value in values:
        ident, _, alt = value.partition(":")
        if not ident.strip().isdigit():
            raise click.BadParameter(f"{value!r} is not ASSET_ID[:ALT TEXT]", param_hint="--asset")
        result.append(Attachment(asset_id=int(ident), alt=alt))
    return result


def _show_post(post: PostView) -> None:
    click.echo(f"post {post.id} [{post.state.value}] on {post.account} ({post.platform})")
    click.echo(f"  author: {post.author}   version: {post.version}")
    click.echo(f"  time: {post.scheduled_local or '(not set)'}")
    if post.state_reason:
        click.echo(f"  reason: {post.state_reason}")
    approval = post.approval
    if approval is None:
        click.echo("  approval: none")
    else:
        who = "the gate (nothing to hold back)" if approval.automatic else approval.approver
        status = post.approval_status
        extra = f" — {approval.void_reason}" if approval.void and approval.void_reason else ""
        click.echo(f"  approval: {status} (by {who} at {approval.at:%Y-%m-%d %H:%M} UTC){extra}")
    if post.remote_url:
        click.echo(f"  published: {post.remote_url}")
    if post.last_error:
        click.echo(f"  last error: {post.last_error}")
    for a in post.attachments:
        click.echo(f"  image {a.position + 1}: asset {a.asset_id} {a.title!r} alt={a.alt!r}")
    for link in post.links:
        click.echo(f"  link: {link}")
    click.echo("")
    for line in post.text.splitlines() or [""]:
        click.echo(f"  | {line}")
    if post.findings:
        click.echo("")
        for f in post.findings:
            state = f"signed off by {f.signed_off_by}: {f.sign_off_comment}" if f.signed_off else ""
            where = f" at {f.span[0]}-{f.span[1]}" if f.span else ""
            click.echo(f"  finding {f.id} [{f.severity}] {f.rule}{where}: {f.message} {state}")
            if f.clause:
                click.echo(f"      ({f.clause})")


def _post_result(post: PostView, as_json: bool, message: str) -> None:
    if as_json:
        _echo_json(post.to_dict())
    else:
        click.echo(message)


def _post_line(p: PostView) -> str:
    text = " ".join(p.text.split())
    if len(text) > 60:
        text = text[:59] + "…"
    flag = f" !{p.open_findings}" if p.open_findings else ""
    when = p.scheduled_local or "-"
    return f"{p.id:>6}  {p.state.value:<10} {when:<22} {p.account:<16} {text}{flag}"


AT_HELP = "Time in the account's zone: YYYY-MM-DD HH:MM (or with an offset, e.g. +01:00)."
FOLD_HELP = "For a time the clocks going back make happen twice: 0 = the first, 1 = the second."


@cli.group()
def posts() -> None:
    """Write, review and schedule posts."""


@posts.command("new")
@click.option("--account", required=True)
@click.option("--text", default="")
@click.option("--at", default=None, help=AT_HELP)
@click.option("--fold", type=click.IntRange(0, 1), default=None, help=FOLD_HELP)
@click.option("--link", "links", multiple=True)
@click.option("--asset", "assets", multiple=True, metavar="ID[:ALT]")
@click.option(
    "--repeat",
    "repeat_rule",
    default=None,
    metavar="RULE",
    help="Repeat it: 'weekly mon 09:00', 'daily 08:30' or a cron expression, "
    "wall-clock in the account's zone; each occurrence goes through the gate.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_new(
    ctx: Context,
    account: str,
    text: str,
    at: str | None,
    fold: int | None,
    links: tuple[str, ...],
    assets: tuple[str, ...],
    repeat_rule: str | None,
    as_json: bool,
) -> None:
    """Write a new draft."""
    from scheduler import recurrence

    if repeat_rule is not None:
        recurrence.parse_repeat(repeat_rule)  # a bad rule is refused before anything is written
    post = services.create_post(
        ctx.store,
        ctx.actor(),
        account=account,
        text=text,
        at=at,
        fold=fold,
        links=links,
        attachments=_attachments(assets),
    )
    message = f"Created post {post.id} (draft)."
    if repeat_rule is not None:
        rule = recurrence.set_repeat(ctx.store, ctx.actor(), post.id, repeat_rule)
        post = services.get_post(ctx.store, post.id)
        message = f"Created post {post.id} (draft), repeating {rule.description}."
    _post_result(post, as_json, message)


@posts.command("edit")
@click.argument("post_id", type=int)
@click.option("--text", default=None)
@click.option("--at", default=None, help=AT_HELP)
@click.option("--clear-time", is_flag=True, help="Remove the scheduled time.")
@click.option("--fold", type=click.IntRange(0, 1), default=None, help=FOLD_HELP)
@click.option("--link", "links", multiple=True, help="Replace the links (repeat).")
@click.option("--asset", "assets", multiple=True, metavar="ID[:ALT]", help="Replace the images.")
@click.option("--no-assets", is_flag=True, help="Remove every image.")
@click.option("--account", default=None)
@click.option("--version", "expected_version", type=int, default=None, help="The version you read.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_edit(
    ctx: Context,
    post_id: int,
    text: str | None,
    at: str | None,
    clear_time: bool,
    fold: int | None,
    links: tuple[str, ...],
    assets: tuple[str, ...],
    no_assets: bool,
    account: str | None,
    expected_version: int | None,
    as_json: bool,
) -> None:
    """Change a post. An approved or submitted post goes back to draft."""
    kwargs: dict[str, Any] = {}
    if at is not None:
        kwargs["at"] = at
    elif clear_time:
        kwargs["at"] = None
    if links:
        kwargs["links"] = links
    if assets or no_assets:
        kwargs["attachments"] = _attachments(assets)
    post = services.edit_post(
        ctx.store,
        ctx.actor(),
        post_id,
        expected_version=expected_version,
        text=text,
        fold=fold,
        account=account,
        **kwargs,
    )
    _post_result(post, as_json, f"Post {post.id} is {post.state.value} (version {post.version}).")


@posts.command("show")
@click.argument("post_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_show(ctx: Context, post_id: int, as_json: bool) -> None:
    """Show a post, its approval and its findings."""
    ctx.actor()
    post = services.get_post(ctx.store, post_id)
    if as_json:
        _echo_json(post.to_dict())
    else:
        _show_post(post)


@posts.command("list")
@click.option("--state", "states", multiple=True, help="Only this state (repeat for more).")
@click.option("--account", default=None)
@click.option("--search", default=None, help="Only posts whose text contains this.")
@click.option("--author", default=None)
@click.option(
    "--sort", "order_by", type=click.Choice(list(services.POST_SORT_KEYS)), default="scheduled_at"
)
@click.option("--desc", "descending", is_flag=True)
@click.option("--limit", type=click.IntRange(1, services.MAX_PAGE), default=100, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_list(
    ctx: Context,
    states: tuple[str, ...],
    account: str | None,
    search: str | None,
    author: str | None,
    order_by: str,
    descending: bool,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """List posts (the queue)."""
    ctx.actor()
    rows = services.list_posts(
        ctx.store,
        states=states or None,
        account=account,
        text=search,
        author=author,
        order_by=order_by,
        descending=descending,
        offset=offset,
        limit=limit,
    )
    if as_json:
        _echo_json([p.to_dict() for p in rows])
        return
    for p in rows:
        click.echo(_post_line(p))


@posts.command("inbox")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_inbox(ctx: Context, as_json: bool) -> None:
    """Posts waiting for your review."""
    rows = services.review_inbox(ctx.store, ctx.actor())
    if as_json:
        _echo_json([p.to_dict() for p in rows])
        return
    for p in rows:
        click.echo(_post_line(p))


@posts.command("submit")
@click.argument("post_id", type=int)
@click.option("--version", "expected_version", type=int, default=None, help="The version you read.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_submit(ctx: Context, post_id: int, expected_version: int | None, as_json: bool) -> None:
    """Send a draft through the gate."""
    post = services.submit_post(ctx.store, ctx.actor(), post_id, expected_version=expected_version)
    message = f"Post {post.id} is {post.state.value}."
    if post.open_findings:
        message += f" {post.open_findings} finding(s) need an approver: see `posts show {post.id}`."
    _post_result(post, as_json, message)


@posts.command("approve")
@click.argument("post_id", type=int)
@click.option("--comment", default="")
@click.option("--version", "expected_version", type=int, default=None, help="The version you read.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_approve(
    ctx: Context, post_id: int, comment: str, expected_version: int | None, as_json: bool
) -> None:
    """Approve a post in review (not your own)."""
    post = services.approve_post(
        ctx.store, ctx.actor(), post_id, comment=comment, expected_version=expected_version
    )
    _post_result(post, as_json, f"Approved post {post.id}: it is {post.state.value}.")


@posts.command("reject")
@click.argument("post_id", type=int)
@click.option("--comment", required=True, help="Why it is sent back.")
@click.option("--version", "expected_version", type=int, default=None, help="The version you read.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_reject(
    ctx: Context, post_id: int, comment: str, expected_version: int | None, as_json: bool
) -> None:
    """Send a post in review back to its author as a draft."""
    post = services.reject_post(
        ctx.store, ctx.actor(), post_id, comment=comment, expected_version=expected_version
    )
    _post_result(post, as_json, f"Sent post {post.id} back: it is {post.state.value}.")


@posts.command("cancel")
@click.argument("post_id", type=int)
@click.option("--reason", default="")
@click.option("--version", "expected_version", type=int, default=None, help="The version you read.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_cancel(
    ctx: Context, post_id: int, reason: str, expected_version: int | None, as_json: bool
) -> None:
    """Cancel a post that has not gone out."""
    post = services.cancel_post(
        ctx.store, ctx.actor(), post_id, reason=reason, expected_version=expected_version
    )
    _post_result(post, as_json, f"Cancelled post {post.id}.")


@posts.command("schedule")
@click.argument("post_id", type=int)
@click.option("--at", required=True, help=AT_HELP)
@click.option("--fold", type=click.IntRange(0, 1), default=None, help=FOLD_HELP)
@click.option("--version", "expected_version", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_schedule(
    ctx: Context,
    post_id: int,
    at: str,
    fold: int | None,
    expected_version: int | None,
    as_json: bool,
) -> None:
    """Set a post's time (an approved post goes back to draft)."""
    post = services.schedule_post(
        ctx.store, ctx.actor(), post_id, at, fold=fold, expected_version=expected_version
    )
    _post_result(
        post, as_json, f"Post {post.id} is set for {post.scheduled_local} ({post.state.value})."
    )


@posts.command("sign-off")
@click.argument("post_id", type=int)
@click.argument("finding_id", type=int)
@click.option("--comment", required=True, help="Why the finding is acceptable.")
@pass_ctx
def posts_sign_off(ctx: Context, post_id: int, finding_id: int, comment: str) -> None:
    """Sign off one finding of a post in review."""
    finding = services.sign_off_finding(
        ctx.store, ctx.actor(), post_id, finding_id, comment=comment
    )
    click.echo(f"Signed off finding {finding.id} ({finding.rule}) on post {post_id}.")


@posts.command("retry")
@click.argument("post_id", type=int)
@click.option("--at", default=None, help=AT_HELP + " Default: now.")
@click.option("--fold", type=click.IntRange(0, 1), default=None, help=FOLD_HELP)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_retry(
    ctx: Context, post_id: int, at: str | None, fold: int | None, as_json: bool
) -> None:
    """Try a failed post again."""
    post = services.retry_post(ctx.store, ctx.actor(), post_id, at=at, fold=fold)
    _post_result(post, as_json, f"Post {post.id} is {post.state.value}.")


@posts.command("confirm")
@click.argument("post_id", type=int)
@click.option("--at", default=None, help=AT_HELP + " Default: now.")
@click.option("--fold", type=click.IntRange(0, 1), default=None, help=FOLD_HELP)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_confirm(
    ctx: Context, post_id: int, at: str | None, fold: int | None, as_json: bool
) -> None:
    """Send a post that was held because it missed its time."""
    post = services.confirm_held(ctx.store, ctx.actor(), post_id, at=at, fold=fold)
    _post_result(post, as_json, f"Post {post.id} is {post.state.value}.")


@posts.command("resolve")
@click.argument("post_id", type=int)
@click.option("--went-out", "went_out", flag_value=True, default=None, help="It was published.")
@click.option("--resend", "went_out", flag_value=False, help="It was not published: send it.")
@click.option("--send-it", "went_out", flag_value=False, help="The same as --resend.")
@click.option("--url", default=None, help="The link of the published post (with --went-out).")
@click.option("--at", default=None, help=AT_HELP + " Default: now (with --resend).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def posts_resolve(
    ctx: Context,
    post_id: int,
    went_out: bool | None,
    url: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Settle a post whose outcome is unknown."""
    if went_out is None:
        raise click.UsageError("say --went-out (with --url) or --resend")
    post = services.resolve_unknown(
        ctx.store, ctx.actor(), post_id, went_out=went_out, remote_url=url, at=at
    )
    _post_result(post, as_json, f"Post {post.id} is {post.state.value}.")


# -- policy -----------------------------------------------------------------------------


@cli.group()
def policy() -> None:
    """Which policy file the gate uses."""


@policy.command("show")
@pass_ctx
def policy_show(ctx: Context) -> None:
    """Print the policy file in force."""
    ctx.actor()
    path = services.get_policy_path(ctx.store)
    click.echo(path or "the shipped default (compliance/policy.toml)")


@policy.command("use")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, resolve_path=True))
@pass_ctx
def policy_use(ctx: Context, path: str) -> None:
    """Use an edited copy of the policy for every check from now on (admins)."""
    services.set_policy_path(ctx.store, ctx.actor(), path)
    click.echo(f"The gate now uses {path}.")


@policy.command("reset")
@pass_ctx
def policy_reset(ctx: Context) -> None:
    """Go back to the shipped policy (admins)."""
    services.set_policy_path(ctx.store, ctx.actor(), None)
    click.echo("The gate now uses the shipped policy.")


# -- audit ------------------------------------------------------------------------------


@cli.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def audit_verify(ctx: Context, as_json: bool) -> None:
    """Check that no audit event was edited, removed or reordered."""
    ctx.actor()
    report = services.verify_audit(ctx.store)
    if as_json:
        _echo_json(report.to_dict())
        if not report.ok:
            raise click.exceptions.Exit(1)
        return
    if not report.ok:
        _fail(report.problem)
    click.echo(f"Audit log intact: {report.events} events.")


@audit.command("log")
@click.option("--subject", default=None, help="e.g. post:12, user:bob, account:1")
@click.option("--post", "post_id", type=int, default=None)
@click.option("--actor", default=None)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def audit_log(
    ctx: Context,
    subject: str | None,
    post_id: int | None,
    actor: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show audit events, newest first."""
    ctx.actor()
    if post_id is not None:
        subject = f"post:{post_id}"
    rows = services.list_audit(ctx.store, subject=subject, actor=actor, limit=limit)
    if as_json:
        _echo_json([e.to_dict() for e in rows])
        return
    for e in rows:
        change = ""
        if "state" in e.before or "state" in e.after:
            change = f" {e.before.get('state', '')}->{e.after.get('state', '')}"
        click.echo(
            f"{e.seq:>6}  {e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<12} {e.action:<20} "
            f"{e.subject}{change}"
        )


cli.add_command(check_command)


# `assets add|approve|reject|revoke|list|show`: the asset library
register_asset_commands(cli)

# `daemon`, `status`, and the post actions the daemon carries out (retract, correct, repeat)
register_daemon_commands(cli, posts)


def main() -> None:
    """The `gatepost` console script."""
    cli(prog_name="gatepost")


if __name__ == "__main__":  # pragma: no cover
    main()
