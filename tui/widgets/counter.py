"""Live per-platform length counters for the compose screen.

Each platform counts differently (X weighs CJK and URLs, Bluesky counts graphemes,
Mastodon and LinkedIn count characters), so the counting itself belongs to the
connectors; these widgets only show what a connector's ``measure`` says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.reactive import reactive
from textual.widgets import Static

from connectors import TextMeasure

#: Counts a text the way one platform does.
Measure = Callable[[str], TextMeasure]


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
        width: auto;
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
    """

    text: reactive[str] = reactive("", always_update=True)

    def __init__(self, target: CounterTarget, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.target = target
        self.measure: TextMeasure | None = None

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
        self.update(label)


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

    def watch_text(self, text: str) -> None:
        for counter in self.query(PlatformCounter):
            counter.text = text

    async def set_targets(self, targets: Sequence[CounterTarget]) -> None:
        """Replace the counters (when the post moves to another account)."""
        self._targets = list(targets)
        await self.remove_children()
        await self.mount_all(PlatformCounter(target) for target in self._targets)
        self.watch_text(self.text)

    @property
    def any_over(self) -> bool:
        """True when the text is too long for at least one platform."""
        return any(counter.has_class("-over") for counter in self.query(PlatformCounter))
