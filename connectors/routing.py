"""Send requests for a platform's public hosts to the account's ``api_base``.

Client libraries sign and authorise requests for the platform's public ``https`` URLs
(tweepy hardcodes its host; OAuth 1.0a signs the URL; requests-oauthlib refuses to put
an OAuth 2.0 token on a plain ``http`` URL). :class:`PublicHostAdapter` is a ``requests``
transport adapter mounted on a session for those hosts: once authentication has been
applied, it changes only where the bytes go, and keeps the public host in ``Host`` as a
reverse proxy would, so the server (a loopback fake in tests, a staging proxy) sees and
can verify the public URL. It also gives every request the connector's time-out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter


class PublicHostAdapter(HTTPAdapter):
    """Reroute requests for ``hosts`` to ``api_base`` and apply ``timeout``.

    With no ``api_base`` requests go to the public hosts themselves. Retries are off:
    a connector decides itself whether a request may be sent again.
    """

    def __init__(self, hosts: Iterable[str], api_base: str | None, timeout: float) -> None:
        super().__init__(max_retries=0)
        self.hosts = frozenset(hosts)
        self.api_base = api_base.rstrip("/") if api_base else None
        self.timeout = timeout

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.api_base and request.url:
            public = urlsplit(request.url)
            if public.hostname in self.hosts:
                target = urlsplit(self.api_base)
                request.url = urlunsplit(
                    (target.scheme, target.netloc, target.path + public.path, public.query, "")
                )
                request.headers["Host"] = public.netloc
        return super().send(request, **kwargs)


def route_public_hosts(
    session: requests.Session, hosts: Iterable[str], api_base: str | None, timeout: float
) -> requests.Session:
    """Mount :class:`PublicHostAdapter` on ``session`` for every ``https`` host in ``hosts``.

    Returns the session, for chaining.
    """
    hosts = tuple(hosts)
    adapter = PublicHostAdapter(hosts, api_base, timeout)
    for host in hosts:
        session.mount(f"https://{host}/", adapter)
    return session


__all__ = ["PublicHostAdapter", "route_public_hosts"]
