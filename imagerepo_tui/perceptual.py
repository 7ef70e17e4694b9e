"""The perceptual hash of a decoded picture: 64 bits that stay close for copies of it.

Computed here with Pillow and numpy rather than with the ``imagehash`` library: its
pHash is these dozen lines (grey 32x32, a 2-D DCT, the 8x8 lowest frequencies against
their median), but it pulls in scipy (for the DCT, ~40 MB) and PyWavelets, while
numpy is already installed with the embedded server (SecantusDB -> shapely) and a
32-point DCT is one small matrix product. pHash rather than dHash: measured on real
photos, unrelated images stay much further apart (see tests/test_duplicates.py).
"""

from __future__ import annotations

from typing import Any

from PIL import Image

PHASH_BITS = 64
_PHASH_SIDE = 32
_PHASH_LOW = 8


def _dct_rows() -> Any:
    """The first 8 rows of the 32-point DCT-II matrix (unscaled: only the order of
    the coefficients against their median matters)."""
    import numpy as np  # on first use: the TUI's first frame does not wait for it

    k = np.arange(_PHASH_LOW)[:, None]
    n = np.arange(_PHASH_SIDE)[None, :]
    return np.cos(np.pi * (2 * n + 1) * k / (2 * _PHASH_SIDE))


def perceptual_hash(image: Image.Image) -> str:
    """A 64-bit pHash of a decoded image as 16 hex digits: close (a few bits apart)
    for resized or re-encoded copies of one picture, about 32 bits apart for unrelated
    ones. Feed it the upright picture (``_shrink``'s output at upload, or the stored
    thumbnail): the same picture turned is another picture to it."""
    import numpy as np

    grey = image.convert("L").resize((_PHASH_SIDE, _PHASH_SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.float64)
    rows = _dct_rows()
    low = rows @ pixels @ rows.T
    bits = (low > np.median(low)).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"
