"""The upload picker's preview pane: a local file's picture and facts, or a few
thumbnails of a folder's images, decoded in a thread worker with stale work dropped."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from PIL import Image as PILImage
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual.worker import get_current_worker
from textual_image.widget._base import Image as ImageWidget

from imagerepo_tui import imaging, picture_views
from imagerepo_tui.files import read_upload_file
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import host
from imagerepo_tui.tui.paths import looks_like_image
from imagerepo_tui.tui.widgets.preview import get_cell_size, image_widget_class
from imagerepo_tui.units import MIB, human_size

# A folder of 10,000 camera files must not keep a worker busy: a few small pictures
# from the first entries, files over the size cap skipped unread.
FOLDER_TILES = 6
FOLDER_ATTEMPTS = 3 * FOLDER_TILES  # files tried, decoded or not
FOLDER_SCAN_LIMIT = 2000  # entries read from the folder
TILE_MAX_BYTES = 16 * MIB
TILE_BOX = (240, 240)


class FilePreview(Vertical):
    """Preview and facts of a local file or folder, decoded in a worker."""

    def __init__(self, graphics: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._image_class = image_widget_class(graphics)
        self._path: Path | None = None

    def compose(self) -> ComposeResult:
        if self._image_class is not None:
            yield self._image_class(None, classes="preview-image")
        yield Static("", id="file-facts", markup=False)

    def _box(self) -> tuple[int, int]:
        cell = get_cell_size()
        return (max(1, self.size.width) * cell.width, max(1, self.size.height - 3) * cell.height)

    def show(self, path: Path | None) -> None:
        self._path = path
        if path is None:
            self._apply(path, None, "")
        elif self._image_class is None and path.is_dir():
            self._apply(path, None, f"Folder {visible(str(path))}")
        elif path.is_dir():
            self._load_folder(path, self._box())
        else:
            self._load(path, self._box())

    @work(thread=True, exclusive=True, group="file-preview", exit_on_error=False)
    def _load(self, path: Path, box: tuple[int, int]) -> None:
        settings = host(self).settings
        image: PILImage.Image | None = None
        try:
            data = read_upload_file(path, settings.max_file_bytes)
            facts = imaging.inspect_image(data, max_pixels=settings.max_pixels)
            image = imaging.render_preview(data, box)
            text = f"{facts.format}  {facts.width}×{facts.height}  {human_size(len(data))}"
        except Exception as error:  # any bad file is a message here, not a crash
            text = f"not uploadable: {visible(str(error))}"  # an OSError names the file
        self._post(path, image, f"{visible(path.name)}\n{text}")

    @work(thread=True, exclusive=True, group="file-preview", exit_on_error=False)
    def _load_folder(self, path: Path, box: tuple[int, int]) -> None:
        """The first few images of the folder (by name, among its first entries)."""
        worker = get_current_worker()
        max_pixels = host(self).settings.max_pixels
        names, complete = _image_names(path)
        tiles: list[PILImage.Image] = []
        for name in names[:FOLDER_ATTEMPTS]:  # a folder of damaged files gives up soon
            if len(tiles) >= FOLDER_TILES or worker.is_cancelled:
                break
            try:
                data = read_upload_file(path / name, TILE_MAX_BYTES)
                tiles.append(imaging.render_preview(data, TILE_BOX, max_pixels=max_pixels))
            except Exception:  # a file that does not decode is left out of the sheet
                continue
        if worker.is_cancelled:
            return
        count = f"{len(names):,}" if complete else f"{len(names):,}+"
        text = f"Folder {visible(path.name or str(path))}\n{count} image files"
        if tiles:
            text += f", the first {len(tiles)} shown"
        image = None
        if tiles:
            columns = 2 if box[1] > box[0] else 3
            image = picture_views.contact_sheet(tiles, box, columns)
        self._post(path, image, text)

    def _post(self, path: Path, image: PILImage.Image | None, text: str) -> None:
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._apply, path, image, text)

    def _apply(self, path: Path | None, image: PILImage.Image | None, text: str) -> None:
        if path != self._path:
            return  # the highlight moved on meanwhile
        if self._image_class is not None:
            self.query_one(".preview-image", ImageWidget).image = image
        self.query_one("#file-facts", Static).update(Text(text))


def _image_names(folder: Path) -> tuple[list[str], bool]:
    """Image-looking file names among the folder's first entries, sorted, and whether
    the whole folder was read."""
    names: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for count, entry in enumerate(entries):
                if count >= FOLDER_SCAN_LIMIT:
                    return sorted(names), False
                if entry.name.startswith(".") or not looks_like_image(Path(entry.name)):
                    continue
                if entry.is_file():
                    names.append(entry.name)
    except OSError:
        pass
    return sorted(names), True
