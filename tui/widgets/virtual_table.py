"""A table that shows a window onto rows it never holds all at once.

Textual's DataTable keeps every row (and a rendered line per row) in memory, which is
fine for hundreds of posts and hopeless for a hundred thousand. This widget only knows
the total row count and the pages of rows near the viewport; it asks its `PageSource`
for more, in a thread worker, as the user scrolls.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker, WorkerState

PAGE_SIZE = 100
# Pages kept in memory: enough for fast scrolling back and forth, small enough that a
# long session over 100k rows stays at a few thousand rows.
CACHED_PAGES = 24


class PageSource(Protocol):
    """What the table reads from: a row count and pages of rows, both blocking calls.

    Both run in a worker thread. A source stands for one query (one filter and sort);
    the owner of the table sets a new source when the query changes.
    """

    def count(self) -> int: ...

    def page(self, offset: int, limit: int) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Column:
    """One column: a key (for sorting), a header label and a width in cells.

    A width of None makes the column take whatever width the fixed columns leave.
    """

    key: str
    label: str
    width: int | None = None
    justify: Literal["left", "right"] = "left"


CellRenderer = Callable[[Any], Sequence[str | Text]]


class VirtualTable(ScrollView, can_focus=True):
    """A scrolling, keyboard-driven table over a `PageSource` of any size."""

    HELP_GROUP = "Table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--loading",
        "virtual-table--empty",
    }

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-gutter: stable;
    }
    VirtualTable > .virtual-table--header {
        text-style: bold;
        background: $panel;
        color: $text;
    }
    VirtualTable > .virtual-table--cursor {
        background: $block-cursor-blurred-background;
    }
    VirtualTable:focus > .virtual-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    VirtualTable > .virtual-table--loading {
        color: $text-muted;
    }
    VirtualTable > .virtual-table--empty {
        color: $text-muted;
        text-style: italic;
    }
    """

    cursor_row: reactive[int] = reactive(0, always_update=True)

    class RowHighlighted(Message):
        """The cursor moved onto a row (sent once the row's page is loaded)."""

        def __init__(self, table: VirtualTable, index: int, row: Any) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.row = row

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(Message):
        """The user pressed enter (or double-clicked) on a row."""

        def __init__(self, table: VirtualTable, index: int, row: Any) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.row = row

        @property
        def control(self) -> VirtualTable:
            return self.table

    class HeaderSelected(Message):
        """The user clicked a column header (the owner decides how to sort)."""

        def __init__(self, table: VirtualTable, column_key: str) -> None:
            super().__init__()
            self.table = table
            self.column_key = column_key

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Loaded(Message):
        """A new source's count and first rows arrived and are on screen."""

        def __init__(self, table: VirtualTable, total: int) -> None:
            super().__init__()
            self.table = table
            self.total = total

        @property
        def control(self) -> VirtualTable:
            return self.table

    class LoadFailed(Message):
        """Reading from the source raised; the owner shows the reason."""

        def __init__(self, table: VirtualTable, error: BaseException) -> None:
            super().__init__()
            self.table = table
            self.error = error

        @property
        def control(self) -> VirtualTable:
            return self.table

    @dataclass
    class _Counted(Message):
        generation: int
        total: int

    @dataclass
    class _QueryDone(Message):
        generation: int

    @dataclass
    class _FirstPage(Message):
        generation: int
        rows: Sequence[Any]

    @dataclass
    class _PageArrived(Message):
        generation: int
        page: int
        rows: Sequence[Any]

    def __init__(
        self,
        columns: Sequence[Column],
        render_cells: CellRenderer,
        *,
        empty_message: str = "Nothing to show.",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.render_cells = render_cells
        self.empty_message = empty_message
        self.sort_key: str | None = None
        self.sort_descending = False
        self.total: int | None = None
        self._source: PageSource | None = None
        # Each new source bumps the generation; results of older ones are dropped, so a
        # slow query for "ca" can never overwrite the rows for "cat".
        self._generation = 0
        # The generation whose first page and count are being read (None: idle).
        self._query_generation: int | None = None
        self._pages_generation = 0
        self._first_page_out = False
        self.total_is_exact = False
        self._pages: OrderedDict[int, Sequence[Any]] = OrderedDict()
        self._pages_in_flight: set[int] = set()
        self._want_cursor_row: int | None = None
        # The generation whose rows were last drawn (for tests and the benchmark: "the
        # rows of the newest query are on screen" is `painted_generation == generation`).
        self.painted_generation = 0
        self._line_cache: dict[tuple[int, int, Style], tuple[Any, Strip]] = {}

    # -- the owner's side -------------------------------------------------------------

    @property
    def source(self) -> PageSource | None:
        return self._source

    @source.setter
    def source(self, source: PageSource) -> None:
        """Show another query; the current rows stay until the new ones arrive."""
        self._source = source
        self._generation += 1
        if self._query_generation is None:
            self._start_query()
        # else: the query in flight finishes first, then the newest source is read (at
        # most one query runs at a time: typing fast coalesces into the last one).

    def reload(self, keep_cursor: bool = True) -> None:
        """Read the current source again (rows changed underneath it)."""
        if self._source is None:
            return
        if keep_cursor:
            self._want_cursor_row = self.cursor_row
        self.source = self._source

    @property
    def generation(self) -> int:
        """Bumped by every new source (every query)."""
        return self._generation

    @property
    def is_loading(self) -> bool:
        return self._query_generation is not None or bool(self._pages_in_flight)

    def row_at(self, index: int) -> Any | None:
        """The row at `index` if its page is loaded, else None."""
        page = self._pages.get(index // PAGE_SIZE)
        if page is None:
            return None
        offset = index % PAGE_SIZE
        return page[offset] if offset < len(page) else None

    @property
    def cursor_value(self) -> Any | None:
        """The row under the cursor, if loaded."""
        if not self.total:
            return None
        return self.row_at(self.cursor_row)

    def move_cursor(self, index: int) -> None:
        self.cursor_row = index

    def loaded_rows(self) -> list[Any]:
        """The rows currently in memory, in order (for tests and the benchmark)."""
        rows: list[Any] = []
        for page in sorted(self._pages):
            rows.extend(self._pages[page])
        return rows

    # -- loading ----------------------------------------------------------------------

    def _start_query(self) -> None:
        source = self._source
        if source is None:
            return
        generation = self._generation
        self._query_generation = generation

        def read() -> None:
            # The rows first: they are what the user waits to see. Then the count,
            # unless the user has typed on meanwhile (a stale count only delays the
            # next query). One read at a time keeps SQLite from splitting its effort.
            self.post_message(self._FirstPage(generation, source.page(0, PAGE_SIZE)))
            if self._generation != generation:
                self.post_message(self._QueryDone(generation))
                return
            self.post_message(self._Counted(generation, source.count()))

        self._first_page_out = True
        self.run_worker(read, name="query", group="virtual-table", thread=True, exit_on_error=False)

    def _query_finished(self) -> None:
        finished = self._query_generation
        self._query_generation = None
        if finished != self._generation:
            # The query changed while this one ran: read the newest one now.
            self._start_query()

    def _adopt_generation(self, generation: int) -> None:
        """The first answer for a new query: forget the old query's rows."""
        if self._pages_generation == generation:
            return
        self._pages_generation = generation
        self._pages.clear()
        self._pages_in_flight.clear()
        self.total_is_exact = False

    def _request_page(self, page: int) -> None:
        if page in self._pages or page in self._pages_in_flight or self._source is None:
            return
        if page == 0 and self._first_page_out:
            return
        source = self._source
        generation = self._generation
        self._pages_in_flight.add(page)

        def load_page() -> None:
            rows = source.page(page * PAGE_SIZE, PAGE_SIZE)
            self.post_message(self._PageArrived(generation, page, rows))

        self.run_worker(
            load_page,
            name=f"page-{page}",
            group="virtual-table-page",
            thread=True,
            exit_on_error=False,
        )

    @on(_QueryDone)
    def _query_done(self, message: _QueryDone) -> None:
        message.stop()
        self._query_finished()

    @on(_Counted)
    def _counted(self, message: _Counted) -> None:
        message.stop()
        self._query_finished()
        if message.generation != self._generation:
            return
        rows_shown = self._pages_generation == message.generation and 0 in self._pages
        self._adopt_generation(message.generation)
        self.total = message.total
        self.total_is_exact = True
        # When the first rows are already on screen, the user may have moved: keep it.
        self._place_cursor(reset=not rows_shown)
        self.post_message(self.Loaded(self, message.total))

    def _place_cursor(self, reset: bool = True) -> None:
        assert self.total is not None
        self.virtual_size = Size(self.size.width, self.total + 1)
        wanted = self._want_cursor_row
        if wanted is not None and self.total and self.total_is_exact:
            self._want_cursor_row = None
            self.cursor_row = min(wanted, self.total - 1)
        elif wanted is None and reset:
            if self.cursor_row != 0 or round(self.scroll_y) != 0:
                self.scroll_to(y=0, animate=False, immediate=True)
            self.cursor_row = 0
        else:
            self.cursor_row = self.cursor_row  # clamp to the new total
        self.refresh()

    def _painted(self, generation: int) -> None:
        self.painted_generation = generation

    @on(_FirstPage)
    def _first_page(self, message: _FirstPage) -> None:
        message.stop()
        self._first_page_out = False
        if message.generation != self._generation:
            return
        self._adopt_generation(message.generation)
        self._store_page(0, message.rows)
        if not self.total_is_exact:
            # Until the count arrives: a short first page is the whole answer; a full
            # one says "at least this many".
            self.total = len(message.rows)
            self.total_is_exact = len(message.rows) < PAGE_SIZE
            if self.total_is_exact:
                self.post_message(self.Loaded(self, self.total))
            self._place_cursor()
        self.call_after_refresh(self._painted, message.generation)
        self.refresh()
        if self.cursor_row < PAGE_SIZE:
            self._announce_cursor()

    @on(_PageArrived)
    def _page_arrived(self, message: _PageArrived) -> None:
        message.stop()
        self._pages_in_flight.discard(message.page)
        if message.generation != self._generation:
            return
        self._store_page(message.page, message.rows)
        self.refresh()
        if self.cursor_row // PAGE_SIZE == message.page:
            self._announce_cursor()

    def _store_page(self, page: int, rows: Sequence[Any]) -> None:
        self._pages[page] = rows
        while len(self._pages) > CACHED_PAGES:
            self._pages.popitem(last=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        event.stop()
        if event.worker.name == "query":
            self._first_page_out = False
            self._query_finished()
        else:
            self._pages_in_flight.discard(int(event.worker.name.removeprefix("page-")))
        error = event.worker.error
        assert error is not None
        self.post_message(self.LoadFailed(self, error))

    # -- cursor -----------------------------------------------------------------------

    @property
    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def validate_cursor_row(self, value: int) -> int:
        if not self.total:
            return 0
        return max(0, min(value, self.total - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        top = round(self.scroll_y)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + self._visible_rows:
            self.scroll_to(y=new - self._visible_rows + 1, animate=False, immediate=True)
        self.refresh()
        self._announce_cursor()

    def _announce_cursor(self) -> None:
        row = self.cursor_value
        if row is None:
            if self.total:
                self._request_page(self.cursor_row // PAGE_SIZE)
            return
        self.post_message(self.RowHighlighted(self, self.cursor_row, row))

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_page_up(self) -> None:
        self.cursor_row -= self._visible_rows

    def action_page_down(self) -> None:
        self.cursor_row += self._visible_rows

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = (self.total or 1) - 1

    def action_select(self) -> None:
        row = self.cursor_value
        if row is not None:
            self.post_message(self.RowSelected(self, self.cursor_row, row))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            key = self._column_at(offset.x)
            if key is not None:
                self.post_message(self.HeaderSelected(self, key))
            return
        index = round(self.scroll_y) + offset.y - 1
        if self.total and index < self.total:
            self.cursor_row = index
            if event.chain == 2:
                self.action_select()

    # -- rendering --------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, (self.total or 0) + 1)

    def _widths(self, width: int) -> list[int]:
        fixed = sum(c.width or 0 for c in self.columns) + len(self.columns) - 1
        flexible = [c for c in self.columns if c.width is None]
        spare = max(0, width - fixed)
        each = spare // len(flexible) if flexible else 0
        return [c.width if c.width is not None else max(each, 4) for c in self.columns]

    def _column_at(self, x: int) -> str | None:
        position = 0
        for column, width in zip(
            self.columns, self._widths(self.scrollable_content_region.width), strict=True
        ):
            if position <= x < position + width + 1:
                return column.key
            position += width + 1
        return None

    def _line(self, cells: Sequence[str | Text], width: int, style: Style) -> Strip:
        segments: list[Segment] = []
        console = self.app.console
        widths = self._widths(width)
        for number, (column, cell, cell_width) in enumerate(
            zip(self.columns, cells, widths, strict=True)
        ):
            text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
            text.no_wrap = True
            text.end = ""
            text.truncate(cell_width, overflow="ellipsis")
            text.justify = column.justify
            text.align(column.justify, cell_width)
            if number:
                segments.append(Segment(" ", style))
            # Text.render leaves out the Text's own base style; put it back under the spans.
            cell_style = console.get_style(text.style) if text.style else Style.null()
            segments.extend(Segment.apply_style(text.render(console), cell_style))
        strip = Strip(segments).apply_style(style)
        return strip.crop_extend(0, width, style)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("virtual-table--header")
            labels: list[str | Text] = []
            for column in self.columns:
                label = column.label
                if column.key == self.sort_key:
                    label += " ▼" if self.sort_descending else " ▲"
                labels.append(label)
            return self._line(labels, width, base + header)
        if self.total is None:
            return Strip.blank(width, base)
        index = round(self.scroll_y) + y - 1
        if self.total == 0:
            if y == 1:
                empty = self.get_component_rich_style("virtual-table--empty")
                return Strip([Segment(self.empty_message, base + empty)]).crop_extend(
                    0, width, base
                )
            return Strip.blank(width, base)
        if index >= self.total:
            return Strip.blank(width, base)
        row = self.row_at(index)
        style = base
        if index == self.cursor_row:
            style = base + self.get_component_rich_style("virtual-table--cursor")
        if row is None:
            self._request_page(index // PAGE_SIZE)
            loading = self.get_component_rich_style("virtual-table--loading")
            return Strip([Segment("  …", style + loading)]).crop_extend(0, width, style)
        # Rendering a row's cells is the costly part of a frame; a row is redrawn on
        # every refresh, so keep its line until the query, the width or the cursor moves.
        key = (index, width, style)
        line = self._line_cache.get(key)
        if line is None or line[0] is not row:
            line = (row, self._line(self.render_cells(row), width, style))
            self._line_cache[key] = line
            if len(self._line_cache) > 400:
                self._line_cache.clear()
        return line[1]
