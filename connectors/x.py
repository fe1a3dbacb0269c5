"""X (Twitter) through tweepy's API v2 client.

Posts go through ``tweepy.Client.create_tweet`` / ``delete_tweet`` with OAuth 1.0a user
context (``consumer_key``, ``consumer_secret``, ``access_token``,
``access_token_secret``) or an OAuth 2.0 user access token (``bearer_token``, with
``refresh_token`` and ``client_id`` when it can be refreshed). Images go through X's v2
media upload endpoint with requests-oauthlib (tweepy 4.17 only knows the retired v1.1
one), then ``POST /2/media/metadata`` for alt text.

tweepy hardcodes its host, so every session used here gets
:class:`connectors.routing.PublicHostAdapter`: requests for X's public hosts go to the
account's ``api_base`` with the public host kept in ``Host``, so an OAuth 1.0a signature
(made over the public URL) still verifies at the other end. The adapter also applies the
connector's time-out to every request, since tweepy sets none.

``wait_on_rate_limit`` is never used (it sleeps in the calling thread): a 429 becomes
``RateLimited`` with ``retry_at`` from the ``x-rate-limit-reset`` header.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import requests.auth
import tweepy
from requests_oauthlib import OAuth1Session, OAuth2Session

from connectors.base import AccountConfig, MediaItem, Problem, PublishRequest, Receipt, TextMeasure
from connectors.errors import (
    AuthExpired,
    CredentialsError,
    Permanent,
    RateLimited,
    Transient,
    Unsupported,
)
from connectors.http import (
    error_text,
    new_session,
    quiet_http_debug_logs,
    redact,
    retry_at_from,
    send,
)
from connectors.limits import (
    media_problems,
    raise_if_invalid,
    text_problems,
)
from connectors.routing import route_public_hosts
from connectors.xtext import count_text, has_invalid_characters, text_limit

#: The hosts X's clients talk to; tweepy uses the first, the v2 media endpoints the second.
X_PUBLIC_HOSTS: tuple[str, ...] = ("api.twitter.com", "api.x.com")
X_MEDIA_UPLOAD_URL = "https://api.x.com/2/media/upload"
X_MEDIA_METADATA_URL = "https://api.x.com/2/media/metadata"
X_OAUTH2_TOKEN_URL = "https://api.x.com/2/oauth2/token"

#: Up to four images per post; X takes JPEG, PNG, GIF and WebP up to 5 MB each.
X_MAX_IMAGES = 4
X_MAX_IMAGE_BYTES = 5 * 1024 * 1024
X_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
X_MAX_ALT_TEXT = 1000

#: How many of the account's latest posts ``lookup`` searches.
X_LOOKUP_DEPTH = 100

X_RESET_HEADERS = ("x-rate-limit-reset", "retry-after")

#: Posts this much older than the attempt are still candidates (clock skew).
CLOCK_SLACK = timedelta(minutes=2)

_OAUTH1_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def comparable_text(text: str) -> str:
    """Text reduced to what survives X's rewriting, for matching a post to a request.

    X replaces every link with a t.co link, appends one for attached media and
    HTML-escapes ``&``, ``<`` and ``>``; so links are dropped, entities unescaped and
    white space collapsed on both sides before comparing.
    """
    text = unicodedata.normalize("NFC", html.unescape(text))
    return " ".join(_URL.sub(" ", text).split())


class XConnector:
    """Publish to one X account. See the module docstring for credentials."""

    platform = "x"

    def __init__(
        self,
        config: AccountConfig,
        *,
        timeout: float = 10.0,
        save_credentials: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        quiet_http_debug_logs()
        self.config = config
        self.timeout = timeout
        self.save_credentials = save_credentials
        self.credentials: dict[str, str] = dict(config.credentials)
        self.text_limit = text_limit(config.options)
        self._user_id: str | None = None
        if all(self.credentials.get(k) for k in _OAUTH1_KEYS):
            self.uses_oauth1 = True
        elif self.credentials.get("bearer_token"):
            self.uses_oauth1 = False
        else:
            raise CredentialsError(
                f"X account {config.name!r} needs either consumer_key, consumer_secret, "
                "access_token and access_token_secret (OAuth 1.0a) or bearer_token "
                "(OAuth 2.0 user token)",
                platform=self.platform,
            )
        self._build_clients()

    # -- sessions ---------------------------------------------------------------

    def _build_clients(self) -> None:
        creds = self.credentials
        if self.uses_oauth1:
            self.client = tweepy.Client(
                consumer_key=creds["consumer_key"],
                consumer_secret=creds["consumer_secret"],
                access_token=creds["access_token"],
                access_token_secret=creds["access_token_secret"],
                wait_on_rate_limit=False,
            )
            media: requests.Session = OAuth1Session(
                creds["consumer_key"],
                client_secret=creds["consumer_secret"],
                resource_owner_key=creds["access_token"],
                resource_owner_secret=creds["access_token_secret"],
            )
        else:
            self.client = tweepy.Client(bearer_token=creds["bearer_token"])
            media = OAuth2Session(
                token={"access_token": creds["bearer_token"], "token_type": "Bearer"}
            )
        new_session(self.client.session)
        route_public_hosts(self.client.session, X_PUBLIC_HOSTS, self.config.api_base, self.timeout)
        self.media_session = new_session(media)
        route_public_hosts(self.media_session, X_PUBLIC_HOSTS, self.config.api_base, self.timeout)

    @property
    def _secrets(self) -> list[str]:
        return [v for k, v in self.credentials.items() if k not in ("client_id",)]

    def _can_refresh(self) -> bool:
        return (
            not self.uses_oauth1
            and bool(self.credentials.get("refresh_token"))
            and bool(self.credentials.get("client_id"))
        )

    def _refresh(self) -> None:
        """Swap the OAuth 2.0 refresh token for a new access token and keep both."""
        creds = self.credentials
        session = OAuth2Session(client_id=creds["client_id"])
        route_public_hosts(new_session(session), X_PUBLIC_HOSTS, self.config.api_base, self.timeout)
        auth = None
        if creds.get("client_secret"):
            auth = requests.auth.HTTPBasicAuth(creds["client_id"], creds["client_secret"])
        try:
            token = session.refresh_token(
                X_OAUTH2_TOKEN_URL,
                refresh_token=creds["refresh_token"],
                client_id=creds["client_id"],
                auth=auth,
                include_client_id=auth is None,
            )
        except requests.RequestException:
            raise Transient("X did not answer the token refresh", platform=self.platform) from None
        except Exception:  # oauthlib raises its own errors for a refused refresh
            raise AuthExpired(
                f"X refused to refresh the token of account {self.config.name!r}; "
                "reconnect the account",
                platform=self.platform,
            ) from None
        creds["bearer_token"] = token["access_token"]
        if token.get("refresh_token"):
            creds["refresh_token"] = token["refresh_token"]
        if self.save_credentials is not None:
            self.save_credentials(dict(creds))
        self._build_clients()

    def _call(self, what: str, action: Callable[[], Any]) -> Any:
        """Run ``action`` and turn whatever goes wrong into a connector error.

        An expired OAuth 2.0 token is refreshed once (when a refresh token is known)
        and the call repeated.
        """
        try:
            return self._translate(what, action)
        except AuthExpired:
            if not self._can_refresh():
                raise
        self._refresh()
        return self._translate(what, action)

    def _translate(self, what: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except tweepy.TooManyRequests as exc:
            if exc.reset_time is not None:
                retry_at = datetime.fromtimestamp(exc.reset_time, UTC)
            else:
                retry_at = retry_at_from(exc.response.headers, names=X_RESET_HEADERS)
            raise RateLimited(
                f"X rate limit on {what}; retry after {retry_at.isoformat(timespec='seconds')}",
                retry_at=retry_at,
                platform=self.platform,
            ) from None
        except tweepy.Unauthorized:
            raise AuthExpired(
                f"X refused the credentials of account {self.config.name!r} on {what}; "
                "reconnect the account",
                platform=self.platform,
            ) from None
        except tweepy.TwitterServerError as exc:
            raise Transient(
                f"X answered {exc.response.status_code} on {what}", platform=self.platform
            ) from None
        except tweepy.HTTPException as exc:
            reason = redact(
                "; ".join(str(m) for m in exc.api_messages) or error_text(exc.response),
                self._secrets,
            )
            if "duplicate" in reason.lower():
                reason = f"duplicate content: {reason}"
            raise Permanent(
                f"X refused {what} ({exc.response.status_code}): {reason}",
                reason=reason,
                platform=self.platform,
            ) from None
        except requests.Timeout:
            raise Transient(
                f"X did not answer {what} within {self.timeout:g} s", platform=self.platform
            ) from None
        except requests.RequestException as exc:
            raise Transient(
                f"X connection failed on {what} ({type(exc).__name__})", platform=self.platform
            ) from None

    # -- the protocol -----------------------------------------------------------

    def measure(self, text: str) -> TextMeasure:
        """Weighted length by twitter-text v3 rules against the account's limit (280)."""
        return count_text(text, self.text_limit)

    def validate(self, request: PublishRequest) -> list[Problem]:
        """Every X limit the request breaks: weighted length, characters, images."""
        problems = text_problems(
            request.text, self.measure(request.text), has_media=bool(request.media)
        )
        if has_invalid_characters(request.text):
            problems.append(
                Problem(
                    "invalid_characters",
                    "The text holds characters X refuses (byte-order marks or non-characters).",
                )
            )
        problems += media_problems(
            request.media,
            max_count=X_MAX_IMAGES,
            max_bytes=X_MAX_IMAGE_BYTES,
            formats=X_IMAGE_TYPES,
        )
        for number, item in enumerate(request.media, start=1):
            if len(item.alt) > X_MAX_ALT_TEXT:
                problems.append(
                    Problem(
                        "alt_too_long",
                        f"Image {number} has {len(item.alt)} characters of alt text; "
                        f"X takes at most {X_MAX_ALT_TEXT}.",
                    )
                )
        if len(request.media) > 1 and any(m.mime == "image/gif" for m in request.media):
            problems.append(
                Problem(
                    "media_mix",
                    "A GIF must be the only image of an X post (X takes up to four "
                    "photos, or one GIF).",
                )
            )
        return problems

    def publish(self, request: PublishRequest) -> Receipt:
        """Upload the images, then create the post; raises the errors of the module.

        A refused duplicate is ``Permanent`` with a reason starting "duplicate content".
        """
        raise_if_invalid(self.validate(request), platform=self.platform)
        media_ids = [self._upload_image(item) for item in request.media]
        text = request.text or None
        response = self._call(
            "POST /2/tweets",
            lambda: self.client.create_tweet(
                text=text, media_ids=media_ids or None, user_auth=self.uses_oauth1
            ),
        )
        tweet_id = str(response.data["id"])
        return Receipt(tweet_id, self._url(tweet_id), datetime.now(UTC))

    def delete(self, remote_id: str) -> None:
        """Delete the post; a post that is already gone counts as deleted."""
        try:
            self._call(
                f"DELETE /2/tweets/{remote_id}",
                lambda: self.client.delete_tweet(remote_id, user_auth=self.uses_oauth1),
            )
        except Permanent as exc:
            if "404" not in exc.message:
                raise

    def edit(self, remote_id: str, request: PublishRequest) -> Receipt:
        """X's API does not edit posts: raises ``Unsupported`` (delete and post again)."""
        raise Unsupported(
            "X cannot edit a published post through its API; delete it and post again",
            platform=self.platform,
        )

    def lookup(self, request: PublishRequest) -> Receipt | None:
        """Search the account's latest posts for one with the request's text.

        X has no idempotency key, so the match is on the text (links and spacing aside,
        see :func:`comparable_text`) and the number of images. With
        ``request.attempted_at``, posts older than the attempt (less ``CLOCK_SLACK``) are
        not candidates, so an identical earlier post is not taken for this one. Returns
        ``None`` when none of the latest ``X_LOOKUP_DEPTH`` posts matches.
        """
        wanted = comparable_text(request.text)
        user_id = self._own_user_id()
        oldest = request.attempted_at - CLOCK_SLACK if request.attempted_at else None
        response = self._call(
            f"GET /2/users/{user_id}/tweets",
            lambda: self.client.get_users_tweets(
                user_id,
                max_results=X_LOOKUP_DEPTH,
                tweet_fields=["created_at", "attachments"],
                exclude=["retweets", "replies"],
                start_time=oldest,
                user_auth=self.uses_oauth1,
            ),
        )
        for tweet in response.data or []:
            if oldest is not None and tweet.created_at and tweet.created_at < oldest:
                continue
            media_keys = (tweet.attachments or {}).get("media_keys") or []
            if comparable_text(tweet.text) == wanted and len(media_keys) == len(request.media):
                published = tweet.created_at or datetime.now(UTC)
                return Receipt(str(tweet.id), self._url(str(tweet.id)), published)
        return None

    # -- helpers ------------------------------------------------------------------

    def _own_user_id(self) -> str:
        if self._user_id is None:
            me = self._call(
                "GET /2/users/me", lambda: self.client.get_me(user_auth=self.uses_oauth1)
            )
            self._user_id = str(me.data.id)
        return self._user_id

    def _url(self, tweet_id: str) -> str:
        handle = self.config.handle.lstrip("@")
        return f"https://x.com/{handle or 'i/web'}/status/{tweet_id}"

    def _upload_image(self, item: MediaItem) -> str:
        """Upload one image through ``POST /2/media/upload``, set its alt text, return its id."""

        def upload() -> str:
            response = send(
                self.media_session,
                "POST",
                X_MEDIA_UPLOAD_URL,
                platform=self.platform,
                timeout=self.timeout,
                reset_headers=X_RESET_HEADERS,
                secrets=self._secrets,
                data={"media_category": "tweet_image", "media_type": item.mime},
                files={"media": (item.filename, item.data, item.mime)},
            )
            media_id = _media_id(_json_object(response, platform="X"))
            if item.alt:
                send(
                    self.media_session,
                    "POST",
                    X_MEDIA_METADATA_URL,
                    platform=self.platform,
                    timeout=self.timeout,
                    reset_headers=X_RESET_HEADERS,
                    secrets=self._secrets,
                    json={"id": media_id, "metadata": {"alt_text": {"text": item.alt}}},
                )
            return media_id

        try:
            return upload()
        except AuthExpired:
            if not self._can_refresh():
                raise
        self._refresh()
        return upload()


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


def _media_id(body: Mapping[str, Any]) -> str:
    data = body.get("data") if isinstance(body, Mapping) else None
    media_id = data.get("id") if isinstance(data, Mapping) else None
    if not media_id:
        raise Transient("X accepted an image but did not say its id", platform="x")
    return str(media_id)


__all__ = [
    "X_PUBLIC_HOSTS",
    "XConnector",
    "comparable_text",
]
