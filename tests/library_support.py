"""Helpers for the "organise and find" tests: images with chosen EXIF, a repository
shared by a whole module (for tests that only read), and the in-process CLI."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import mongoengine
import pytest
from PIL import Image
from pymongo import MongoClient
from pymongo.database import Database

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from tests.conftest import with_database
from tests.sample_images import encode, picture

_EXIF_IFD = 0x8769
_MAKE, _MODEL, _DATETIME_ORIGINAL = 0x010F, 0x0110, 0x9003


def exif_jpeg(
    width: int = 48,
    height: int = 36,
    seed: int = 0,
    *,
    camera: tuple[str, str] | None = None,
    taken: datetime | None = None,
) -> bytes:
    """A small JPEG with camera make/model and DateTimeOriginal in its EXIF."""
    exif = Image.Exif()
    if camera is not None:
        exif[_MAKE], exif[_MODEL] = camera
    if taken is not None:
        exif.get_ifd(_EXIF_IFD)[_DATETIME_ORIGINAL] = taken.strftime("%Y:%m:%d %H:%M:%S")
    return encode(picture(width, height, seed), "JPEG", quality=85, exif=exif.tobytes())


def flat_image(width: int, height: int, fmt: str, seed: int = 0) -> bytes:
    """A large-dimension image that is quick to make (one colour and a marker pixel)."""
    image = Image.new("RGB", (width, height), (seed % 256, 80, 160))
    image.putpixel((seed % width, 0), (255, 255, 255))
    return encode(image, fmt)


@dataclass
class Shared:
    """A repository on its own database, shared by the tests of a module that only
    read, with a raw pymongo handle and a scratch folder."""

    settings: Settings
    repo: ImageRepository
    raw: Database
    folder: Path

    def connected(self) -> ImageRepository:
        """The repository, opened again if mongoengine's one process-wide connection
        now points elsewhere (a CLI run or another test's repository closes or
        replaces it)."""
        try:
            current = mongoengine.get_db().name
        except mongoengine.connection.ConnectionFailure:
            current = None
        if current != self.raw.name:
            self.repo = ImageRepository.open(self.settings)
        return self.repo


def shared_library(server_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """A ``Shared`` on a fresh database, dropped at the end."""
    name = f"imagerepo_lib_{uuid.uuid4().hex[:12]}"
    folder = tmp_path_factory.mktemp("library")
    settings = Settings(db_uri=with_database(server_uri, name), data_dir=folder / "data")
    client: MongoClient = MongoClient(server_uri, serverSelectionTimeoutMS=5000)
    shared = Shared(settings, ImageRepository.open(settings), client[name], folder)
    try:
        yield shared
    finally:
        shared.repo.close()
        client.drop_database(name)
        client.close()
