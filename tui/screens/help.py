"""The help screen: every key that does something where you pressed `?`."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

# Keys Textual handles on its own, worth telling a newcomer about.
BUILT_IN_KEYS = (
    ("↑ ↓ pgup pgdn", "Move in lists and tables (j and k too)"),
    ("enter", "Open or choose"),
    ("ctrl+p", "Command palette: every action, searchable"),
    ("tab / shift+tab", "Move between parts of the screen"),
    ("ctrl+q", "Quit"),
)


# Bindings every Textual screen inherits; the "Built in" section names them once.
INHERITED_ACTIONS = frozenset(
    {
        "app.focus_next",
        "app.focus_previous",
        "focus_next",
        "focus_previous",
        "screen.copy_text",
        "scroll_left",
        "scroll_right",
        "page_left",
        "page_right",
    }
)


def _place(node: object, app: object) -> str:
    if node is app:
        return "everywhere"
    named = getattr(node, "HELP_GROUP", None)
    if named:
        return str(named)
    return type(node).__name__.removesuffix("Screen") or type(node).__name__


def describe_keys(screen: Screen[object]) -> list[tuple[str, str, str]]:
    """(where, keys, what) for every binding active on `screen`, app-wide ones last.

    Keys of Textual's own widgets (scrolling a list, moving in a text box) are left out:
    they behave as everywhere else. Keys that do the same thing share a line.
    """
    app: App[object] = screen.app
    grouped: dict[tuple[str, str], list[str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or binding.system or binding.action in INHERITED_ACTIONS:
            continue
        node = active.node
        if node is not app and type(node).__module__.startswith("textual."):
            continue
        display = app.get_key_display(binding) or key
        keys = grouped.setdefault((_place(node, app), binding.description), [])
        if display not in keys:
            keys.append(display)
    rows = [(where, " / ".join(keys), what) for (where, what), keys in grouped.items()]
    # Keys that only apply to some posts (a held one, a draft...) are not active now;
    # a screen lists them in HELP_NOTES so they can still be learnt here.
    notes_place = _place(screen, app)
    active_keys = {keys for where, keys, _ in rows if where == notes_place}
    rows.extend(
        (notes_place, keys, what)
        for keys, what in getattr(screen, "HELP_NOTES", ())
        if keys not in active_keys
    )
    rows.sort(key=lambda row: row[0] == "everywhere")
    return rows


class HelpScreen(ModalScreen[None]):
    """Lists the keys of the screen underneath, then the keys that work everywhere."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close help"),
    ]

    def __init__(self, keys: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        lines: list[Content] = []
        current = None
        for where, key, what in self.keys:
            if where != current:
                if current is not None:
                    lines.append(Content(""))
                heading = "Everywhere" if where == "everywhere" else where
                lines.append(Content.from_markup("[b]$heading[/b]", heading=heading))
                current = where
            lines.append(_key_line(key, what))
        lines.append(Content(""))
        lines.append(Content.from_markup("[b]Built in[/b]"))
        lines.extend(_key_line(key, what) for key, what in BUILT_IN_KEYS)
        with VerticalScroll(id="help-body"):
            yield Static("Keys", id="help-title")
            yield Static(Content("\n").join(lines), id="help-keys")
            yield Static("escape closes this", id="help-hint")

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)


def _key_line(key: str, what: str) -> Content:
    return Content.from_markup("  [b $accent]$key[/]  $what", key=f"{key:<16}", what=what)
