"""``check``: prove every original intact, and find what is broken or left over.

Reads every image (trashed ones too) and its original, chunk by chunk, against the
SHA-256 and size recorded at upload; then looks for GridFS files and chunks no image
uses (orphans) and writes whose writer died (abandoned claims). ``repair`` removes
only those two kinds: an image's document and bytes are never changed, even damaged.

Headless: ``LibraryCheck.run()`` yields problems and progress as it goes, for a front
end to show, and leaves the totals in ``summary``.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from imagerepo_tui.checked import Fields, kind
from imagerepo_tui.records import ImageInfo
from imagerepo_tui.safekeeping.check_results import Advance, Event, Kind, Problem, Stage, Summary
from imagerepo_tui.store import Store
from imagerepo_tui.store.integrity import Chunk, Integrity, written_by_us

# Images fetched per round trip: their documents (no thumbnails), file documents and
# small originals. An $in of ids costs the embedded server more per id past about 50
# (measured at 100,000 images: 0.64 ms per image at 50, 0.96 at 200, 1.5 at 400).
BATCH = 50
# Small originals are fetched together, up to this many bytes per round trip; a
# larger one streams on its own, a few chunks at a time.
GROUP_BYTES = 8 * 1024 * 1024
# Scans report progress this many documents at a time.
STEP = 1000
# A problem lists this many chunks (or images), then a count.
SHOWN = 5
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class _Listing:
    """What the first pass over the images learns, kept for the rest of the check."""

    ids: list[Any]
    used_files: set[Any]
    # Files more than one image names: each such image's id -> the others' ids.
    shared: dict[Any, list[Any]]


def _text(value: Any) -> str:
    return str(value)[:100]


def _amount(count: Any, unit: str) -> str:
    """``1 chunk``, ``300,000 bytes``; a stored count that is no number, as it is."""
    if not isinstance(count, int):
        return f"{_text(count)} {unit}s"
    return f"{count:,} {unit}" + ("" if count == 1 else "s")


def _listed(items: Sequence[Any], count: int) -> str:
    shown = ", ".join(_text(item) for item in items[:SHOWN])
    return shown + (f" and {count - SHOWN:,} more" if count > SHOWN else "")


class _Tally:
    """The first few of something, and how many in all: a file of a million bad chunks
    is one line, and costs no memory."""

    def __init__(self) -> None:
        self.first: list[Any] = []
        self.count = 0

    def add(self, item: Any) -> None:
        self.add_all([item])

    def add_all(self, items: Sequence[Any]) -> None:
        self.first.extend(items[: SHOWN - len(self.first)])
        self.count += len(items)

    def __str__(self) -> str:
        return _listed(self.first, self.count)


class _Reading:
    """The verdict on one original's chunks as they stream past: nothing is kept but
    the running hash and a tally of each fault."""

    def __init__(self, length: int, chunk_size: int) -> None:
        self.length, self.chunk_size = length, chunk_size
        self.expected = -(-length // chunk_size)
        self.digest = hashlib.sha256()
        self.next_n = 0
        self.missing, self.truncated, self.stray = _Tally(), _Tally(), _Tally()

    def _skip_to(self, n: int) -> None:
        self.missing.add_all(range(self.next_n, n))

    def take(self, chunk: Chunk) -> int:
        """Account for one chunk; returns how many of its bytes were hashed."""
        n = chunk.n
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            self.stray.add(f"one numbered {_text(n) if isinstance(n, int) else kind(n)}")
            return 0
        if n >= self.expected or n < self.next_n:
            self.stray.add(f"{n} (beyond the length)" if n >= self.expected else f"{n} (twice)")
            return 0
        self._skip_to(n)
        self.next_n = n + 1
        if chunk.data is None:
            self.stray.add(f"{n} (no bytes)")
            return 0
        want = min(self.chunk_size, self.length - n * self.chunk_size)
        self.digest.update(chunk.data)
        if len(chunk.data) < want:
            self.truncated.add(f"{n} ({len(chunk.data):,} of {want:,} bytes)")
        elif len(chunk.data) > want:
            self.stray.add(f"{n} ({len(chunk.data):,} bytes, not {want:,})")
        return len(chunk.data)

    def faults(self) -> list[tuple[Kind, str]]:
        self._skip_to(self.expected)
        found: list[tuple[Kind, str]] = []
        if self.missing.count:
            plural = "s" if self.missing.count > 1 else ""
            found.append((Kind.SHORT, f"missing chunk{plural} {self.missing} of {self.expected:,}"))
        if self.truncated.count:
            found.append((Kind.SHORT, f"truncated chunk {self.truncated}"))
        if self.stray.count:
            found.append((Kind.DAMAGED, f"chunks that do not fit: {self.stray}"))
        return found


class LibraryCheck:
    """One check of the whole library; iterate ``run()``, then read ``summary``."""

    def __init__(self, store: Store, *, repair: bool = False) -> None:
        self.integrity = Integrity(store)
        self.repair = repair
        self.summary = Summary()
        self._chunks_seen = 0

    def run(self) -> Iterator[Event]:
        listing = yield from self._list_images()
        stored, total_bytes = yield from self._list_files(listing.used_files)
        yield from self._check_images(listing, total_bytes)
        yield from self._kept_counts()
        # Leftovers last: a claim explains a file no image uses, so abandoned writes
        # come before orphans, which are whatever no image or writer owns.
        yield from self._abandoned_writes()
        yield from self._orphan_files(stored - listing.used_files)
        yield from self._orphan_chunks(stored | listing.used_files)
        self.integrity.record_check(
            images=self.summary.images,
            problems=self.summary.found,
            repaired=self.summary.repaired,
        )

    def _found(self, problem: Problem) -> Problem:
        self.summary.problems[problem.kind] += 1
        self.summary.repaired += problem.repaired
        return problem

    # -- listing ----------------------------------------------------------------------

    def _list_images(self) -> Generator[Event, None, _Listing]:
        yield Stage("listing images", self.integrity.estimated_images(), in_bytes=False)
        ids: list[Any] = []
        used: set[Any] = set()
        doubled: set[Any] = set()
        for image_id, file_id in self.integrity.image_refs():
            ids.append(image_id)
            if file_id is not None:
                if file_id in used:
                    doubled.add(file_id)
                used.add(file_id)
            if len(ids) % STEP == 0:
                yield Advance(STEP)
        shared: dict[Any, list[Any]] = {}
        for file_id in doubled:
            users = self.integrity.images_using(file_id)
            for image_id in users:
                shared[image_id] = [other for other in users if other != image_id]
        return _Listing(ids, used, shared)

    def _list_files(self, used: set[Any]) -> Generator[Event, None, tuple[set[Any], int]]:
        """Every stored file's id, and how many bytes the images' originals hold (what
        the reading stage will count up to)."""
        yield Stage("listing stored files", self.integrity.estimated_files(), in_bytes=False)
        stored: set[Any] = set()
        total = 0
        for file_id, length in self.integrity.stored_files():
            stored.add(file_id)
            if file_id in used and isinstance(length, int):
                total += length
            if len(stored) % STEP == 0:
                yield Advance(STEP)
        return stored, total

    # -- images -----------------------------------------------------------------------

    def _check_images(self, listing: _Listing, total_bytes: int) -> Iterator[Event]:
        yield Stage("reading originals", total_bytes, in_bytes=True)
        for start in range(0, len(listing.ids), BATCH):
            docs = self.integrity.images(listing.ids[start : start + BATCH])
            # Read after the documents: every seq they hold was counted by then.
            newest = self.integrity.newest_seq()
            originals: list[tuple[Any, ImageInfo]] = []
            for doc in docs:
                info = ImageInfo.from_document(doc)
                self._count(doc)
                for problem in self._field_problems(doc, info, newest, listing.shared):
                    yield self._found(problem)
                file_id = Fields(doc).object_id("file_id")
                if file_id is not None:
                    originals.append((file_id, info))
            yield from self._check_originals(originals)

    def _count(self, doc: Mapping[str, Any]) -> None:
        self.summary.images += 1
        self.summary.trashed += doc.get("trashed") is True

    def _field_problems(
        self,
        doc: Mapping[str, Any],
        info: ImageInfo,
        newest: int,
        shared: Mapping[Any, list[Any]],
    ) -> Iterator[Problem]:
        """Fields no image can have: wrong types (``ImageInfo.from_document``), and
        what hides an image from every list or endangers another's bytes."""
        wrong = list(info.damaged)
        seq = doc.get("seq")
        if isinstance(seq, int | float) and not isinstance(seq, bool) and not 0 < seq <= newest:
            # Newest-first lists page by seq windows up to the upload counter.
            wrong.append(f"seq: {seq} is outside 1..{newest}, so no list shows the image")
        if not isinstance(doc.get("trashed"), bool):
            wrong.append(f"trashed: expected a boolean, got {kind(doc.get('trashed'))}")
        if not isinstance(doc.get("audience"), str):
            wrong.append(f"audience: expected a string, got {kind(doc.get('audience'))}")
        others = shared.get(doc.get("_id"))
        if others:
            wrong.append(f"file_id: the same stored file as image {_listed(others, len(others))}")
        if wrong:
            yield Problem(Kind.IMPOSSIBLE, info.id, "; ".join(wrong), info.filename)

    def _check_originals(self, originals: list[tuple[Any, ImageInfo]]) -> Iterator[Event]:
        files = self.integrity.files([file_id for file_id, _ in originals])
        group: list[tuple[Any, ImageInfo]] = []
        group_bytes = 0
        for file_id, info in originals:
            file_doc = files.get(file_id)
            if file_doc is None:
                yield self._found(self._missing(file_id, info))
                continue
            length = file_doc.get("length")
            size = length if isinstance(length, int) and length > 0 else 0
            if group and group_bytes + size > GROUP_BYTES:
                yield from self._read_group(group, files)
                group, group_bytes = [], 0
            group.append((file_id, info))
            group_bytes += size
        if group:
            yield from self._read_group(group, files)

    def _read_group(
        self, group: list[tuple[Any, ImageInfo]], files: Mapping[Any, Mapping[str, Any]]
    ) -> Iterator[Event]:
        if len(group) == 1:
            # Perhaps larger than a group: streamed, a few chunks per round trip.
            file_id, info = group[0]
            yield from self._check_original(info, files[file_id], self.integrity.chunks(file_id))
            return
        # Small originals: all their chunks in one round trip.
        fetched = self.integrity.chunks_of([file_id for file_id, _ in group])
        for file_id, info in group:
            yield from self._check_original(info, files[file_id], fetched[file_id])

    def _missing(self, file_id: Any, info: ImageInfo) -> Problem:
        left = self.integrity.chunk_count(file_id)
        remains = f"{_amount(left, 'chunk')} of it {'is' if left == 1 else 'are'} left"
        remains = remains if left else "so are its chunks"
        detail = f"its stored file {file_id} is gone; {remains}"
        return Problem(Kind.MISSING, info.id, detail, info.filename)

    def _check_original(
        self, info: ImageInfo, file_doc: Mapping[str, Any], chunks: Iterable[Chunk]
    ) -> Iterator[Event]:
        fields = Fields(file_doc)
        length = fields.integer("length", minimum=0)
        chunk_size = fields.integer("chunkSize", minimum=1)
        if fields.problems:
            detail = "its stored file's document is damaged: " + "; ".join(fields.problems)
            yield self._found(Problem(Kind.DAMAGED, info.id, detail, info.filename))
            return
        self.summary.originals += 1
        reading = _Reading(length, chunk_size)
        for chunk in chunks:
            amount = reading.take(chunk)
            self._chunks_seen += 1
            self.summary.bytes_read += amount
            yield Advance(amount)
        faults = reading.faults()
        if info.size and length != info.size:
            stored = f"its stored file holds {length:,} bytes, the image {info.size:,}"
            faults.append((Kind.SHORT if length < info.size else Kind.DAMAGED, stored))
        actual = reading.digest.hexdigest()
        # A malformed recorded hash is already an impossible field: nothing to compare.
        if not faults and _SHA256.fullmatch(info.sha256) and actual != info.sha256:
            stored = f"the stored bytes hash to {actual[:12]}…, not {info.sha256[:12]}…"
            faults.append((Kind.DAMAGED, f"SHA-256 mismatch: {stored}"))
        for fault, detail in faults:
            yield self._found(Problem(fault, info.id, detail, info.filename))

    # -- leftovers --------------------------------------------------------------------

    def _kept_counts(self) -> Iterator[Event]:
        """The counts kept for the status line against a fresh count: a process killed
        between an image's write and its count's, or another client, leaves one off."""
        counts = self.integrity.counts
        wrong = counts.differences(counts.recount())
        repaired = bool(wrong) and self.repair
        if repaired:
            counts.rewrite(counts.recount())
        for key, (kept, actual) in wrong.items():
            detail = f"kept as {_text(kept)}, counted {actual:,}"
            yield self._found(Problem(Kind.WRONG_COUNT, key, detail, repaired=repaired))

    def _abandoned_writes(self) -> Iterator[Event]:
        for claim in self.integrity.claims():
            if not claim.writer_gone:
                self.summary.writes_in_progress += 1
                continue
            detail = self._leftover(claim.file_id)
            started = claim.created_at.isoformat(timespec="seconds") if claim.created_at else "?"
            writer = f"process {_text(claim.pid)} on {claim.host or '?'}, started {started}"
            problem = Problem(
                Kind.HALF_FINISHED, _text(claim.file_id), f"{writer}, never finished: {detail}"
            )
            repaired = self.repair and self.integrity.finish_abandoned_write(claim.file_id)
            yield self._found(replace(problem, repaired=repaired))

    def _leftover(self, file_id: Any) -> str:
        """What an abandoned write left behind, in words."""
        image_id = self.integrity.file_used_by(file_id)
        if image_id is not None:
            return f"image {_text(image_id)} uses its file; only the claim is left"
        length = self.integrity.file_length(file_id)
        chunks = self.integrity.chunk_count(file_id)
        if length is not None:
            size, pieces = _amount(length, "byte"), _amount(chunks, "chunk")
            return f"a file of {size} in {pieces} that no image uses"
        if chunks:
            return f"{_amount(chunks, 'chunk')} and no file document"
        return "nothing but the claim"

    def _orphan_files(self, candidates: set[Any]) -> Iterator[Event]:
        for file_id in sorted(candidates, key=str):
            doc = self.integrity.orphan_file(file_id)
            if doc is None:
                continue  # a writer's after all, or gone meanwhile
            if not written_by_us(doc):
                self.summary.foreign_files += 1  # another application's, in a shared bucket
                continue
            uploaded = doc.get("uploadDate")
            when = uploaded.isoformat(timespec="seconds") if isinstance(uploaded, datetime) else "?"
            filename = doc.get("filename")
            name = filename if isinstance(filename, str) else ""
            detail = (
                f"a stored file no image uses: {_amount(doc.get('length'), 'byte')}, from {when}"
            )
            repaired = self.repair and self.integrity.remove_orphan_file(file_id)
            yield self._found(Problem(Kind.ORPHAN_FILE, _text(file_id), detail, name, repaired))

    def _orphan_chunks(self, owned: set[Any]) -> Iterator[Event]:
        """Chunks whose file is neither stored nor an image's (an image's missing file
        is that image's problem, and its chunks may yet help recover it)."""
        yield Stage("looking for orphaned chunks", self._chunks_seen, in_bytes=False)
        counts: Counter[Any] = Counter()
        values: dict[Any, Any] = {}
        for seen, files_id in enumerate(self.integrity.chunk_owners(), 1):
            key = _key(files_id)
            if key not in owned:
                counts[key] += 1
                values.setdefault(key, files_id)
            if seen % STEP == 0:
                yield Advance(STEP)
        for key, count in counts.items():
            files_id = values[key]
            if not self.integrity.orphan_chunks(files_id):
                continue
            detail = f"{_amount(count, 'chunk')} of a file that does not exist"
            repaired = self.repair and self.integrity.remove_orphan_chunks(files_id)
            if self.repair and not repaired:
                detail += " (left alone: under an hour old, perhaps an upload under way)"
            yield self._found(Problem(Kind.ORPHAN_CHUNKS, _text(files_id), detail, "", repaired))


def _key(value: Any) -> Any:
    """A set key for any stored id (another client may have stored a list as one)."""
    try:
        hash(value)
    except TypeError:
        return ("unhashable", repr(value))
    return value
