"""Exports of many images at once: same-named images (or names that differ only in
case) never overwrite each other, ``--force`` replaces only files from before the batch,
and every line printed names the file written. The CLI's ``download`` (ids and
``--query``) and the TUI's export of marked images share one name planner."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from imagerepo_tui.config import Settings
from imagerepo_tui.files import MAX_EXPORT_NAME_BYTES, ExportNames
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.browse import BrowseScreen
from imagerepo_tui.tui.screens.modals import ExportScreen
from tests.sample_images import encode, jpeg_bytes, picture, write
from tests.support import upload_lines
from tests.tui_support import ready, run_app_test, settle, wait_for

# Where each sample comes from: folders keep the clashing names apart on upload.
SOURCES = {
    "first": "one/IMG_0001.jpg",
    "second": "two/IMG_0001.jpg",
    "upper": "three/a.JPG",
    "lower": "four/a.jpg",
    "backslash": "five/holiday\\1.png",
    "plain": "six/1.png",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def short(image_id: str) -> str:
    return image_id[-8:]


@pytest.fixture
def library(cli: Any, tmp_path: Path) -> dict[str, tuple[str, Path]]:
    """``{key: (image id, source file)}`` for SOURCES, uploaded in that order."""
    found: dict[str, tuple[str, Path]] = {}
    for seed, (key, relative) in enumerate(SOURCES.items()):
        path = tmp_path / "in" / relative
        data = encode(picture(seed=seed), "PNG") if path.suffix == ".png" else jpeg_bytes(seed=seed)
        write(path, data)
        status, out, err = cli("upload", str(path))
        assert status == 0, err
        found[key] = (upload_lines(out)[str(path)], path)
    return found


def expected_names(library: dict[str, tuple[str, Path]]) -> dict[str, str]:
    """The file each image gets when exported in SOURCES order."""
    return {
        "first": "IMG_0001.jpg",
        "second": f"IMG_0001 ({short(library['second'][0])}).jpg",
        "upper": "a.JPG",
        "lower": f"a ({short(library['lower'][0])}).jpg",
        "backslash": "holiday_1.png",
        "plain": "1.png",
    }


def printed_paths(out: str) -> dict[str, Path]:
    """``{id: path}`` from download's ``<id>  <path>`` lines."""
    lines = [line.split("  ", 1) for line in out.splitlines()]
    assert all(len(parts) == 2 for parts in lines), out
    return {image_id: Path(path) for image_id, path in lines}


def assert_exported(
    out_dir: Path, library: dict[str, tuple[str, Path]], names: dict[str, str], out: str
) -> None:
    """Exactly the expected files, byte for byte, each named by the line of its image."""
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(names.values())
    printed = printed_paths(out)
    for key, name in names.items():
        image_id, source = library[key]
        assert sha256(out_dir / name) == sha256(source), key
        assert printed[image_id] == out_dir / name, key


