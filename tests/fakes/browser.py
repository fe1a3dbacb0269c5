"""A stand-in for the person's web browser in authorisation-flow tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import requests

from connectors.routing import route_public_hosts
from tests.fakes.base import FakePlatform


def browser_for(fake: FakePlatform, hosts: Iterable[str]) -> Callable[[str], None]:
    """Return an ``open_browser`` callback that visits a consent page on ``fake``.

    The fake's consent page approves at once and redirects to the flow's listener on
    127.0.0.1, which the browser follows like a real one. ``visited`` on the callback
    lists the URLs it was asked to open.
    """
    visited: list[str] = []

    def open_browser(url: str) -> None:
        visited.append(url)
        session = route_public_hosts(requests.Session(), hosts, fake.base_url, 5.0)
        session.get(url, allow_redirects=True).raise_for_status()

    open_browser.visited = visited  # type: ignore[attr-defined]
    return open_browser
