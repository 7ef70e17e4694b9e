"""Regenerate the SVG screenshots in this folder from the real app.

    .venv/bin/python screenshots/make_screenshots.py

Uses the same ``make_app`` factory as the CLI and the tests, on a throwaway embedded
database filled with generated pictures, so the shots show what a user sees; the
login and accounts shots use a second one, with two users.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw
from textual.pilot import Pilot
from textual.widgets import Input

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository, NewMetadata
from imagerepo_tui.tui.app import make_app
from imagerepo_tui.tui.screens.browse import BrowseScreen
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.preview import PreviewPane

HERE = Path(__file__).resolve().parent
SIZE = (120, 36)


def _picture(path: Path, hue: int, frame: int = 0) -> Path:
    """A sunset-like gradient with a sun, different for each ``hue``; ``frame`` moves
    a bird across it, so a burst of shots are distinct files."""
    width, height = 480, 320
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        draw.line(
            [(0, y), (width, y)],
            fill=(int(255 * (1 - t)), int(120 + 100 * math.sin(hue + t * 3)) % 256, int(180 * t)),
        )
    radius = 40 + hue * 5
    centre = (120 + hue * 40, 160)
    draw.ellipse(
        [centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius],
        fill=(255, 220, 90),
    )
    if frame:
        x, y = 20 + frame % 440, 40 + frame // 440 * 20
        draw.line([(x - 6, y - 3), (x, y), (x + 6, y - 3)], fill=(30, 30, 40), width=2)
    image.save(path, quality=90)
    return path


def _fill(settings: Settings, folder: Path) -> None:
    repository = ImageRepository.open(settings)
    try:
        names = ["harbour", "dunes", "lighthouse", "pier", "cliffs", "sunset"]
        for n, name in enumerate(names):
            path = _picture(folder / f"{name}.jpg", n)
            metadata = NewMetadata(
                title=name.title(),
                tags=["holiday", "2026"] if n % 2 else ["holiday", "sea"],
                collection="Summer 2026" if n < 4 else "Coast walks",
            )
            repository.upload(path, metadata)
        trashed = repository.upload(_picture(folder / "blurry.jpg", 7)).image
        if trashed is not None:
            repository.delete(trashed.id)
    finally:
        repository.close()


async def _shoot(settings: Settings) -> None:
    app = make_app(settings, graphics="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        gallery = app.screen.query_one(Gallery)
        while not gallery.loaded_once:
            await pilot.pause(0.05)
        await pilot.press("j")
        pane = app.screen.query_one(PreviewPane)
        while pane.shown is None or pane.shown[1] != "full":
            await pilot.pause(0.05)
        app.save_screenshot(str(HERE / "browse.svg"))
        await pilot.press("enter")
        full = app.screen.query_one(PreviewPane)
        while full.shown is None or full.shown[1] != "full":
            await pilot.pause(0.05)
        app.save_screenshot(str(HERE / "preview.svg"))
        await pilot.press("escape", "e")
        await pilot.pause(0.2)
        app.save_screenshot(str(HERE / "edit.svg"))
        await _shot(pilot, ["escape", "d"], "delete.svg")
        await _shot(pilot, ["n", "u"], "upload.svg", settle=2.0)
        await _shot(pilot, ["escape", "/", *"tag:sea sort:name", "enter"], "search.svg")
        await _shot(pilot, ["escape", "c"], "collections.svg")
        await _shot(pilot, ["escape", "t"], "trash.svg")


async def _shoot_background_upload(settings: Settings, camera: Path) -> None:
    """A camera folder uploading with its dialog hidden: the status line says how far
    it is while the gallery is browsed."""
    app = make_app(settings, graphics="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        gallery = app.screen.query_one(Gallery)
        while not gallery.loaded_once:
            await pilot.pause(0.05)
        app.browse.start_upload([camera], recursive=True)
        await pilot.pause(0.5)
        await pilot.press("b")
        job = app.running_upload()
        while job is not None and job.running and gallery.rows.total < 40:
            await pilot.pause(0.05)
        await pilot.pause(1.1)  # the status line follows once a second
        pane = app.screen.query_one(PreviewPane)
        while pane.shown is None or pane.shown[1] != "full":
            await pilot.pause(0.05)
        app.save_screenshot(str(HERE / "background-upload.svg"))
        if job is not None:
            job.cancel()
            while job.running:
                await pilot.pause(0.05)


def _fill_accounts(settings: Settings, folder: Path) -> None:
    """alice shares some of her pictures, bob has his own; the shots are bob's view."""
    repository = ImageRepository.open(settings)
    try:
        repository.add_user("alice", "alice-password")
        repository.login("alice", "alice-password")
        repository.add_user("bob", "bob-password")
        for n, name in enumerate(["lighthouse", "harbour", "secret cove"]):
            path = _picture(folder / f"alice-{n}.jpg", n + 1)
            image = repository.upload(path, NewMetadata(title=name.title(), tags=["sea"])).image
            if image is not None and name != "secret cove":
                repository.set_public(image.id, True)
        repository.login("bob", "bob-password")
        for n, name in enumerate(["dunes", "pier", "cliffs"]):
            path = _picture(folder / f"bob-{n}.jpg", n + 4)
            image = repository.upload(path, NewMetadata(title=name.title())).image
            if image is not None and name == "pier":
                repository.set_public(image.id, True)
    finally:
        repository.close()


