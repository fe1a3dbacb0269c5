"""`gatepost accounts connect` and `gatepost accounts set-credentials`.

Both are for admins. ``connect`` runs the platform's authorisation flow (Bluesky app
password, Mastodon out-of-band code) and keeps the result in the credential store (the
OS keyring, or the encrypted file when ``GATEPOST_CREDENTIALS_KEY`` is set on a headless
machine). ``set-credentials`` reads the credentials as a JSON object from standard
input, for scripts and for platforms whose tokens are issued elsewhere. Neither command
prints a credential value.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import click

import connectors
from connectors import AccountConfig, ConnectorError, CredentialsError, make_connector
from scheduler import Role, services
from scheduler.views import AccountView, Actor

if TYPE_CHECKING:
    from connectors import CredentialStore

# `connectors` loads the store and the flows (keyring takes over half a second to
# import) on first use: they are reached only inside these two commands.

#: Platforms whose authorisation flow runs here; others take `set-credentials`.
CONNECT_PLATFORMS = ("bluesky", "mastodon", "x", "linkedin", "facebook")


class _CommandContext(Protocol):
    """What the `gatepost` group puts in ``ctx.obj`` (tui.cli.Context)."""

    @property
    def store(self) -> Any: ...

    def actor(self) -> Actor: ...


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(1)


def _admin_account(ctx: _CommandContext, name: str, what: str) -> AccountView:
    actor = ctx.actor()
    if not actor.at_least(Role.ADMIN):
        _fail(f"only admins can {what} (you are {actor.role.value})")
    account: AccountView = services.get_account(ctx.store, name)
    return account


def _credential_store() -> CredentialStore:
    try:
        return connectors.CredentialStore()
    except CredentialsError as exc:
        _fail(exc.message)


def _config(account: AccountView, credentials: Mapping[str, str]) -> AccountConfig:
    return AccountConfig(
        name=account.name,
        platform=account.platform,
        handle=account.handle,
        api_base=account.api_base,
        credentials=dict(credentials),
        options={str(k): str(v) for k, v in (account.options or {}).items()},
    )


def _ask(prompt: str, *, secret: bool = False) -> str:
    answer: str = click.prompt(
        prompt.rstrip().rstrip(":"), hide_input=secret, default="", show_default=False
    )
    return answer.strip()


@click.command("connect")
@click.argument("name")
@click.option(
    "--identifier",
    default=None,
    help="Bluesky: the handle or DID to sign in as (default: the account's handle).",
)
@click.pass_obj
def connect(ctx: _CommandContext, name: str, identifier: str | None) -> None:
    """Authorise Gatepost to post as account NAME (Bluesky, Mastodon, X, LinkedIn, Facebook).

    Bluesky asks for an app password; Mastodon shows an address to open and asks for
    the code the instance shows; X asks for the app's keys and the PIN X shows; LinkedIn
    and Facebook ask for the app's client id and secret and wait for the browser on
    127.0.0.1. Credentials go to the OS keyring (or the encrypted
    file) and are never printed.
    """
    account = _admin_account(ctx, name, "connect accounts")
    if account.platform == "outbox":
        _fail(f"{account.name} is an outbox account: it needs no credentials")
    if account.platform not in CONNECT_PLATFORMS:
        _fail(
            f"{account.platform} accounts are connected with "
            f"`gatepost accounts set-credentials {account.name}` (JSON on standard input)"
        )
    store = _credential_store()
    try:
        credentials = connectors.run_flow(
            account.platform,
            connectors.flow_base_url(account.platform, account.api_base, account.handle),
            _ask,
            show=click.echo,
            identifier=identifier or account.handle or None,
        )
        store.set(account.name, credentials)
    except ConnectorError as exc:
        _fail(exc.message)
    who = credentials.get("handle") or credentials.get("username") or account.handle
    click.echo(f"Connected {account.name} ({account.platform}) as {who}.")
    click.echo(f"Credentials are kept in {store.backend_name}.")
    if account.platform == "mastodon":
        _adopt_instance_limit(ctx, account, credentials)


def _adopt_instance_limit(
    ctx: _CommandContext, account: AccountView, credentials: Mapping[str, str]
) -> None:
    """Count the account's posts against its instance's own limit (many allow more than
    Mastodon's 500 characters), unless the account sets ``max_chars`` itself."""
    from connectors.mastodon import DEFAULT_MAX_CHARS

    options = dict(account.options or {})
    if "max_chars" in options:
        return
    try:
        connector: Any = make_connector(_config(account, credentials))
        connector.load_instance_limits()
    except ConnectorError as exc:
        click.echo(
            f"Could not read the instance's limits ({exc.message}); posts count against "
            f"{DEFAULT_MAX_CHARS} characters (the max_chars option changes that)."
        )
        return
    limit = int(connector.max_chars)
    if limit == DEFAULT_MAX_CHARS:
        return
    options["max_chars"] = str(limit)
    services.update_account(ctx.store, ctx.actor(), account.name, options=options)
    click.echo(
        f"The instance allows {limit} characters per post: {account.name} now counts to that."
    )


@click.command("set-credentials")
@click.argument("name")
@click.pass_obj
def set_credentials(ctx: _CommandContext, name: str) -> None:
    """Store credentials for account NAME from a JSON object on standard input.

    For example: echo '{"access_token": "..."}' | gatepost accounts set-credentials NAME.
    The object replaces what was stored; its values are never printed.
    """
    account = _admin_account(ctx, name, "set credentials")
    stdin = sys.stdin
    if stdin.isatty():
        click.echo("Paste the credentials as one JSON object, then press Ctrl-D:", err=True)
    try:
        data = json.loads(stdin.read())
    except json.JSONDecodeError as exc:
        # the decoder's message gives a position, never the text itself
        _fail(f"standard input is not JSON ({exc.msg} at line {exc.lineno})")
    if not isinstance(data, dict) or not data:
        _fail('standard input must be a JSON object such as {"access_token": "..."}')
    bad = sorted(k for k, v in data.items() if not isinstance(v, str | int | float))
    if bad:
        _fail(f"these fields are not text: {', '.join(bad)}")
    credentials = {str(k): str(v) for k, v in data.items()}
    try:
        # the connector checks that the fields it needs are there, without the network
        make_connector(_config(account, credentials))
    except CredentialsError as exc:
        _fail(f"not stored: {exc.message}")
    except ConnectorError:
        pass  # a problem with the account's other settings, not with these credentials
    store = _credential_store()
    try:
        store.set(account.name, credentials)
    except ConnectorError as exc:
        _fail(exc.message)
    fields = ", ".join(sorted(credentials))
    click.echo(f"Stored credentials for {account.name} ({fields}) in {store.backend_name}.")


def register(accounts: click.Group) -> None:
    """Add these commands to the `gatepost accounts` group."""
    accounts.add_command(connect)
    accounts.add_command(set_credentials)


__all__ = ["connect", "register", "set_credentials"]
