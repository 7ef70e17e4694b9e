"""Perceptual-hash arithmetic: Hamming distances, and the bands the index matches on.

A hash is 64 bits, kept as 16 hex digits. Its four 16-bit bands are stored as indexed
values: two hashes at most 3 bits apart agree exactly on at least one band (three
differing bits cannot touch all four), so candidates are found by equality on a band
and only they are compared bit by bit. For a larger threshold (up to 7) one band is
at most one bit apart, and each band's 16 one-bit neighbours are probed too.
"""

from __future__ import annotations

import re

BANDS = 4
BAND_BITS = 16
_BAND_MASK = (1 << BAND_BITS) - 1
# The threshold band equality alone answers exactly; above it (to MAX_THRESHOLD)
# one-bit neighbours of each band are probed as well.
EXACT_THRESHOLD = BANDS - 1
MAX_THRESHOLD = 2 * BANDS - 1
DEFAULT_THRESHOLD = EXACT_THRESHOLD
_HEX64 = re.compile(r"[0-9a-f]{16}")


def is_hash(value: object) -> bool:
    """A hash as the app stores it: 16 lowercase hex digits."""
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def distance(first: str, second: str) -> int:
    """How many of the 64 bits differ."""
    return (int(first, 16) ^ int(second, 16)).bit_count()


def bands(phash: str) -> list[int]:
    """The stored band values: band ``i`` as ``i << 16 | bits``, so that one indexed
    array holds all four and equal bits in different bands never match."""
    value = int(phash, 16)
    return [
        (index << BAND_BITS) | ((value >> (BAND_BITS * (BANDS - 1 - index))) & _BAND_MASK)
        for index in range(BANDS)
    ]


def probes(phash: str, threshold: int) -> list[int]:
    """The band values a hash within ``threshold`` bits must share at least one of."""
    exact = bands(phash)
    if threshold <= EXACT_THRESHOLD:
        return exact
    flips = [value ^ (1 << bit) for value in exact for bit in range(BAND_BITS)]
    return exact + flips
