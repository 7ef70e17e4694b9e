"""The gallery's row bookkeeping: two keyset chains that meet in the middle."""

from __future__ import annotations

from datetime import UTC, datetime

from imagerepo_tui.repository import ImageInfo, Page
from imagerepo_tui.tui.widgets.rows import Rows

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _info(seq: int) -> ImageInfo:
    return ImageInfo(
        id=f"{seq:024x}", filename=f"{seq}.jpg", title="", description="", tags=(),
        format="JPEG", mime="image/jpeg", width=1, height=1, frames=1, size=1,
        sha256=str(seq), exif={}, taken_at=None, created_at=NOW, updated_at=NOW, seq=seq,
    )  # fmt: skip


def _page(seqs: list[int], more: bool) -> Page:
    return Page([_info(s) for s in seqs], seqs[-1] if more else None)


def test_head_and_tail_meet_and_fix_the_count():
    rows = Rows(total=12)  # an estimate: two images were deleted meanwhile
    rows.add_head(_page([10, 9, 8, 7], more=True))
    rows.add_tail(_page([1, 2, 3, 4], more=True))
    rows.fix_total()
    assert [rows.get(n).seq for n in range(4)] == [10, 9, 8, 7]
    assert rows.get(11).seq == 1 and rows.get(8).seq == 4
    assert rows.get(5) is None and not rows.complete
    rows.add_head(_page([6, 5, 4, 3], more=True))  # overlaps the tail: stops there
    assert rows.complete and rows.total == 10
    assert [rows.get(n).seq for n in range(10)] == list(range(10, 0, -1))


def test_changes_keep_rows_consistent():
    rows = Rows(total=3)
    rows.add_head(_page([3, 2, 1], more=False))
    assert rows.complete and rows.find(_info(2).id) == 1
    assert rows.remove(_info(2).id) and rows.total == 2
    assert [rows.get(n).seq for n in range(2)] == [3, 1]
    assert rows.replace(_info(3)) and not rows.replace(_info(99))
