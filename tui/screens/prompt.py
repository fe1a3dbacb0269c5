"""A small dialog that asks for one line of text (a comment, a link)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class TextPrompt(ModalScreen[str | None]):
    """Asks a question; dismisses with the text entered, or None when cancelled.

    With ``required=True`` an empty answer is refused in place (the dialog says why)
    instead of being returned.
    """

    DEFAULT_CSS = """
    TextPrompt {
        align: center middle;
    }
    TextPrompt > Vertical {
        width: 72;
        height: auto;
        background: $surface;
        border: thick $accent;
        padding: 1 2;
    }
    TextPrompt .prompt-question {
        text-style: bold;
        padding-bottom: 1;
    }
    TextPrompt .prompt-detail {
        color: $text-muted;
        padding-bottom: 1;
    }
    TextPrompt .prompt-problem {
        color: $error;
        height: auto;
    }
    TextPrompt Horizontal {
        height: auto;
        align-horizontal: right;
        padding-top: 1;
    }
    TextPrompt Button {
        margin-left: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        question: str,
        *,
        detail: str = "",
        placeholder: str = "",
        confirm_label: str = "OK",
        required: bool = False,
        value: str = "",
    ) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.placeholder = placeholder
        self.confirm_label = confirm_label
        self.required = required
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, classes="prompt-question")
            if self.detail:
                yield Label(self.detail, classes="prompt-detail")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")
            yield Label("", classes="prompt-problem", id="prompt-problem")
            with Horizontal():
                yield Button("Cancel", id="prompt-cancel")
                yield Button(self.confirm_label, variant="primary", id="prompt-ok")

    @on(Input.Submitted)
    @on(Button.Pressed, "#prompt-ok")
    def confirm(self) -> None:
        text = self.query_one("#prompt-input", Input).value.strip()
        if self.required and not text:
            self.query_one("#prompt-problem", Label).update("This needs an answer.")
            return
        self.dismiss(text)

    @on(Button.Pressed, "#prompt-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
