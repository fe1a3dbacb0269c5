"""Authorisation flows that turn a person's consent into stored credentials.

- X, OAuth 1.0a PIN flow (:func:`x_pin_flow`): the person opens X's authorise page,
  approves the app and types the PIN X shows.
- OAuth 2.0 authorisation code (:func:`authorization_code_flow`) for LinkedIn, Facebook
  and X (with PKCE): the person's browser is sent back to a one-shot listener on
  127.0.0.1, which collects the code; the state is checked and the code swapped for a
  token. :func:`linkedin_flow` and :func:`facebook_page_flow` wrap it with what each
  platform needs afterwards (Facebook: a long-lived user token, then the page's token).

Each function takes the client's credentials, callbacks to show a URL or ask for the
PIN, and an ``api_base`` (tests point it at a loopback fake; requests keep their public
URLs and are rerouted by :mod:`connectors.routing`). They return :class:`Authorised`:
the credentials to store and the account's handle. Errors are those of
:mod:`connectors.errors`; no message carries a token or secret.

:func:`run_oauth_flow` drives them for ``gatepost accounts connect`` with the same
``ask``/``show`` callbacks as :func:`connectors.authflows.run_flow`: it asks for the
app's keys, shows the address to open and returns the credentials as a plain mapping.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from oauthlib.oauth1 import OAuth1Error
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth1Session, OAuth2Session
from requests_oauthlib.oauth1_session import TokenMissing, TokenRequestDenied

from connectors.authflows import Ask
from connectors.errors import ConnectorError, CredentialsError, Permanent, Transient
from connectors.http import new_session, send
from connectors.routing import route_public_hosts

X_REQUEST_TOKEN_URL = "https://api.twitter.com/oauth/request_token"
X_AUTHORIZE_URL = "https://api.twitter.com/oauth/authorize"
X_ACCESS_TOKEN_URL = "https://api.twitter.com/oauth/access_token"
X_HOSTS = ("api.twitter.com", "api.x.com", "x.com")

#: Graph API version used for Facebook's dialogs and calls.
FACEBOOK_GRAPH_VERSION = "v23.0"

#: The listener's port for ``run_oauth_flow``: register
#: ``http://127.0.0.1:8719/callback`` as the app's redirect URL with the platform.
DEFAULT_REDIRECT_PORT = 8719


@dataclass(frozen=True)
class Authorised:
    """What a flow produced: the credentials to store and the account's handle."""

    credentials: Mapping[str, str]
    handle: str = ""


@dataclass(frozen=True)
class OAuth2Provider:
    """Where a platform's OAuth 2.0 authorisation-code flow happens."""

    name: str
    authorize_url: str
    token_url: str
    hosts: tuple[str, ...]
    scopes: tuple[str, ...]
    pkce: bool = False
    scope_separator: str = " "
    token_method: str = "POST"
    extra_authorize_params: Mapping[str, str] = field(default_factory=dict)


LINKEDIN = OAuth2Provider(
    name="LinkedIn",
    authorize_url="https://www.linkedin.com/oauth/v2/authorization",
    token_url="https://www.linkedin.com/oauth/v2/accessToken",
    hosts=("www.linkedin.com", "api.linkedin.com"),
    scopes=("w_organization_social", "r_organization_social"),
)

FACEBOOK = OAuth2Provider(
    name="Facebook",
    authorize_url=f"https://www.facebook.com/{FACEBOOK_GRAPH_VERSION}/dialog/oauth",
    token_url=f"https://graph.facebook.com/{FACEBOOK_GRAPH_VERSION}/oauth/access_token",
    hosts=("www.facebook.com", "graph.facebook.com"),
    scopes=("pages_show_list", "pages_read_engagement", "pages_manage_posts"),
    scope_separator=",",
    token_method="GET",
)

X_OAUTH2 = OAuth2Provider(
    name="X",
    authorize_url="https://x.com/i/oauth2/authorize",
    token_url="https://api.x.com/2/oauth2/token",
    hosts=X_HOSTS,
    scopes=("tweet.read", "tweet.write", "users.read", "media.write", "offline.access"),
    pkce=True,
)


# -- X: OAuth 1.0a PIN flow -------------------------------------------------------------


