"""Damaged TIFFs whose decoding makes libtiff print to fd 2 (made with Pillow: no
binary fixtures), for the decoder-noise tests."""

from __future__ import annotations

import io

from PIL import Image

from tests.sample_images import encode, picture

_STRIP_OFFSETS, _STRIP_BYTE_COUNTS = 273, 279


def _corrupt_strip(data: bytes) -> bytes:
    """Flip bits all through the first strip's second half: headers stay readable,
    the compressed data does not decode."""
    with Image.open(io.BytesIO(data)) as image:
        start = image.tag_v2[_STRIP_OFFSETS][0]
        length = image.tag_v2[_STRIP_BYTE_COUNTS][0]
    damaged = bytearray(data)
    for index in range(start + length // 2, start + length, 3):
        damaged[index] ^= 0x5A
    return bytes(damaged)


def damaged_fax_tiff() -> bytes:
    """Group 4 fax data with bad code words: libtiff prints errors yet Pillow returns
    a picture, which is damaged."""
    bilevel = picture(256, 256, seed=3).convert("1")
    return _corrupt_strip(encode(bilevel, "TIFF", compression="group4"))


def damaged_lzw_tiff() -> bytes:
    """LZW data that cannot be decoded: libtiff prints, Pillow raises."""
    return _corrupt_strip(encode(picture(256, 256, seed=4), "TIFF", compression="tiff_lzw"))


def damaged_deflate_tiff() -> bytes:
    return _corrupt_strip(
        encode(picture(256, 256, seed=5), "TIFF", compression="tiff_adobe_deflate")
    )
