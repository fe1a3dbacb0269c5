"""Counting a text the way each platform does, without an account's credentials.

Every connector module holds its platform's counting rule as two module-level
functions: ``text_limit(options)`` reads the limit from an account's options and
``count_text(text, limit)`` measures a text against it. A connector's ``measure`` calls
them, and so does :func:`measure_text`, which needs no connected account: an author can
write for an account that has not been connected yet and still see the real count.

The modules are imported on first use. X's rule lives in :mod:`connectors.xtext`, not
beside the connector, so counting for X does not import tweepy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from functools import cache
from typing import cast

from connectors.base import TextMeasure
from connectors.errors import ConnectorError

#: platform name -> the module that holds its ``text_limit`` and ``count_text``
COUNTING_MODULES: Mapping[str, str] = {
    "outbox": "connectors.outbox",
    "x": "connectors.xtext",
    "mastodon": "connectors.mastodon",
    "bluesky": "connectors.bluesky",
    "linkedin": "connectors.linkedin",
    "facebook": "connectors.facebook",
}

_TextLimit = Callable[[Mapping[str, str]], int]
_CountText = Callable[[str, int], TextMeasure]


@cache
def _rule(platform: str) -> tuple[_TextLimit, _CountText]:
    module_name = COUNTING_MODULES.get(platform)
    if module_name is None:
        known = ", ".join(sorted(COUNTING_MODULES))
        raise ConnectorError(f"unknown platform {platform!r} (known: {known})")
    module = importlib.import_module(module_name)
    return (
        cast(_TextLimit, module.text_limit),
        cast(_CountText, module.count_text),
    )


def measure_text(platform: str, text: str, options: Mapping[str, str] | None = None) -> TextMeasure:
    """Count ``text`` as ``platform``'s connector does, against the account's limit.

    Arguments:
        platform: one of ``connectors.PLATFORMS``.
        text: the post's text.
        options: the account's options; the limit options a connector honours
            (``text_limit`` for X, LinkedIn and Facebook, ``max_graphemes`` for Bluesky,
            ``max_chars`` for Mastodon and the outbox) are honoured here too.

    Needs no credentials. Raises ``ConnectorError`` for an unknown platform or a limit
    option that is not a positive whole number.
    """
    text_limit, count_text = _rule(platform)
    return count_text(text, text_limit(options or {}))