def x_pin_flow(
    consumer_key: str,
    consumer_secret: str,
    ask_pin: Callable[[str], str],
    *,
    api_base: str | None = None,
    timeout: float = 30.0,
) -> Authorised:
    """Run X's PIN-based OAuth 1.0a flow for the app ``consumer_key``.

    ``ask_pin`` is called with the authorise URL the person must open; it returns the
    PIN X showed them. Returns the four OAuth 1.0a credentials and the ``@handle``.
    Raises ``CredentialsError`` when X refuses the app's keys or the PIN, ``Transient``
    when X cannot be reached.
    """
    session = OAuth1Session(consumer_key, client_secret=consumer_secret, callback_uri="oob")
    route_public_hosts(new_session(session), X_HOSTS, api_base, timeout)
    try:
        session.fetch_request_token(X_REQUEST_TOKEN_URL)
    except (TokenRequestDenied, TokenMissing, OAuth1Error, ValueError):
        raise CredentialsError(
            "X refused the app's consumer key and secret", platform="x"
        ) from None
    except requests.RequestException as exc:
        raise Transient(f"X could not be reached ({type(exc).__name__})", platform="x") from None
    authorize_url = session.authorization_url(X_AUTHORIZE_URL)
    pin = ask_pin(authorize_url).strip()
    if not pin:
        raise CredentialsError("no PIN was entered", platform="x")
    try:
        token = session.fetch_access_token(X_ACCESS_TOKEN_URL, verifier=pin)
    except (TokenRequestDenied, TokenMissing, OAuth1Error, ValueError):
        raise CredentialsError(
            "X did not accept the PIN; start again and enter the new PIN", platform="x"
        ) from None
    except requests.RequestException as exc:
        raise Transient(f"X could not be reached ({type(exc).__name__})", platform="x") from None
    credentials = {
        "consumer_key": consumer_key,
        "consumer_secret": consumer_secret,
        "access_token": str(token["oauth_token"]),
        "access_token_secret": str(token["oauth_token_secret"]),
    }
    screen_name = str(token.get("screen_name", ""))
    return Authorised(credentials, f"@{screen_name}" if screen_name else "")


# -- OAuth 2.0 authorisation code with a loopback redirect --------------------------------