@pytest.mark.parametrize("force", [False, True])
def test_same_named_images_in_one_download_all_arrive(
    cli: Any, tmp_path: Path, library: dict[str, tuple[str, Path]], force: bool
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    ids = [image_id for image_id, _ in library.values()]
    flags = ["--force"] if force else []

    status, out, err = cli("download", *ids, "-o", str(out_dir), *flags)
    assert (status, err) == (0, "")
    names = expected_names(library)
    assert_exported(out_dir, library, names, out)
    # No two names one file on a case-insensitive filesystem (macOS, Windows).
    assert len({name.casefold() for name in names.values()}) == len(names)

    # Again: the same names (the suffix comes from the id, not from the run)...
    status, out, err = cli("download", *ids, "-o", str(out_dir), "--force")
    assert (status, err) == (0, "")
    assert_exported(out_dir, library, names, out)
    # ...and without --force every one of them is refused, nothing replaced.
    status, out, err = cli("download", *ids, "-o", str(out_dir))
    assert status == 1 and out == ""
    assert err.count("already exists") == len(ids)
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(names.values())
    for key, name in names.items():
        assert sha256(out_dir / name) == sha256(library[key][1]), key


def test_force_replaces_a_file_from_before_the_batch_but_not_one_it_wrote(
    cli: Any, tmp_path: Path, library: dict[str, tuple[str, Path]]
) -> None:
    (first, first_source), (second, second_source) = library["first"], library["second"]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    old = write(out_dir / "IMG_0001.jpg", b"a file that was there before")
    suffixed = out_dir / f"IMG_0001 ({short(second)}).jpg"

    # Without --force the file from before stays; the other image still arrives.
    status, out, err = cli("download", first, second, "-o", str(out_dir))
    assert status == 1
    assert err.strip() == f"error: {first}: {old} already exists (use --force to overwrite)"
    assert printed_paths(out) == {second: suffixed}
    assert old.read_bytes() == b"a file that was there before"
    assert sha256(suffixed) == sha256(second_source)

    # With --force the file from before is replaced by the first image, and the second
    # (same name) goes to its own file, not over the first.
    suffixed.unlink()
    status, out, err = cli("download", first, second, "-o", str(out_dir), "--force")
    assert (status, err) == (0, "")
    assert printed_paths(out) == {first: old, second: suffixed}
    assert sha256(old) == sha256(first_source)
    assert sha256(suffixed) == sha256(second_source)
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([old.name, suffixed.name])


def test_a_planted_symlink_at_a_suffixed_name_is_never_followed(
    cli: Any, tmp_path: Path, library: dict[str, tuple[str, Path]]
) -> None:
    (first, _), (second, second_source) = library["first"], library["second"]
    victim = write(tmp_path / "victim.txt", b"do not touch")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    link = out_dir / f"IMG_0001 ({short(second)}).jpg"
    link.symlink_to(victim)

    status, _, err = cli("download", first, second, "-o", str(out_dir))
    assert status == 1 and "already exists" in err
    assert link.is_symlink() and victim.read_bytes() == b"do not touch"

    status, _, err = cli("download", first, second, "-o", str(out_dir), "--force")
    assert (status, err) == (0, "")
    assert not link.is_symlink() and sha256(link) == sha256(second_source)
    assert victim.read_bytes() == b"do not touch"


def test_download_of_a_query_keeps_same_named_images_apart(
    cli: Any, tmp_path: Path, library: dict[str, tuple[str, Path]]
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    status, out, err = cli("download", "--query", "name:a.jpg", "-o", str(out_dir), "--json")
    assert (status, err) == (0, "")
    items = json.loads(out)
    written = {item["id"]: Path(item["path"]) for item in items}
    (upper, upper_source), (lower, lower_source) = library["upper"], library["lower"]
    assert set(written) == {upper, lower}
    # The first one exported has its plain name, the other the end of its id added.
    names = {upper: "a.JPG", lower: "a.jpg"}
    first, second = (item["id"] for item in items)
    stem, extension = names[second].split(".")
    assert written == {
        first: out_dir / names[first],
        second: out_dir / f"{stem} ({short(second)}).{extension}",
    }
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(p.name for p in written.values())
    assert sha256(written[upper]) == sha256(upper_source)
    assert sha256(written[lower]) == sha256(lower_source)


def test_one_image_named_twice_is_written_once(
    cli: Any, tmp_path: Path, library: dict[str, tuple[str, Path]]
) -> None:
    image_id, source = library["first"]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    # Named twice: one file, and both lines name it.
    status, out, err = cli("download", image_id, image_id, "-o", str(out_dir))
    assert (status, err) == (0, "")
    assert out.splitlines() == [f"{image_id}  {out_dir / 'IMG_0001.jpg'}"] * 2
    assert [p.name for p in out_dir.iterdir()] == ["IMG_0001.jpg"]
    assert sha256(out_dir / "IMG_0001.jpg") == sha256(source)


# -- the planner itself ------------------------------------------------------------------------

A = "6b0f70fb202b1d99002cb0e7"
B = "6b0f70fb202b1d99002cb0e8"


def test_names_differing_in_case_or_normalisation_clash() -> None:
    names = ExportNames()
    assert names.name_for(A, "Été.JPG", "x.jpg") == "Été.JPG"
    decomposed = unicodedata.normalize("NFD", "été.jpg")
    assert names.name_for(B, decomposed, "x.jpg") == f"{decomposed[:-4]} (002cb0e8).jpg"
    # Asking again for an image gives its name again, not a new one.
    assert names.name_for(A, "Été.JPG", "x.jpg") == "Été.JPG"


def test_a_clash_of_short_ids_falls_back_to_the_whole_id() -> None:
    names = ExportNames()
    other = "000000000000000f002cb0e7"  # the same last 8 digits as A
    assert names.name_for(A, "x.png", "f.png") == "x.png"
    assert names.name_for(other, "x.png", "f.png") == "x (002cb0e7).png"
    assert names.name_for(B, "x (002cb0e7).png", "f.png") == "x (002cb0e7) (002cb0e8).png"
    third = "100000000000000f002cb0e7"
    assert names.name_for(third, "x.png", "f.png") == f"x ({third}).png"


def test_a_long_name_keeps_its_suffix_within_the_limit() -> None:
    names = ExportNames()
    long_name = "é" * 300 + ".jpeg"
    first = names.name_for(A, long_name, "f.jpg")
    second = names.name_for(B, long_name, "f.jpg")
    assert first != second
    assert second.endswith(" (002cb0e8).jpeg")
    for name in (first, second):
        assert len(name.encode()) <= MAX_EXPORT_NAME_BYTES and name.startswith("éé")


def test_a_huge_stored_name_is_cut_quickly() -> None:
    # Cut in one go: a character at a time re-encoded the name each time (quadratic).
    name = ExportNames().name_for(A, "x" * 1_000_000 + ".png", "f.png")
    assert name == "x" * (MAX_EXPORT_NAME_BYTES - 4) + ".png"


# -- the TUI's export of marked images ---------------------------------------------------------


def test_tui_export_of_marked_same_named_images(
    settings: Settings, repo: ImageRepository, tmp_path: Path
) -> None:
    sources = [
        write(tmp_path / "in" / folder / "IMG_0001.jpg", jpeg_bytes(seed=seed))
        for seed, folder in enumerate(("one", "two", "three"))
    ]
    infos = []
    for source in sources:
        result = repo.upload(source)
        assert result.image is not None
        infos.append(result.image)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    old = write(out_dir / "IMG_0001.jpg", b"there before")

    async def body(pilot: Any, app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 3)
        await pilot.press("space", "space", "space")  # all three marked
        await settle(pilot)
        assert gallery.marks.count == 3
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        app.screen.query_one("#folder", Input).value = str(out_dir)
        await pilot.click("#overwrite")  # replace the file from before, as asked
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        await settle(pilot)

    run_app_test(settings, body, repo)
    # Marks are exported in id order: the first took the plain name (replacing the file
    # from before, as asked), the others files of their own.
    source_of = {info.id: source for info, source in zip(infos, sources, strict=True)}
    first, *others = sorted(source_of)
    expected = {"IMG_0001.jpg": source_of[first]} | {
        f"IMG_0001 ({short(image_id)}).jpg": source_of[image_id] for image_id in others
    }
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(expected)
    for name, source in expected.items():
        assert sha256(out_dir / name) == sha256(source), name
    assert old.read_bytes() == source_of[first].read_bytes()
