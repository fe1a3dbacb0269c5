"""An image drawn with half-block characters, which every terminal can show.

Each character cell shows two pixels (upper half in the background colour, lower half
in the foreground colour of ``▄``), drawn by ``rich-pixels``. Decoding and scaling run
in a thread worker so a large photo never stalls the UI.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from rich_pixels import HalfcellRenderer, Pixels
from textual import work
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

#: Largest picture drawn, in cells; a preview, not a viewer.
MAX_COLUMNS = 80
MAX_ROWS = 40


def scale_to_cells(width: int, height: int, columns: int, rows: int) -> tuple[int, int]:
    """Pixel size that fits ``columns`` x ``rows`` cells (2 pixels per cell vertically).

    Keeps the aspect ratio; never returns a zero dimension.
    """
    columns = max(1, min(columns, MAX_COLUMNS))
    rows = max(1, min(rows, MAX_ROWS))
    scale = min(columns / width, (rows * 2) / height)
    return max(1, int(width * scale)), max(2, int(height * scale))


def render_halfblocks(data: bytes, columns: int, rows: int) -> Pixels:
    """Decode ``data`` and draw it in at most ``columns`` x ``rows`` cells.

    Raises ``ValueError`` when the bytes are not an image Pillow can read.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            size = scale_to_cells(image.width, image.height, columns, rows)
            scaled = image.convert("RGBA").resize(size, Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"not an image Gatepost can read ({exc.__class__.__name__})") from exc
    return Pixels.from_image(scaled, renderer=HalfcellRenderer())


class ImagePreview(Static):
    """Shows one image (bytes) scaled to the widget; say :meth:`show` to change it."""

    DEFAULT_CSS = """
    ImagePreview {
        height: auto;
        min-height: 3;
        color: $text-muted;
    }
    """

    @dataclass
    class Drawn(Message):
        """The image is on screen (or could not be read: ``error`` says why)."""

        preview: ImagePreview
        error: str | None

        @property
        def control(self) -> ImagePreview:
            return self.preview

    def __init__(
        self,
        data: bytes | None = None,
        *,
        columns: int = 40,
        rows: int = 14,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__("No image", id=id, classes=classes)
        self._columns = columns
        self._rows = rows
        self._data = data
        self.drawn: bool = False
        self.error: str | None = None

    def on_mount(self) -> None:
        if self._data is not None:
            self.show(self._data)

    def show(self, data: bytes | None) -> None:
        """Draw ``data`` (``None`` clears the preview)."""
        self._data = data
        self.drawn = False
        self.error = None
        if data is None:
            self.update("No image")
            return
        self.update("Drawing…")
        self._draw(data)

    @work(thread=True, exclusive=True, exit_on_error=False, group="image-preview")
    def _draw(self, data: bytes) -> None:
        try:
            pixels = render_halfblocks(data, self._columns, self._rows)
        except ValueError as exc:
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self._drawn, None, str(exc), data)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._drawn, pixels, None, data)

    def _drawn(self, pixels: Pixels | None, error: str | None, data: bytes) -> None:
        if data is not self._data:
            return  # a newer image was asked for meanwhile
        self.error = error
        self.drawn = pixels is not None
        self.update(pixels if pixels is not None else f"Cannot show this image: {error}")
        self.post_message(self.Drawn(self, error))
