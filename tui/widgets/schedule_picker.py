"""Pick when a post goes out, in the account's own time zone.

People think in the wall clock of the account ("9:00 in London"), the store keeps UTC.
Twice a year the wall clock lies: in spring an hour does not exist (the clocks go
forward) and in autumn an hour happens twice (they go back). The picker explains
either case in place: a time in the gap is refused with the reason, and a time in the
repeated hour asks which of the two is meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from textual import on
from textual.app import ComposeResult
from textual.containers import HorizontalGroup, VerticalGroup
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from scheduler.errors import InvalidInput
from scheduler.times import Clock, local_to_utc, system_clock, to_local


def _offset_text(offset: timedelta | None) -> str:
    minutes = int((offset or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


class SchedulePicker(VerticalGroup):
    """A date and a time in ``tz_name``; :attr:`value` is the chosen moment in UTC.

    Both fields empty means "not scheduled" (``value`` is ``None`` and so is
    ``problem``). Anything the picker cannot accept leaves ``value`` as ``None`` and says
    why in :attr:`problem`, shown under the fields. Every change posts
    :class:`SchedulePicker.Changed`.
    """

    DEFAULT_CSS = """
    SchedulePicker {
        height: auto;
    }
    SchedulePicker > HorizontalGroup {
        height: auto;
    }
    SchedulePicker #schedule-date {
        width: 18;
    }
    SchedulePicker #schedule-time {
        width: 12;
    }
    SchedulePicker #schedule-zone {
        padding: 1 1 0 1;
        color: $text-muted;
    }
    SchedulePicker #schedule-note {
        padding: 0 1;
        color: $text-muted;
    }
    SchedulePicker.-gap #schedule-note, SchedulePicker.-invalid #schedule-note {
        color: $text-error;
    }
    SchedulePicker.-fold #schedule-note {
        color: $text-warning;
    }
    SchedulePicker #schedule-fold {
        display: none;
        height: auto;
    }
    SchedulePicker.-fold #schedule-fold {
        display: block;
    }
    """

    @dataclass
    class Changed(Message):
        """The chosen moment changed (``value`` in UTC, or ``None`` with the reason)."""

        picker: SchedulePicker
        value: datetime | None
        problem: str | None

        @property
        def control(self) -> SchedulePicker:
            return self.picker

    tz_name: reactive[str] = reactive("UTC", init=False)

    def __init__(
        self,
        tz_name: str,
        value: datetime | None = None,
        *,
        clock: Clock = system_clock,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.set_reactive(SchedulePicker.tz_name, tz_name)
        self._clock = clock
        self.value: datetime | None = value
        self.problem: str | None = None
        self.fold: int | None = None
        self._initial = value
        self._evaluated_wall: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        date_text = time_text = ""
        if self._initial is not None:
            local = to_local(self._initial, self.tz_name)
            date_text, time_text = f"{local:%Y-%m-%d}", f"{local:%H:%M}"
            # Reopening a time in the repeated hour keeps the reading it was saved with.
            self.fold = local.fold
        with HorizontalGroup():
            yield Input(date_text, placeholder="YYYY-MM-DD", id="schedule-date")
            yield Input(time_text, placeholder="HH:MM", id="schedule-time")
            yield Label(self.tz_name, id="schedule-zone")
        yield Static("", id="schedule-note")
        with RadioSet(id="schedule-fold"):
            yield RadioButton("first", id="fold-first")
            yield RadioButton("second", id="fold-second")

    def on_mount(self) -> None:
        self._evaluate(announce=False)

    def watch_tz_name(self, tz_name: str) -> None:
        if not self.is_mounted:
            return
        self.query_one("#schedule-zone", Label).update(tz_name)
        self._evaluate()

    @property
    def note(self) -> str:
        """The explanation shown under the fields, as plain text."""
        return str(self.query_one("#schedule-note", Static).content)

    def set_value(self, value: datetime | None) -> None:
        """Show ``value`` (aware, any zone) as a wall time in the picker's zone."""
        if value is None:
            self.set_wall_time("", "")
            return
        local = to_local(value, self.tz_name)
        self.set_wall_time(f"{local:%Y-%m-%d}", f"{local:%H:%M}", fold=local.fold)

    def set_wall_time(self, date_text: str, time_text: str, *, fold: int | None = None) -> None:
        """Fill both fields, as a person typing them would (``fold``: which reading of a
        repeated time, when already known)."""
        with self.prevent(Input.Changed):
            self.query_one("#schedule-date", Input).value = date_text
            self.query_one("#schedule-time", Input).value = time_text
        self.fold = fold
        self._evaluate()

    @on(Input.Changed, "#schedule-date, #schedule-time")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._typed_wall() == self._evaluated_wall:
            return  # the fields' own start-up echo, or nothing new
        # A new wall time forgets the earlier choice between the two readings.
        self.fold = None
        self._evaluate()

    def _typed_wall(self) -> tuple[str, str]:
        return (
            self.query_one("#schedule-date", Input).value.strip(),
            self.query_one("#schedule-time", Input).value.strip(),
        )

    @on(RadioSet.Changed, "#schedule-fold")
    def _fold_chosen(self, event: RadioSet.Changed) -> None:
        event.stop()
        self.fold = 1 if event.pressed.id == "fold-second" else 0
        self._evaluate()

    def _evaluate(self, *, announce: bool = True) -> None:
        date_text, time_text = self._evaluated_wall = self._typed_wall()
        value: datetime | None = None
        problem: str | None = None
        note = ""
        mode = ""
        if date_text or time_text:
            value, problem, note, mode = self._read(date_text, time_text)
        for name in ("-gap", "-fold", "-invalid"):
            self.set_class(mode == name, name)
        self.value, self.problem = value, problem
        self.query_one("#schedule-note", Static).update(note)
        if announce:
            self.post_message(self.Changed(self, value, problem))

    def _read(self, date_text: str, time_text: str) -> tuple[datetime | None, str | None, str, str]:
        """(value, problem, note, mode class) for what is typed."""
        try:
            wall = datetime.strptime(f"{date_text} {time_text}", "%Y-%m-%d %H:%M")
        except ValueError:
            problem = "Type the date as YYYY-MM-DD and the time as HH:MM (24-hour clock)."
            return None, problem, problem, "-invalid"
        tz = ZoneInfo(self.tz_name)
        first = wall.replace(tzinfo=tz, fold=0)
        second = wall.replace(tzinfo=tz, fold=1)
        when = f"{wall:%H:%M} on {wall:%a %d %b %Y}"
        note = ""
        mode = ""
        if first.utcoffset() != second.utcoffset():
            wall_again = first.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None)
            if wall_again != wall:
                try:
                    local_to_utc(wall, self.tz_name)
                except InvalidInput as exc:
                    problem = str(exc)
                else:  # pragma: no cover - the zone database and the check disagree
                    problem = f"{when} does not exist in {self.tz_name}."
                return None, problem, problem, "-gap"
            self._label_fold_choices(wall, first, second)
            note = (
                f"{when} happens twice in {self.tz_name}: the clocks go back that night, "
                f"so the hour repeats. Choose the first ({first.tzname()}, "
                f"{_offset_text(first.utcoffset())}) or the second ({second.tzname()}, "
                f"{_offset_text(second.utcoffset())})."
            )
            if self.fold is None:
                return None, note, note, "-fold"
            mode = "-fold"
        try:
            value = local_to_utc(wall, self.tz_name, self.fold if mode else None)
        except InvalidInput as exc:  # pragma: no cover - guarded by the checks above
            return None, str(exc), str(exc), "-invalid"
        now = self._clock()
        if value <= now:
            problem = (
                f"{when} ({self.tz_name}) is in the past; it is now "
                f"{to_local(now, self.tz_name):%H:%M on %a %d %b %Y}."
            )
            return None, problem, problem, "-invalid"
        chosen = to_local(value, self.tz_name)
        summary = f"Goes out {chosen:%a %d %b %Y at %H:%M} {chosen.tzname()} ({value:%H:%M} UTC)."
        return value, None, f"{note}\n{summary}" if note else summary, mode

    def _label_fold_choices(self, wall: datetime, first: datetime, second: datetime) -> None:
        first_button = self.query_one("#fold-first", RadioButton)
        second_button = self.query_one("#fold-second", RadioButton)
        first_button.label = (
            f"the first {wall:%H:%M} ({first.tzname()}, {_offset_text(first.utcoffset())})"
        )
        second_button.label = (
            f"the second {wall:%H:%M} ({second.tzname()}, {_offset_text(second.utcoffset())})"
        )
        with self.prevent(RadioButton.Changed, RadioSet.Changed):
            first_button.value = self.fold == 0
            second_button.value = self.fold == 1
