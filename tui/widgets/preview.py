"""How each platform will show the post: where the feed folds it, what does not fit.

An approximation of each platform's feed, enough for an author to see that LinkedIn
hides everything after the first couple of lines behind "see more", that X shortens
links, and which words will not fit at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from tui.widgets.counter import CounterTarget, Measure


@dataclass(frozen=True)
class PlatformLook:
    """What a feed does with a post: its name, where it folds, how it shows links."""

    name: str
    fold_at: int | None = None
    fold_label: str = ""
    shortens_links: bool = False
    link_card: bool = False


#: Feed behaviour per platform (as the platforms show posts in 2026).
LOOKS: dict[str, PlatformLook] = {
    "x": PlatformLook("X", shortens_links=True),
    "bluesky": PlatformLook("Bluesky", link_card=True),
    "mastodon": PlatformLook("Mastodon", link_card=True),
    "linkedin": PlatformLook("LinkedIn", fold_at=210, fold_label="…see more", link_card=True),
    "facebook": PlatformLook("Facebook", fold_at=477, fold_label="… See more", link_card=True),
    "outbox": PlatformLook("Outbox (local folder)"),
}

_URL = re.compile(r"https?://[^\s<>\"']+")


def fitting_length(text: str, measure: Measure) -> int:
    """How many leading characters of ``text`` fit within the platform's limit."""
    if not measure(text).over:
        return len(text)
    low, high = 0, len(text)
    # Invariant: text[:low] fits, text[:high] does not.
    while high - low > 1:
        middle = (low + high) // 2
        if measure(text[:middle]).over:
            high = middle
        else:
            low = middle
    return low


def _shown_link(url: str) -> str:
    bare = re.sub(r"^https?://(www\.)?", "", url)
    return bare if len(bare) <= 23 else bare[:22] + "…"


def render_preview(
    platform: str,
    text: str,
    measure: Measure,
    *,
    images: Sequence[str] = (),
) -> Text:
    """The post as ``platform`` would show it in a feed, as styled text.

    Text past the platform's limit is shown struck through in red (it would be
    refused); text past the feed's fold is dimmed after the fold marker.
    """
    look = LOOKS.get(platform, PlatformLook(platform))
    fits = fitting_length(text, measure)
    body = Text()
    position = 0
    pieces: list[tuple[str, int, bool]] = []  # (shown text, source start, is link)
    for match in _URL.finditer(text):
        if match.start() > position:
            pieces.append((text[position : match.start()], position, False))
        url = match.group(0)
        pieces.append((_shown_link(url) if look.shortens_links else url, match.start(), True))
        position = match.end()
    if position < len(text):
        pieces.append((text[position:], position, False))

    for shown, source_start, is_link in pieces:
        if is_link:
            style = "underline blue" if source_start < fits else "strike red"
            body.append(shown, style)
            continue
        inside = max(0, min(len(shown), fits - source_start))
        body.append(shown[:inside])
        if inside < len(shown):
            body.append(shown[inside:], "strike red")

    if look.fold_at is not None and len(body.plain) > look.fold_at:
        folded = body[: look.fold_at]
        folded.append(look.fold_label, "bold")
        hidden = body[look.fold_at :]
        hidden.stylize("dim")
        body = folded
        body.append("\n(hidden until opened:) ", "italic dim")
        body.append_text(hidden)

    if look.link_card:
        first_link = _URL.search(text)
        if first_link:
            body.append(f"\n┌ link card: {_shown_link(first_link.group(0))}", "cyan")
    for number, image in enumerate(images, start=1):
        body.append(f"\n▣ image {number}: {image}", "magenta")
    if fits < len(text):
        body.append(f"\n✗ {len(text) - fits} characters will not fit on {look.name}", "bold red")
    return body


class PlatformPreview(VerticalScroll):
    """One card per target account, showing the post as its platform will.

    Set :attr:`text` (and :attr:`images`) from the parent; cards re-render on change.
    """

    DEFAULT_CSS = """
    PlatformPreview {
        height: 1fr;
    }
    PlatformPreview > .preview-card {
        height: auto;
        border: round $primary;
        border-title-color: $text-primary;
        padding: 0 1;
    }
    """

    text: reactive[str] = reactive("", always_update=True)
    images: reactive[tuple[str, ...]] = reactive((), always_update=True)

    def __init__(
        self,
        targets: Sequence[CounterTarget] = (),
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._targets = list(targets)
        self._bodies: list[Text] = []

    def on_mount(self) -> None:
        self._rebuild()

    async def set_targets(self, targets: Sequence[CounterTarget]) -> None:
        """Show cards for other accounts."""
        self._targets = list(targets)
        await self.remove_children()
        self._rebuild()

    def _rebuild(self) -> None:
        self.mount_all(
            Static(classes="preview-card", name=target.platform) for target in self._targets
        )
        self.call_after_refresh(self._render_cards)

    def watch_text(self) -> None:
        self._render_cards()

    def watch_images(self) -> None:
        self._render_cards()

    def card_text(self, index: int) -> str:
        """The plain text of one card's body, as last shown."""
        return self._bodies[index].plain if index < len(self._bodies) else ""

    def _render_cards(self) -> None:
        if not self.is_mounted:
            return
        cards = list(self.query(".preview-card").results(Static))
        self._bodies = []
        for card, target in zip(cards, self._targets, strict=False):
            look = LOOKS.get(target.platform, PlatformLook(target.platform))
            body = render_preview(target.platform, self.text, target.measure, images=self.images)
            self._bodies.append(body)
            card.border_title = f"{look.name} · {target.label}"
            card.update(body)
