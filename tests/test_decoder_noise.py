"""Decoder noise: what libtiff prints to fd 2 and Pillow's warnings become one clean line
per file, folded into that file's error, and never reach the terminal raw."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from imagerepo_tui import imaging
from imagerepo_tui.errors import InvalidImageError
from tests.damaged_images import damaged_deflate_tiff, damaged_fax_tiff, damaged_lzw_tiff
from tests.sample_images import encode, jpeg_bytes, picture, write
from tests.support import run_cli

MAX_PIXELS = 50_000_000
# What libtiff itself says about each sample (its first line).
SAMPLES: dict[str, tuple[Callable[[], bytes], str]] = {
    "fax.tif": (damaged_fax_tiff, "Fax4Decode: "),
    "lzw.tif": (damaged_lzw_tiff, "Using code not yet in table"),
    "deflate.tif": (damaged_deflate_tiff, "ZIPDecode: "),
}
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _refusal(data: bytes) -> str:
    with pytest.raises(InvalidImageError) as refused:
        imaging.inspect_image(data, max_pixels=MAX_PIXELS)
    return str(refused.value)


@pytest.mark.parametrize("name", SAMPLES)
def test_the_samples_make_libtiff_print_to_fd_2(name: str, tmp_path: Path) -> None:
    """The premise: plain Pillow decoding these files writes to the process's stderr."""
    make, said = SAMPLES[name]
    path = write(tmp_path / name, make())
    decode = (
        "import sys\nfrom PIL import Image\n"
        "try:\n    Image.open(sys.argv[1]).load()\nexcept Exception:\n    pass\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", decode, str(path)], capture_output=True, text=True, timeout=60
    )
    assert said in done.stderr


@pytest.mark.parametrize("name", SAMPLES)
def test_what_libtiff_prints_is_folded_into_the_files_error(
    name: str, capfd: pytest.CaptureFixture[str]
) -> None:
    make, said = SAMPLES[name]
    message = _refusal(make())
    assert said in message and "(decoder: " in message
    assert "\n" not in message
    assert capfd.readouterr().err == ""  # nothing reached fd 2


def test_a_fax_tiff_with_bad_code_words_is_refused_not_stored_half_decoded() -> None:
    # Pillow returns a picture for it; libtiff's errors are what say it is damaged.
    message = _refusal(damaged_fax_tiff())
    assert message.startswith("damaged image data (decoder: Fax4Decode: ")
    assert re.search(r"; \d+ more\)$", message)  # several lines, one message


def test_good_tiffs_still_decode(capfd: pytest.CaptureFixture[str]) -> None:
    for compression in ("group4", "tiff_lzw", "tiff_adobe_deflate", "raw"):
        source = picture(64, 48, seed=7)
        image = source.convert("1") if compression == "group4" else source
        facts = imaging.inspect_image(
            encode(image, "TIFF", compression=compression), max_pixels=MAX_PIXELS
        )
        assert (facts.format, facts.width, facts.height) == ("TIFF", 64, 48)
    assert capfd.readouterr().err == ""


def test_decoder_threads_each_get_their_own_messages(capfd: pytest.CaptureFixture[str]) -> None:
    """Uploads decode in several threads: each file's error names only what its own
    decode printed, whatever ran beside it."""
    jobs = [name for name in SAMPLES for _ in range(4)] + ["good"] * 4
    good = jpeg_bytes(640, 480, seed=1)

    def decode(name: str) -> str:
        if name == "good":
            imaging.inspect_image(good, max_pixels=MAX_PIXELS)
            return ""
        return _refusal(SAMPLES[name][0]())

    with ThreadPoolExecutor(4) as pool:
        messages = list(pool.map(decode, jobs))
    for name, message in zip(jobs, messages, strict=True):
        if name == "good":
            assert message == ""
            continue
        assert SAMPLES[name][1] in message, (name, message)
        others = [said for other, (_, said) in SAMPLES.items() if other != name]
        assert not any(said in message for said in others), (name, message)
    assert capfd.readouterr().err == ""


def test_cli_upload_says_one_clean_line_per_damaged_file(db_uri: str, tmp_path: Path) -> None:
    """The installed command, in its own process: libtiff writes to the real fd 2 there
    and Pillow's warnings take their default route (pytest captures neither)."""
    folder = tmp_path / "scans"
    for name, (make, _) in SAMPLES.items():
        write(folder / name, make())
    # A TIFF cut inside its directory: Pillow warns about corrupt EXIF data on the way.
    whole = encode(picture(64, 48, seed=8), "TIFF", compression="tiff_lzw")
    write(folder / "cut.tif", whole[: len(whole) // 2])
    write(folder / "fine.jpg", jpeg_bytes(seed=9))
    done = run_cli("--db", db_uri, "upload", "-r", str(folder))
    assert done.returncode == 1
    err = done.stderr
    assert "site-packages" not in err and "Traceback" not in err and "Warning" not in err
    assert not CONTROL.search(err), repr(err)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    others = [line for line in err.splitlines() if not line.startswith("error: ")]
    assert others == ["1 uploaded, 0 duplicate(s), 4 failed"], err
    by_file = {Path(line.split(": ")[1]).name: line for line in errors}
    assert sorted(by_file) == ["cut.tif", "deflate.tif", "fax.tif", "lzw.tif"], err
    for name, (_, said) in SAMPLES.items():
        assert said in by_file[name]
    assert "a damaged TIFF file" in by_file["cut.tif"]
    assert "(decoder: Corrupt EXIF data" in by_file["cut.tif"]
    assert "fine.jpg" in done.stdout
