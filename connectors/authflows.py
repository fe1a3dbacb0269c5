"""Platform authorisation flows as plain functions, for `gatepost accounts connect`.

Each takes the platform's base URL and an ``ask`` callback (shows a prompt, returns
what the person typed; ``secret=True`` means do not echo it), and returns the
credentials to keep in the :class:`~connectors.credentials.CredentialStore`. Nothing
is stored here and no secret is printed or logged.

- Bluesky: the handle and an *app password* (Settings → Privacy and security → App
  passwords), checked with one ``createSession``; the session tokens are returned too,
  so the connector does not need to log in again.
- Mastodon: the out-of-band authorisation code flow: register Gatepost as an app on
  the instance (``POST /api/v1/apps``), show the authorisation address, read back the
  code the instance shows, exchange it at ``/oauth/token`` for a bearer token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import requests
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from connectors.errors import ConnectorError, CredentialsError, Transient
from connectors.http import (
    allow_loopback_http_for_oauthlib,
    check_response,
    new_session,
    redact,
    send,
)

#: Mastodon's redirect address for the out-of-band flow: the instance shows the code.
OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
#: The least Gatepost needs: read its own statuses (lookup), write statuses and media.
MASTODON_SCOPES = "read:accounts read:statuses write:statuses write:media"
APP_NAME = "Gatepost"
APP_WEBSITE = "https://github.com/gatepost/gatepost"


class Ask(Protocol):
    """Show ``prompt`` to a person and return their answer (stripped)."""

    def __call__(self, prompt: str, *, secret: bool = False) -> str: ...


def _required(ask: Ask, prompt: str, *, secret: bool = False, what: str) -> str:
    answer = ask(prompt, secret=secret).strip()
    if not answer:
        raise CredentialsError(f"no {what} was given; nothing was stored")
    return answer


# -- Bluesky ----------------------------------------------------------------------------


def connect_bluesky(
    base_url: str,
    ask: Ask,
    *,
    identifier: str | None = None,
    timeout: float = 10.0,
) -> dict[str, str]:
    """Check a Bluesky handle and app password and return the account's credentials.

    ``base_url`` is the account's PDS (https://bsky.social for most accounts). Asks
    for the handle unless ``identifier`` is given, then for the app password. Returns
    ``identifier``, ``app_password``, ``did``, ``handle``, ``access_jwt`` and
    ``refresh_jwt``. Raises ``CredentialsError`` when the server refuses them and
    the usual connector errors (``RateLimited``, ``Transient``) otherwise.
    """
    who = identifier or _required(ask, "Bluesky handle (e.g. name.bsky.social): ", what="handle")
    who = who.lstrip("@")
    password = _required(
        ask,
        "App password (Settings → App passwords; not your main password): ",
        secret=True,
        what="app password",
    )
    session = new_session()
    response = send(
        session,
        "POST",
        f"{base_url.rstrip('/')}/xrpc/com.atproto.server.createSession",
        platform="bluesky",
        timeout=timeout,
        check=False,
        json={"identifier": who, "password": password},
        secrets=[password],
    )
    if response.status_code == 401:
        raise CredentialsError(
            f"Bluesky refused the handle {who!r} or its app password; check both "
            "(an app password looks like xxxx-xxxx-xxxx-xxxx)"
        )
    body = check_response(response, platform="bluesky", secrets=[password]).json()
    return {
        "identifier": who,
        "app_password": password,
        "did": str(body["did"]),
        "handle": str(body.get("handle") or who),
        "access_jwt": str(body["accessJwt"]),
        "refresh_jwt": str(body["refreshJwt"]),
    }


# -- Mastodon ---------------------------------------------------------------------------


def register_mastodon_app(
    base_url: str,
    *,
    client_name: str = APP_NAME,
    scopes: str = MASTODON_SCOPES,
    website: str = APP_WEBSITE,
    timeout: float = 10.0,
) -> dict[str, str]:
    """Register Gatepost as an OAuth app on a Mastodon instance (``POST /api/v1/apps``).

    Returns ``client_id`` and ``client_secret``. Raises connector errors on failure.
    """
    response = send(
        new_session(),
        "POST",
        f"{base_url.rstrip('/')}/api/v1/apps",
        platform="mastodon",
        timeout=timeout,
        data={
            "client_name": client_name,
            "redirect_uris": OOB_REDIRECT,
            "scopes": scopes,
            "website": website,
        },
    )
    app = response.json()
    return {"client_id": str(app["client_id"]), "client_secret": str(app["client_secret"])}


def mastodon_authorize_url(base_url: str, client_id: str, *, scopes: str = MASTODON_SCOPES) -> str:
    """The address a person opens to approve Gatepost; the instance then shows a code."""
    allow_loopback_http_for_oauthlib(base_url)
    oauth = OAuth2Session(client_id, redirect_uri=OOB_REDIRECT, scope=scopes.split())
    url, _state = oauth.authorization_url(f"{base_url.rstrip('/')}/oauth/authorize")
    return str(url)


def exchange_mastodon_code(
    base_url: str,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    timeout: float = 10.0,
) -> str:
    """Exchange an out-of-band authorisation code for an access token (``/oauth/token``).

    Raises ``CredentialsError`` when the instance refuses the code or the app, and
    ``Transient`` when it cannot be reached.
    """
    allow_loopback_http_for_oauthlib(base_url)
    # no scope on this session: the instance may grant the scopes in another order,
    # which oauthlib would otherwise report as an error
    oauth = new_session(OAuth2Session(client_id, redirect_uri=OOB_REDIRECT))
    try:
        token: dict[str, Any] = oauth.fetch_token(
            f"{base_url.rstrip('/')}/oauth/token",
            code=code,
            client_secret=client_secret,
            include_client_id=True,
            timeout=timeout,
        )
    except OAuth2Error as exc:
        reason = redact(exc.description or exc.error or type(exc).__name__, [code, client_secret])
        raise CredentialsError(
            f"the Mastodon instance refused the authorisation code ({reason}); "
            "open the address again and paste the new code",
            platform="mastodon",
        ) from None
    except requests.RequestException as exc:
        raise Transient(
            f"the Mastodon instance could not be reached for the token ({type(exc).__name__})",
            platform="mastodon",
        ) from None
    access = token.get("access_token")
    if not access:
        raise CredentialsError(
            "the Mastodon instance returned no access token", platform="mastodon"
        )
    return str(access)


def connect_mastodon(
    base_url: str,
    ask: Ask,
    *,
    show: Callable[[str], None] | None = None,
    client_name: str = APP_NAME,
    scopes: str = MASTODON_SCOPES,
    timeout: float = 10.0,
) -> dict[str, str]:
    """Run Mastodon's out-of-band flow and return the account's credentials.

    Registers the app, shows the authorisation address with ``show`` (or in the
    ``ask`` prompt), asks for the code, exchanges it and checks the token with
    ``verify_credentials``. Returns ``access_token``, ``client_id``, ``client_secret``
    and ``username``. Raises ``CredentialsError`` for a refused code.
    """
    base = base_url.rstrip("/")
    app = register_mastodon_app(base, client_name=client_name, scopes=scopes, timeout=timeout)
    url = mastodon_authorize_url(base, app["client_id"], scopes=scopes)
    message = f"Open this address, sign in and approve {client_name}:\n  {url}"
    if show is not None:
        show(message)
        prompt = "Paste the authorisation code shown by the instance: "
    else:
        prompt = f"{message}\nPaste the authorisation code shown by the instance: "
    code = _required(ask, prompt, what="authorisation code")
    access = exchange_mastodon_code(
        base,
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        code=code,
        timeout=timeout,
    )
    account = send(
        new_session(),
        "GET",
        f"{base}/api/v1/accounts/verify_credentials",
        platform="mastodon",
        timeout=timeout,
        headers={"Authorization": f"Bearer {access}"},
        secrets=[access, app["client_secret"]],
    ).json()
    return {
        "access_token": access,
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "username": str(account.get("acct") or account.get("username") or ""),
    }


def flow_base_url(platform: str, api_base: str | None, handle: str = "") -> str:
    """Where an account's authorisation flow talks to: its ``api_base``, else the
    platform's address (Bluesky: https://bsky.social; Mastodon: the handle's instance;
    X, LinkedIn and Facebook: ``""``, their flows know their own public addresses)."""
    if api_base:
        return api_base.rstrip("/")
    if platform == "bluesky":
        return "https://bsky.social"
    if platform == "mastodon":
        _, _, domain = handle.lstrip("@").partition("@")
        if domain:
            return f"https://{domain}"
        raise ConnectorError(
            "a Mastodon account needs its instance: set api_base or a handle like "
            "@name@instance.example",
            platform=platform,
        )
    if platform in ("x", "linkedin", "facebook"):
        return ""  # the OAuth flows use the platform's own public addresses
    raise ConnectorError(f"no authorisation flow for {platform!r} here", platform=platform)


def run_flow(
    platform: str,
    base_url: str,
    ask: Ask,
    *,
    show: Callable[[str], None] | None = None,
    identifier: str | None = None,
    timeout: float = 10.0,
) -> dict[str, str]:
    """Run the authorisation flow for ``platform``; ``ConnectorError`` if it has none."""
    if platform == "bluesky":
        return connect_bluesky(base_url, ask, identifier=identifier, timeout=timeout)
    if platform == "mastodon":
        return connect_mastodon(base_url, ask, show=show, timeout=timeout)
    if platform in ("x", "linkedin", "facebook"):
        # The OAuth flows know the platforms' public addresses themselves; an account's
        # api_base (tests, staging) is passed through when it has one.
        from connectors.authflows_oauth import run_oauth_flow

        return run_oauth_flow(
            platform, base_url or None, ask, show=show, identifier=identifier, timeout=timeout
        )
    raise ConnectorError(
        f"no interactive connect flow for {platform!r} here; use "
        "`gatepost accounts set-credentials` with the platform's tokens as JSON",
        platform=platform,
    )


__all__ = [
    "MASTODON_SCOPES",
    "OOB_REDIRECT",
    "Ask",
    "connect_bluesky",
    "connect_mastodon",
    "exchange_mastodon_code",
    "flow_base_url",
    "mastodon_authorize_url",
    "register_mastodon_app",
    "run_flow",
]
