"""The app's own style variables, the one place colours for post states are chosen.

Textual substitutes `$variables` inside each stylesheet file on its own, so variables
shared by several `.tcss` files and by Python-rendered cells live here and reach every
theme through `App.get_theme_variable_defaults`.
"""

from __future__ import annotations

STYLE_VARIABLES: dict[str, str] = {
    "state-draft": "#9e9e9e",
    "state-in-review": "#e0b040",
    "state-scheduled": "#5fa8ff",
    "state-publishing": "#40c8d0",
    "state-published": "#4fbf6f",
    "state-failed": "#ff5f5f",
    "state-unknown": "#d787ff",
    "state-held": "#ff9f40",
    "state-cancelled": "#707070",
    "state-retracted": "#707070",
    "finding-highlight": "#5a1e1e",
    "statusbar-background": "#1d2330",
}


def state_colour_variable(state: str) -> str:
    """The variable name holding the colour of a post state (`in_review` -> `state-in-review`)."""
    return "state-" + state.replace("_", "-")
