"""The metadata pane: everything stored about the highlighted image, as plain text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.widgets import Static

from imagerepo_tui.ratings import FAVORITE_MARK, stars
from imagerepo_tui.records import ImageInfo
from imagerepo_tui.textsafe import visible
from imagerepo_tui.units import human_size


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


# Another client may store thousands of EXIF entries or a megabyte of description:
# drawing all of it froze the app on one keypress (2.3 s for 5,000 EXIF keys). The
# pane shows this much; ``imagerepo-tui info ID`` prints everything.
MAX_EXIF_ROWS = 60
MAX_VALUE_CHARS = 600
MAX_LABEL_CHARS = 40


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def _value(value: Any) -> Text:
    # Text(), never markup: a title like "[@click=app.quit]" must stay literal. Cut
    # before escaping, so a huge value costs nothing.
    return Text(visible(_cut(str(value), MAX_VALUE_CHARS)))


def _damage(info: ImageInfo) -> list[tuple[str, Text]]:
    """What is wrong with a document the app did not write as it would have."""
    return [("Damaged", Text(visible(problem), style="bold red")) for problem in info.damaged]


def _exif(info: ImageInfo) -> list[tuple[str, Text]]:
    keys = sorted(info.exif)
    rows = [
        (f"EXIF {visible(_cut(key, MAX_LABEL_CHARS))}", _value(info.exif[key]))
        for key in keys[:MAX_EXIF_ROWS]
    ]
    if len(keys) > MAX_EXIF_ROWS:
        more = f"… and {len(keys) - MAX_EXIF_ROWS:,} more (imagerepo-tui info {info.id})"
        rows.append(("EXIF", Text(visible(more), style="dim")))
    return rows


def _sharing(info: ImageInfo, viewer: str) -> list[tuple[str, Text]]:
    """Owner and visibility, in a library with accounts."""
    owner = "you" if info.owner == viewer else visible(info.owner_name or "unknown user")
    if info.public:
        visibility = Text.assemble(("public", "bold green"), ": every user can see it")
    else:
        visibility = Text.assemble(("private", "bold"), ": only its owner can see it")
    return [("Owner", Text(owner)), ("Visibility", visibility)]


def _judgement(info: ImageInfo) -> list[tuple[str, Text]]:
    """Rating, favourite and rotation (``ratings.py``), each only when set."""
    rows: list[tuple[str, Text]] = []
    if info.rating:
        rows.append(("Rating", Text(f"{stars(info.rating)} ({info.rating} of 5)", style="yellow")))
    if info.favorite:
        rows.append(("Favourite", Text(f"{FAVORITE_MARK} yes", style="red")))
    if info.rotation:
        turn = f"{info.rotation}° clockwise (drawn turned; the original is unchanged)"
        rows.append(("Rotation", Text(turn)))
    return rows


def metadata_rows(info: ImageInfo, viewer: str | None = None) -> list[tuple[str, Text]]:
    """The pane's rows; ``viewer`` (the logged-in user's id, None in personal mode)
    adds who owns the image and who can see it."""
    frames = f", {info.frames} frames" if info.frames > 1 else ""
    rows: list[tuple[str, Text]] = [
        *_damage(info),
        ("File", _value(info.filename or "—")),
        ("Title", _value(info.title or "—")),
        ("Description", _value(info.description or "—")),
        ("Tags", _value(", ".join(info.tags[:MAX_VALUE_CHARS]) or "—")),
        *(_sharing(info, viewer) if viewer is not None else ()),
        *_judgement(info),
        ("Format", _value(f"{info.format} ({info.mime}){frames}")),
        ("Size", _value(f"{human_size(info.size)} ({info.size:,} bytes)")),
        ("Dimensions", _value(f"{info.width} × {info.height}")),
        ("Taken", _value(_when(info.taken_at))),
        ("Uploaded", _value(_when(info.created_at))),
        ("Changed", _value(_when(info.updated_at))),
    ]
    rows.extend(_exif(info))
    rows.append(("Id", _value(info.id)))
    return rows


class MetadataPane(Static, can_focus=True):
    """Read-only facts about one image; focusable so it can scroll when long."""

    DEFAULT_CSS = """
    MetadataPane { width: 1fr; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.info: ImageInfo | None = None
        # The logged-in user's id in a library with accounts; None in personal mode.
        self.viewer: str | None = None

    def show(self, info: ImageInfo | None) -> None:
        self.info = info
        if info is None:
            self.update(Text("No image selected.", style="dim"))
            return
        rows = metadata_rows(info, self.viewer)
        width = max(len(label) for label, _ in rows) + 1
        text = Text()
        for label, value in rows:
            text.append(label.ljust(width), style="bold")
            text.append_text(value)
            text.append("\n")
        text.rstrip()
        self.update(text)