async def _shoot_accounts(settings: Settings) -> None:
    app = make_app(dataclasses.replace(settings, user="bob"), graphics="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        # Keys pressed before the password field has focus would be lost.
        while not isinstance(app.focused, Input) or app.focused.id != "login-password":
            await pilot.pause(0.05)
        await pilot.press(*"bob-pass")  # typed so far: shown as dots
        await pilot.pause(0.3)
        app.save_screenshot(str(HERE / "login.svg"))
        await pilot.press(*"word", "enter")
        while not isinstance(app.screen, BrowseScreen):
            await pilot.pause(0.05)
        gallery = app.screen.query_one(Gallery)
        while not gallery.loaded_once:
            await pilot.pause(0.05)
        await pilot.press("j", "j", "j")  # alice's harbour, which she shares
        pane = app.screen.query_one(PreviewPane)
        while pane.shown is None or pane.shown[1] != "full":
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        app.save_screenshot(str(HERE / "accounts.svg"))


def _fill_duplicates(settings: Settings, folder: Path) -> None:
    """Three pictures, two of them with smaller, re-encoded copies: two groups."""
    repository = ImageRepository.open(settings)
    try:
        for n, name in enumerate(["harbour", "dunes", "pier"]):
            path = _picture(folder / f"{name}.jpg", n)
            repository.upload(path, NewMetadata(tags=["holiday"]))
            if n < 2:
                with Image.open(path) as image:
                    copy = folder / f"{name}-small.jpg"
                    image.reduce(2).save(copy, quality=60)
                repository.upload(copy, NewMetadata(tags=["phone"]))
    finally:
        repository.close()


async def _shoot_duplicates(settings: Settings) -> None:
    from imagerepo_tui.tui.screens.duplicates import DuplicatesScreen

    app = make_app(settings, graphics="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        gallery = app.screen.query_one(Gallery)
        while not gallery.loaded_once:
            await pilot.pause(0.05)
        await pilot.press("S")
        while not isinstance(app.screen, DuplicatesScreen) or not app.screen.groups:
            await pilot.pause(0.05)
        await _shot(pilot, ["l"], "duplicates.svg", settle=1.5)


def make_duplicates_shot(root: Path, pictures: Path) -> None:
    settings = Settings(data_dir=root / "dupes", embedded_idle_seconds=2)
    _fill_duplicates(settings, pictures)
    asyncio.run(_shoot_duplicates(settings))


async def _shot(pilot: Pilot[None], keys: list[str], name: str, settle: float = 1.0) -> None:
    """Press ``keys``, let workers and previews settle, save the screen as ``name``."""
    await pilot.press(*keys)
    await pilot.pause(settle)  # some screens keep workers running (the picker's tree)
    pilot.app.save_screenshot(str(HERE / name))


def main() -> int:
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        settings = Settings(data_dir=root / "data", embedded_idle_seconds=2)
        pictures = root / "Pictures"
        pictures.mkdir()
        _fill(settings, pictures)
        os.chdir(pictures)  # the upload picker opens in the current folder
        asyncio.run(_shoot(settings))
        camera = root / "Camera"
        camera.mkdir()
        for n in range(400):  # enough to be still uploading when the shot is taken
            _picture(camera / f"IMG_{n:04d}.jpg", n % 9, frame=n + 1)
        asyncio.run(_shoot_background_upload(settings, camera))
        shared = Settings(data_dir=root / "shared", embedded_idle_seconds=2)
        _fill_accounts(shared, pictures)
        asyncio.run(_shoot_accounts(shared))
        make_duplicates_shot(root, pictures)
    print(f"wrote {', '.join(p.name for p in sorted(HERE.glob('*.svg')))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
