"""Live per-platform length counters for the compose screen.

Each platform counts differently (X weighs CJK and URLs, Bluesky counts graphemes,
Mastodon and LinkedIn count characters), so the counting itself belongs to the
connectors; these widgets only show what ``connectors.measure_text`` says, which is
what the account's connector counts when it publishes.
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

from connectors import ConnectorError, TextMeasure, measure_text

#: Counts a text the way one platform does.
Measure = Callable[[str], TextMeasure]


def measure_for_account(
    *,
    name: str,
    platform: str,
    handle: str = "",
    api_base: str | None = None,
    options: Mapping[str, Any] | None = None,
    credentials: Mapping[str, str] | None = None,
) -> Measure:
    """How to count text for one account: by its platform's own rule and limit options.

    Counting needs no credentials, so an account nobody has connected yet is counted
    exactly as its connector will count it at publishing time. ``name``, ``handle``,
    ``api_base`` and ``credentials`` do not change the count; they are accepted so a
    caller can pass an account's settings as they are. Raises ``ConnectorError`` for a
    platform with no connector. The first count for a platform imports its connector
    module, so call this from a worker.
    """
    limit_options = {key: str(value) for key, value in (options or {}).items()}
    try:
        measure_text(platform, "", limit_options)
    except ConnectorError:
        # A limit option that is not a positive number: the connector will refuse the
        # account until it is fixed, but the author still sees the platform's own count
        # against its default limit. An unknown platform raises again here.
        measure_text(platform, "", {})
        limit_options = {}
    return lambda text: measure_text(platform, text, limit_options)


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