class _RedirectListener:
    """A one-shot HTTP listener on 127.0.0.1 that catches the authorisation redirect."""

    def __init__(self, port: int = 0, path: str = "/callback") -> None:
        self.path = path
        self.params: dict[str, str] | None = None
        self._arrived = threading.Event()
        listener = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # the code is secret
                return

            def do_GET(self) -> None:
                split = urlsplit(self.path)
                if split.path != listener.path:
                    self.send_error(404)
                    return
                query = parse_qs(split.query, keep_blank_values=True)
                listener.params = {k: v[0] for k, v in query.items()}
                body = (
                    b"<html><body><p>Gatepost has the answer; you can close this window "
                    b"and return to the terminal.</p></body></html>"
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                listener._arrived.set()

        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def redirect_uri(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{self.path}"

    def __enter__(self) -> _RedirectListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, seconds: float) -> dict[str, str]:
        if not self._arrived.wait(seconds) or self.params is None:
            raise ConnectorError(
                f"no answer from the browser within {seconds:g} s; start the connection again"
            )
        return self.params


def authorization_code_flow(
    provider: OAuth2Provider,
    client_id: str,
    open_browser: Callable[[str], None],
    *,
    client_secret: str | None = None,
    api_base: str | None = None,
    port: int = 0,
    wait_seconds: float = 300.0,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Run ``provider``'s authorisation-code flow and return the token it grants.

    A listener on 127.0.0.1 (``port``, any free one by default; register
    ``http://127.0.0.1:PORT/callback`` with the platform) receives the redirect.
    ``open_browser`` is called with the authorise URL (open it or print it). The state
    parameter is checked, PKCE is used where the provider asks for it.
    Raises ``Permanent`` when the person or the platform refuses, ``ConnectorError``
    when no answer arrives within ``wait_seconds``, ``Transient`` when the platform
    cannot be reached.
    """
    with _RedirectListener(port) as listener:
        session = OAuth2Session(
            client_id,
            redirect_uri=listener.redirect_uri,
            scope=provider.scope_separator.join(provider.scopes),
            pkce="S256" if provider.pkce else None,
        )
        route_public_hosts(new_session(session), provider.hosts, api_base, timeout)
        state = secrets.token_urlsafe(24)
        url, _ = session.authorization_url(
            provider.authorize_url, state=state, **provider.extra_authorize_params
        )
        open_browser(url)
        params = listener.wait(wait_seconds)
    if "error" in params:
        reason = params.get("error_description") or params["error"]
        raise Permanent(
            f"{provider.name} authorisation was refused: {reason}",
            reason=reason,
            platform=provider.name.lower(),
        )
    if not secrets.compare_digest(params.get("state", ""), state):
        raise Permanent(
            f"{provider.name} answered with the wrong state; the redirect was not ours",
            platform=provider.name.lower(),
        )
    try:
        token: dict[str, Any] = session.fetch_token(
            provider.token_url,
            code=params.get("code", ""),
            client_secret=client_secret,
            include_client_id=True,
            method=provider.token_method,
        )
    except Warning as changed:
        # oauthlib raises (not warns) when the granted scope is written differently
        # from the one asked for (LinkedIn and Facebook answer with commas); the token
        # rides on the exception.
        granted = getattr(changed, "token", None)
        if not isinstance(granted, dict):
            raise
        token = dict(granted)
    except OAuth2Error as exc:
        raise Permanent(
            f"{provider.name} would not exchange the authorisation code ({exc.error})",
            reason=str(exc.error),
            platform=provider.name.lower(),
        ) from None
    except requests.RequestException as exc:
        raise Transient(
            f"{provider.name} could not be reached ({type(exc).__name__})",
            platform=provider.name.lower(),
        ) from None
    return token


def x_pkce_flow(
    client_id: str,
    open_browser: Callable[[str], None],
    *,
    client_secret: str | None = None,
    api_base: str | None = None,
    port: int = 0,
    wait_seconds: float = 300.0,
    timeout: float = 30.0,
) -> Authorised:
    """X's OAuth 2.0 PKCE flow: returns ``bearer_token``, ``refresh_token``, ``client_id``.

    Raises as :func:`authorization_code_flow`.
    """
    token = authorization_code_flow(
        X_OAUTH2,
        client_id,
        open_browser,
        client_secret=client_secret,
        api_base=api_base,
        port=port,
        wait_seconds=wait_seconds,
        timeout=timeout,
    )
    credentials = {"bearer_token": str(token["access_token"]), "client_id": client_id}
    if token.get("refresh_token"):
        credentials["refresh_token"] = str(token["refresh_token"])
    if client_secret:
        credentials["client_secret"] = client_secret
    return Authorised(credentials)


def linkedin_flow(
    client_id: str,
    client_secret: str,
    open_browser: Callable[[str], None],
    *,
    api_base: str | None = None,
    port: int = 0,
    wait_seconds: float = 300.0,
    timeout: float = 30.0,
) -> Authorised:
    """LinkedIn's authorisation-code flow for posting as an organisation page.

    The person must be an administrator of the page. Returns ``access_token`` and, when
    LinkedIn grants refresh to the app, ``refresh_token`` with the client's id and
    secret (needed to refresh). Raises as :func:`authorization_code_flow`.
    """
    token = authorization_code_flow(
        LINKEDIN,
        client_id,
        open_browser,
        client_secret=client_secret,
        api_base=api_base,
        port=port,
        wait_seconds=wait_seconds,
        timeout=timeout,
    )
    credentials = {"access_token": str(token["access_token"])}
    if token.get("refresh_token"):
        credentials.update(
            refresh_token=str(token["refresh_token"]),
            client_id=client_id,
            client_secret=client_secret,
        )
    return Authorised(credentials)


def facebook_page_flow(
    app_id: str,
    app_secret: str,
    page_id: str,
    open_browser: Callable[[str], None],
    *,
    api_base: str | None = None,
    port: int = 0,
    wait_seconds: float = 300.0,
    timeout: float = 30.0,
) -> Authorised:
    """Facebook Login for a Page: returns the page's ``page_token`` and its name.

    The short-lived user token from the dialog is exchanged for a long-lived one, and
    the page token is read from ``/me/accounts`` (a page token obtained this way does
    not expire). Raises ``Permanent`` when the person does not manage ``page_id``, and
    otherwise as :func:`authorization_code_flow`.
    """
    token = authorization_code_flow(
        FACEBOOK,
        app_id,
        open_browser,
        client_secret=app_secret,
        api_base=api_base,
        port=port,
        wait_seconds=wait_seconds,
        timeout=timeout,
    )
    graph = f"https://graph.facebook.com/{FACEBOOK_GRAPH_VERSION}"
    session = route_public_hosts(new_session(), FACEBOOK.hosts, api_base, timeout)
    secret_values = (app_secret, str(token["access_token"]))
    long_lived = send(
        session,
        "GET",
        f"{graph}/oauth/access_token",
        platform="facebook",
        timeout=timeout,
        secrets=secret_values,
        params={
            "grant_type": "fb_exchange_token",
            "client_id": app_id,
            "client_secret": app_secret,
            "fb_exchange_token": token["access_token"],
        },
    )
    user_token = str(_json_object(long_lived, platform="Facebook").get("access_token", ""))
    if not user_token:
        raise Transient("Facebook returned no long-lived token", platform="facebook")
    url: str | None = f"{graph}/me/accounts"
    params: dict[str, str] | None = {"fields": "id,name,access_token", "limit": "100"}
    while url:
        response = send(
            session,
            "GET",
            url,
            platform="facebook",
            timeout=timeout,
            secrets=(*secret_values, user_token),
            params=params,
            headers={"Authorization": f"Bearer {user_token}"},
        )
        page = _json_object(response, platform="Facebook")
        for account in page.get("data") or []:
            if str(account.get("id")) == page_id:
                return Authorised(
                    {"page_token": str(account["access_token"])}, str(account.get("name", ""))
                )
        url, params = (page.get("paging") or {}).get("next"), None
    raise Permanent(
        f"the Facebook user who signed in does not manage page {page_id}",
        reason="page not managed by this user",
        platform="facebook",
    )


def _json_object(response: requests.Response, *, platform: str) -> dict[str, Any]:
    """The response's JSON object; ``Transient`` when the body is not one (a proxy's page)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Transient(
            f"{platform} answered {response.status_code} with a body that is not JSON",
            platform=platform.lower(),
        )
    return body


# -- the command line's entry point -------------------------------------------------------

#: Platforms :func:`run_oauth_flow` can connect.
OAUTH_PLATFORMS = ("x", "linkedin", "facebook")


def _answer(ask: Ask, prompt: str, *, what: str, secret: bool = False) -> str:
    answer = ask(prompt, secret=secret).strip()
    if not answer:
        raise CredentialsError(f"no {what} was given; nothing was stored")
    return answer


def run_oauth_flow(
    platform: str,
    api_base: str | None,
    ask: Ask,
    *,
    show: Callable[[str], None] | None = None,
    identifier: str | None = None,
    port: int = DEFAULT_REDIRECT_PORT,
    wait_seconds: float = 300.0,
    timeout: float = 30.0,
) -> dict[str, str]:
    """Connect an X, LinkedIn or Facebook account interactively.

    Asks for the app's keys (``ask``), shows the address the person must open
    (``show``, or inside an ``ask`` prompt), and returns the credentials to store plus
    ``username`` (the handle or page name). For X it runs the PIN flow; for LinkedIn
    and Facebook the authorisation-code flow with a listener on 127.0.0.1:``port``.
    ``identifier`` is the Facebook page id (asked for when not given).
    Raises ``ConnectorError`` for another platform, and the flows' errors.
    """

    def display(url: str, after: str) -> None:
        message = f"Open this address in a browser, sign in and approve Gatepost:\n  {url}"
        if show is not None:
            show(message)
        else:
            ask(f"{message}\n{after}")

    if platform == "x":
        key = _answer(ask, "X app API key (consumer key): ", what="API key")
        secret = _answer(ask, "X app API key secret: ", what="API key secret", secret=True)

        def ask_pin(url: str) -> str:
            if show is not None:
                show(f"Open this address in a browser, sign in and approve Gatepost:\n  {url}")
                return ask("PIN shown by X: ")
            return ask(
                f"Open this address in a browser, sign in and approve Gatepost:\n  {url}\n"
                "PIN shown by X: "
            )

        result = x_pin_flow(key, secret, ask_pin, api_base=api_base, timeout=timeout)
    elif platform in ("linkedin", "facebook"):
        name = "LinkedIn" if platform == "linkedin" else "Facebook"
        client_id = _answer(ask, f"{name} app client id: ", what="client id")
        client_secret = _answer(
            ask, f"{name} app client secret: ", what="client secret", secret=True
        )

        def open_browser(url: str) -> None:
            display(url, "Press Enter once the browser says Gatepost has the answer.")

        if platform == "linkedin":
            result = linkedin_flow(
                client_id,
                client_secret,
                open_browser,
                api_base=api_base,
                port=port,
                wait_seconds=wait_seconds,
                timeout=timeout,
            )
        else:
            page_id = identifier or _answer(ask, "Facebook page id: ", what="page id")
            result = facebook_page_flow(
                client_id,
                client_secret,
                page_id,
                open_browser,
                api_base=api_base,
                port=port,
                wait_seconds=wait_seconds,
                timeout=timeout,
            )
    else:
        raise ConnectorError(
            f"no OAuth connect flow for {platform!r} (known: {', '.join(OAUTH_PLATFORMS)})",
            platform=platform,
        )
    credentials = dict(result.credentials)
    if result.handle:
        credentials["username"] = result.handle
    return credentials


__all__ = [
    "DEFAULT_REDIRECT_PORT",
    "FACEBOOK",
    "LINKEDIN",
    "OAUTH_PLATFORMS",
    "X_OAUTH2",
    "Authorised",
    "OAuth2Provider",
    "authorization_code_flow",
    "facebook_page_flow",
    "linkedin_flow",
    "run_oauth_flow",
    "x_pin_flow",
    "x_pkce_flow",
]
