"""Which connector serves which platform.

Connectors are imported on first use, so the command line does not pay for tweepy or
OpenCV when it only lists posts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from connectors.base import AccountConfig, Connector
from connectors.errors import ConnectorError

#: platform name -> "module:Class"
PLATFORMS: Mapping[str, str] = {
    "outbox": "connectors.outbox:OutboxConnector",
    "x": "connectors.x:XConnector",
    "mastodon": "connectors.mastodon:MastodonConnector",
    "bluesky": "connectors.bluesky:BlueskyConnector",
    "linkedin": "connectors.linkedin:LinkedInConnector",
    "facebook": "connectors.facebook:FacebookConnector",
}


def make_connector(
    config: AccountConfig,
    *,
    timeout: float = 10.0,
    save_credentials: Callable[[dict[str, str]], None] | None = None,
) -> Connector:
    """Build the connector for ``config.platform``.

    ``save_credentials`` is called with the full credential mapping whenever the
    connector refreshes a token or session, so the caller can keep it in the
    credential store. Raises ``ConnectorError`` for an unknown platform.
    """
    target = PLATFORMS.get(config.platform)
    if target is None:
        known = ", ".join(sorted(PLATFORMS))
        raise ConnectorError(f"unknown platform {config.platform!r} (known: {known})")
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    connector: Connector = cls(config, timeout=timeout, save_credentials=save_credentials)
    return connector
