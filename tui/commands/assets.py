"""`gatepost assets`: the asset library — add pictures and logos, approve, reject, revoke.

Anyone may add a file (it starts ``pending``); only admins change its permission. Adding a
file that looks like a registered logo or picture says so, because the gate will treat it
as that asset whatever its file name.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import click

from scheduler import services
from scheduler.errors import InvalidInput
from scheduler.store import Store
from scheduler.times import DEFAULT_TIMEZONE, format_local, local_to_utc, parse_time
from scheduler.views import Actor, AssetView


class _CommandContext(Protocol):
    """What the `gatepost` group puts in ``ctx.obj`` (tui.cli.Context)."""

    @property
    def store(self) -> Store: ...

    def actor(self) -> Actor: ...


def _ctx() -> _CommandContext:
    obj: Any = click.get_current_context().obj
    return obj  # type: ignore[no-any-return]


def _moment(text: str | None, what: str) -> datetime | None:
    """A date (midnight) or time in Europe/London, as UTC."""
    if not text:
        return None
    cleaned = text.strip()
    if len(cleaned) == 10:
        cleaned += " 00:00"
    try:
        return local_to_utc(parse_time(cleaned), DEFAULT_TIMEZONE, fold=0)
    except InvalidInput as exc:
        raise InvalidInput(f"{what}: {exc.message}") from exc


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _show(asset: AssetView) -> None:
    click.echo(f"asset {asset.id} [{asset.permission}] {asset.kind}: {asset.title}")
    click.echo(f"  file: {asset.filename} ({asset.mime}, {asset.size} bytes)")
    click.echo(f"  sha256: {asset.content_hash}")
    click.echo(f"  owner: {asset.owner or '-'}   rights: {asset.rights or '-'}")
    if asset.licence:
        click.echo(f"  licence: {asset.licence}")
    if asset.valid_from or asset.valid_until:
        start = format_local(asset.valid_from, DEFAULT_TIMEZONE) or "any time"
        end = format_local(asset.valid_until, DEFAULT_TIMEZONE) or "no end"
        click.echo(f"  valid: {start} to {end}")
    accounts = ", ".join(asset.allowed_accounts) or "every account"
    click.echo(f"  allowed on: {accounts}")
    if asset.shows_people:
        expires = format_local(asset.consent_expires, DEFAULT_TIMEZONE) or "no expiry given"
        click.echo(f"  shows people: consent {asset.consent_ref or '(none recorded)'}, {expires}")


@click.group()
def assets() -> None:
    """The asset library: logos and pictures, and permission to use them."""


@assets.command("add")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", default="")
@click.option("--kind", type=click.Choice(["image", "logo"]), default="image", show_default=True)
@click.option("--owner", default="", help="Who holds the rights (a team or a person).")
@click.option("--rights", default="", help="The rights statement.")
@click.option("--licence", default="")
@click.option("--valid-from", default=None, help="YYYY-MM-DD [HH:MM], Europe/London.")
@click.option("--valid-until", default=None, help="YYYY-MM-DD [HH:MM], Europe/London.")
@click.option("--allow", "allowed", multiple=True, metavar="ACCOUNT", help="Only on this account.")
@click.option("--shows-people", is_flag=True, help="Identifiable people are in the picture.")
@click.option("--consent-ref", default=None, help="Where their consent is recorded.")
@click.option("--consent-expires", default=None, help="YYYY-MM-DD, Europe/London.")
@click.option("--json", "as_json", is_flag=True)
def assets_add(
    path: Path,
    title: str,
    kind: str,
    owner: str,
    rights: str,
    licence: str,
    valid_from: str | None,
    valid_until: str | None,
    allowed: tuple[str, ...],
    shows_people: bool,
    consent_ref: str | None,
    consent_expires: str | None,
    as_json: bool,
) -> None:
    """Add a picture or logo to the library (it starts pending)."""
    ctx = _ctx()
    actor = ctx.actor()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    match = services.find_matching_asset(ctx.store, data)
    asset = services.add_asset(
        ctx.store,
        actor,
        data,
        filename=path.name,
        title=title or path.stem,
        kind=kind,
        owner=owner,
        rights=rights,
        licence=licence,
        valid_from=_moment(valid_from, "--valid-from"),
        valid_until=_moment(valid_until, "--valid-until"),
        allowed_accounts=allowed,
        shows_people=shows_people,
        consent_ref=consent_ref,
        consent_expires=_moment(consent_expires, "--consent-expires"),
    )
    if as_json:
        _echo_json(
            {
                "asset": asset.to_dict(),
                "looks_like": match.to_dict() if match is not None else None,
            }
        )
        return
    click.echo(f"Added asset {asset.id} ({asset.kind}, {asset.permission}).")
    if match is not None:
        other = match.asset
        click.echo(
            f"It looks like asset {other.id} {other.title!r} ({other.kind}, "
            f"{other.permission}); the gate will treat it as that {other.kind}."
        )


def _permission_command(name: str, permission: str, verb: str, *, needs_comment: bool) -> None:
    @assets.command(name)
    @click.argument("asset_id", type=int)
    # Click counts an explicit default (even None) as a value, so give none when required.
    @click.option("--comment", required=needs_comment, help="Why.")
    def command(asset_id: int, comment: str | None) -> None:
        ctx = _ctx()
        asset = services.set_asset_permission(
            ctx.store, ctx.actor(), asset_id, permission, comment=comment or ""
        )
        click.echo(f"Asset {asset.id} ({asset.title}) is {verb}.")

    command.__doc__ = f"Mark an asset {verb} (admins)."


_permission_command("approve", "approved", "approved", needs_comment=False)
_permission_command("reject", "rejected", "rejected", needs_comment=True)
_permission_command("revoke", "revoked", "revoked", needs_comment=True)


@assets.command("list")
@click.option("--kind", type=click.Choice(["image", "logo"]), default=None)
@click.option(
    "--permission",
    type=click.Choice(["pending", "approved", "rejected", "revoked"]),
    default=None,
)
@click.option("--json", "as_json", is_flag=True)
def assets_list(kind: str | None, permission: str | None, as_json: bool) -> None:
    """List the library, newest first."""
    ctx = _ctx()
    ctx.actor()
    rows = services.list_assets(ctx.store, kind=kind, permission=permission)
    if as_json:
        _echo_json([a.to_dict() for a in rows])
        return
    for a in rows:
        click.echo(f"{a.id:>5}  {a.permission:<9} {a.kind:<6} {a.title}")


@assets.command("show")
@click.argument("asset_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def assets_show(asset_id: int, as_json: bool) -> None:
    """Show one asset."""
    ctx = _ctx()
    ctx.actor()
    asset = services.get_asset(ctx.store, asset_id)
    if as_json:
        _echo_json(asset.to_dict())
    else:
        _show(asset)


def register(cli: click.Group) -> None:
    """Add `gatepost assets` to the command line."""
    cli.add_command(assets)
