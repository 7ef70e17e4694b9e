"""Regenerate the SVG screenshots in this folder from the real app.

    .venv/bin/python screenshots/make_screenshots.py

Uses the same ``make_app`` factory as the CLI and the tests, on a throwaway embedded
database filled with real photographs (scikit-image's samples: install the
``screenshots`` extra), so the shots show what a user sees; the login and accounts
shots use a second one, with two users.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

from PIL import Image
from textual.pilot import Pilot
from textual.widgets import Input

from imagerepo_tui.config import Settings
from imagerepo_tui.ratings import Adjustment
from imagerepo_tui.repository import ImageRepository, NewMetadata
from imagerepo_tui.tui.app import make_app
from imagerepo_tui.tui.screens.browse import BrowseScreen
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.preview import PreviewPane

HERE = Path(__file__).resolve().parent
SIZE = (120, 36)


# Photographs shipped inside scikit-image, all free to use: CC0 (chelsea, coffee,
# camera, grass, brick, gravel, retina) or public domain (rocket, astronaut,
# hubble_deep_field; coins and moon carry no known restrictions).
PHOTOS = (
    "coffee",
    "chelsea",
    "rocket",
    "astronaut",
    "hubble_deep_field",
    "coins",
    "moon",
    "gravel",
    "brick",
    "grass",
    "camera",
    "retina",
)


def _photo(path: Path, name: str, frame: int = 0) -> Path:
    """One of scikit-image's sample photographs as a JPEG of at most 640 pixels;
    ``frame`` crops it a little differently, so a burst of shots are distinct files."""
    try:
        from skimage import data
    except ImportError:
        sys.exit("the sample photos come with scikit-image: pip install -e '.[screenshots]'")
    image = Image.fromarray(getattr(data, name)()).convert("RGB")
    image.thumbnail((640, 640))
    if frame:
        dx, dy = frame % 20, frame // 20 % 20
        image = image.crop((dx, dy, image.width - 20 + dx, image.height - 20 + dy))
    image.save(path, quality=88)
    return path


def _fill(settings: Settings, folder: Path) -> None:
    repository = ImageRepository.open(settings)
    try:
        shots = [
            ("coffee", "Morning coffee", ["home"], "At home"),
            ("chelsea", "Chelsea on the sofa", ["home", "cat"], "At home"),
            ("rocket", "Falcon 9 on the pad", ["space", "launch"], "Space"),
            ("astronaut", "Eileen Collins", ["space", "people"], "Space"),
            ("hubble_deep_field", "Hubble deep field", ["space"], "Space"),
            ("coins", "Old coins", ["museum"], "At home"),
        ]
        # Stars and favourites, as a photographer marks the keepers.
        judged = {"coffee": Adjustment(rating=5, favorite=True), "rocket": Adjustment(rating=4)}
        judged["chelsea"] = Adjustment(rating=3, favorite=True)
        for name, title, tags, collection in shots:
            path = _photo(folder / f"{name}.jpg", name)
            metadata = NewMetadata(title=title, tags=tags, collection=collection)
            image = repository.upload(path, metadata).image
            if image is not None and name in judged:
                repository.adjust(image.id, judged[name])
        trashed = repository.upload(_photo(folder / "blurry.jpg", "camera", frame=7)).image
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
        await _shot(pilot, ["v", "l"], "grid.svg", settle=2.0)
        await pilot.press("h", "v")
        while pane.shown is None or pane.shown[1] != "full":
            await pilot.pause(0.05)
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
        await _shot(pilot, ["escape", "/", *"tag:space sort:name", "enter"], "search.svg")
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
        alices = [("moon", "Moon at dusk"), ("gravel", "Garden path"), ("brick", "Old wall")]
        for name, title in alices:
            path = _photo(folder / f"alice-{name}.jpg", name)
            image = repository.upload(path, NewMetadata(title=title, tags=["walks"])).image
            if image is not None and name != "brick":  # her old wall stays private
                repository.set_public(image.id, True)
        repository.login("bob", "bob-password")
        for name, title in [("grass", "Lawn"), ("camera", "Cameraman"), ("retina", "Eye test")]:
            path = _photo(folder / f"bob-{name}.jpg", name)
            image = repository.upload(path, NewMetadata(title=title)).image
            if image is not None and name == "camera":
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
        await pilot.press("j", "j", "j")  # alice's garden path, which she shares
        pane = app.screen.query_one(PreviewPane)
        while pane.shown is None or pane.shown[1] != "full":
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        app.save_screenshot(str(HERE / "accounts.svg"))


def _fill_duplicates(settings: Settings, folder: Path) -> None:
    """Three pictures, two of them with smaller, re-encoded copies: two groups."""
    repository = ImageRepository.open(settings)
    try:
        for n, name in enumerate(["chelsea", "coffee", "rocket"]):
            path = _photo(folder / f"{name}.jpg", name)
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
        # What the app remembers (grid or list, recent folders) starts empty, and the
        # user's own file is left alone.
        os.environ["IMAGEREPO_STATE"] = str(root / "state.json")
        settings = Settings(data_dir=root / "data", embedded_idle_seconds=2)
        pictures = root / "Pictures"
        pictures.mkdir()
        _fill(settings, pictures)
        os.chdir(pictures)  # the upload picker opens in the current folder
        asyncio.run(_shoot(settings))
        camera = root / "Camera"
        camera.mkdir()
        for n in range(400):  # enough to be still uploading when the shot is taken
            _photo(camera / f"IMG_{n:04d}.jpg", PHOTOS[n % len(PHOTOS)], frame=n + 1)
        asyncio.run(_shoot_background_upload(settings, camera))
        shared = Settings(data_dir=root / "shared", embedded_idle_seconds=2)
        _fill_accounts(shared, pictures)
        asyncio.run(_shoot_accounts(shared))
        make_duplicates_shot(root, pictures)
    print(f"wrote {', '.join(p.name for p in sorted(HERE.glob('*.svg')))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
