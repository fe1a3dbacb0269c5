"""Live per-platform length counters for the compose screen.

Each platform counts differently (X weighs CJK and URLs, Bluesky counts graphemes,
Mastodon and LinkedIn count characters), so the counting itself belongs to the
connectors; these widgets only show what a connector's ``measure`` says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.reactive import reactive
from textual.widgets import Static

from connectors import AccountConfig, ConnectorError, TextMeasure, make_connector

#: Counts a text the way one platform does.
Measure = Callable[[str], TextMeasure]

#: Limits of platforms whose connector counts plain characters.
_PLAIN_LIMITS = {"linkedin": 3000, "facebook": 63206, "outbox": 5000}


def _option(options: Mapping[str, Any], name: str, default: int) -> int:
    try:
        return int(options.get(name, default))
    except (TypeError, ValueError):
        return default


def _unconnected_measure(platform: str, options: Mapping[str, Any]) -> Measure:
    """The platform's own counting rules without a connected connector.

    A connector needs the account's credentials to be built, but counting needs none:
    an author can write for an account an admin has not connected yet. These use the
    connectors' own counting functions and the same limit options.
    """
    if platform == "x":
        from connectors.xtext import X_TEXT_LIMIT, weighted_length

        x_limit = _option(options, "text_limit", X_TEXT_LIMIT)
        return lambda text: TextMeasure(weighted_length(text), x_limit, "weighted characters")
    if platform == "bluesky":
        from connectors.bluesky import MAX_GRAPHEMES, graphemes

        bluesky_limit = _option(options, "max_graphemes", MAX_GRAPHEMES)
        return lambda text: TextMeasure(graphemes(text), bluesky_limit, "graphemes")
    if platform == "mastodon":
        from connectors.bluesky import graphemes as count_graphemes
        from connectors.mastodon import DEFAULT_MAX_CHARS, countable_text

        mastodon_limit = _option(options, "max_chars", DEFAULT_MAX_CHARS)
        return lambda text: TextMeasure(count_graphemes(countable_text(text)), mastodon_limit)
    plain_limit = _option(options, "max_chars", _PLAIN_LIMITS.get(platform, 500))
    return lambda text: TextMeasure(len(text), plain_limit)


def measure_for_account(
    *,
    name: str,
    platform: str,
    handle: str = "",
    api_base: str | None = None,
    options: Mapping[str, Any] | None = None,
    credentials: Mapping[str, str] | None = None,
) -> Measure:
    """How to count text for one account: its connector's ``measure``.

    When the connector cannot be built (the account is not connected yet, or lacks a
    setting), the platform's counting rules are used without it. Importing a
    connector can take a moment (tweepy), so call this from a worker.
    """
    options = dict(options or {})
    config = AccountConfig(
        name=name,
        platform=platform,
        handle=handle,
        api_base=api_base,
        credentials=dict(credentials or {}),
        options={key: str(value) for key, value in options.items()},
    )
    try:
        return make_connector(config).measure
    except (ConnectorError, ImportError):
        # ImportError: a platform whose connector is not installed still gets counted.
        return _unconnected_measure(platform, options)


@dataclass(frozen=True)
class CounterTarget:
    """One account the text is measured for: a label to show and how to count."""

    label: str
    platform: str
    measure: Measure


class PlatformCounter(Static):
    """``label used/limit`` for one platform; carries the class ``-over`` past the limit."""

    DEFAULT_CSS = """
    PlatformCounter {
        width: 24;
        height: 1;
        padding: 0 1;
        margin-right: 1;
        background: $boost;
        color: $text-success;
    }
    PlatformCounter.-near {
        color: $text-warning;
    }
    PlatformCounter.-over {
        background: $error 30%;
        color: $text-error;
        text-style: bold;
    }
    PlatformCounter.-other {
        text-style: dim;
    }
    PlatformCounter.-other.-over {
        text-style: bold dim;
    }
    """

    text: reactive[str] = reactive("", always_update=True)

    def __init__(self, target: CounterTarget, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.target = target
        self.measure: TextMeasure | None = None

    def on_mount(self) -> None:
        # A fixed width wide enough for "label 9999/9999 (+9999)": redrawing on every
        # keystroke then never moves anything else, so no layout pass is needed.
        digits = len(str(self.target.measure("").limit))
        self.styles.width = len(self.target.label) + 3 * digits + 9

    def watch_text(self, text: str) -> None:
        measure = self.target.measure(text)
        self.measure = measure
        self.set_class(measure.over, "-over")
        # Within a tenth of the limit: warn before it is too late to rephrase.
        self.set_class(not measure.over and measure.used > measure.limit * 0.9, "-near")
        self.tooltip = (
            f"{self.target.platform}: {measure.used} of {measure.limit} {measure.unit}"
            + (f" — {measure.used - measure.limit} over the limit" if measure.over else "")
        )
        label = Text(f"{self.target.label} ")
        label.append(f"{measure.used}/{measure.limit}")
        if measure.over:
            label.append(f" (+{measure.used - measure.limit})")
        self.update(label, layout=False)


class CounterBar(HorizontalGroup):
    """A row of :class:`PlatformCounter`, one per target, all fed the same text.

    Set :attr:`text` from the parent on every edit: counting is cheap next to a
    keystroke, so it runs on the UI thread and is never stale.
    """

    DEFAULT_CSS = """
    CounterBar {
        height: 1;
    }
    """

    text: reactive[str] = reactive("", always_update=True)

    def __init__(
        self,
        targets: Sequence[CounterTarget] = (),
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._targets = list(targets)

    def compose(self) -> ComposeResult:
        for target in self._targets:
            yield PlatformCounter(target)

    def on_mount(self) -> None:
        self._mark_first()

    def _mark_first(self) -> None:
        # The first target is the post's own account; the others are for comparison.
        for index, counter in enumerate(self.query(PlatformCounter)):
            counter.set_class(index > 0, "-other")

    def watch_text(self, text: str) -> None:
        for counter in self.query(PlatformCounter):
            counter.text = text

    async def set_targets(self, targets: Sequence[CounterTarget]) -> None:
        """Replace the counters (when the post moves to another account)."""
        self._targets = list(targets)
        await self.remove_children()
        await self.mount_all(PlatformCounter(target) for target in self._targets)
        self._mark_first()
        self.watch_text(self.text)

    @property
    def any_over(self) -> bool:
        """True when the text is too long for at least one platform."""
        return any(counter.has_class("-over") for counter in self.query(PlatformCounter))

    @property
    def first_over(self) -> bool:
        """True when the text is too long for the first target (the post's account)."""
        first = next(iter(self.query(PlatformCounter)), None)
        return first is not None and first.has_class("-over")
