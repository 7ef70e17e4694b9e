"""Near-duplicates against the real server: real photographs resized, re-encoded and
converted find each other, unrelated photographs never group; ``similar:ID``, merging,
the resumable backfill, who sees what, and damaged hash fields."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from imagerepo_tui import imaging
from imagerepo_tui.config import Settings
from imagerepo_tui.duplicates import near_groups
from imagerepo_tui.errors import ImageRepoError, NotFoundError, PermissionDeniedError
from imagerepo_tui.query import QueryError
from imagerepo_tui.records import NewMetadata
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.similarity import bands, distance, probes
from tests.conftest import Cli
from tests.sample_images import write
from tests.test_accounts import session

PHOTOS = Path(__file__).parent / "photos"
# Copied in three ways each; the others are only themselves.
COPIED = ("astronaut", "chelsea", "coffee")
UNRELATED = ("camera", "rocket", "hubble_deep_field", "retina", "coins")


def photo(name: str) -> bytes:
    return (PHOTOS / f"{name}.jpg").read_bytes()


def variants(data: bytes) -> dict[str, bytes]:
    """A photo re-encoded at a lower JPEG quality, converted to PNG, and halved."""
    image = Image.open(io.BytesIO(data))
    image.load()
    out: dict[str, bytes] = {}
    for name, fmt, options, picture in (
        ("q40.jpg", "JPEG", {"quality": 40}, image),
        ("as.png", "PNG", {}, image),
        ("half.jpg", "JPEG", {"quality": 85}, image.reduce(2)),
    ):
        buffer = io.BytesIO()
        picture.save(buffer, fmt, **options)
        out[name] = buffer.getvalue()
    return out


def upload(repo: ImageRepository, folder: Path, name: str, data: bytes, **meta: Any) -> str:
    result = repo.upload(write(folder / name, data), NewMetadata(**meta))
    assert result.image is not None, result.error
    return result.image.id


def library(repo: ImageRepository, folder: Path) -> dict[str, set[str]]:
    """Uploads every photo and the copies; returns the ids of each photo's images."""
    ids: dict[str, set[str]] = {}
    for name in COPIED:
        data = photo(name)
        ids[name] = {upload(repo, folder, f"{name}.jpg", data)}
        for suffix, copy in variants(data).items():
            ids[name].add(upload(repo, folder, f"{name}-{suffix}", copy))
    for name in UNRELATED:
        ids[name] = {upload(repo, folder, f"{name}.jpg", photo(name))}
    return ids


def grouped(repo: ImageRepository, query: str | None = None, threshold: int = 3) -> list[set[str]]:
    found = repo.duplicates.groups(query, threshold)
    return [{image.id for image in group} for group in found.groups]


def test_copies_of_real_photos_group_and_unrelated_photos_never_do(
    repo: ImageRepository, tmp_path: Path
) -> None:
    ids = library(repo, tmp_path)
    expected = sorted((ids[name] for name in COPIED), key=sorted)
    assert sorted(grouped(repo), key=sorted) == expected
    # Even at the loosest threshold no unrelated photo joins a group.
    assert sorted(grouped(repo, threshold=7), key=sorted) == expected
    # The query limits which images are compared.
    assert grouped(repo, "name:chelsea") == [ids["chelsea"]]
    assert grouped(repo, "format:png") == []
    # The best copy comes first: the most pixels (the full-size JPEG or PNG).
    group = next(g for g in repo.duplicates.groups("name:coffee").groups)
    assert group[0].width == max(image.width for image in group)


def test_the_hash_of_the_stored_thumbnail_is_the_hash_of_the_original() -> None:
    """Measured on every photo: why the backfill may read thumbnails, not originals."""
    for name in (*COPIED, *UNRELATED):
        facts = imaging.inspect_image(photo(name), max_pixels=10**8)
        from_original = imaging.perceptual_hash(Image.open(io.BytesIO(photo(name))))
        assert distance(facts.phash, imaging.thumbnail_hash(facts.thumbnail)) <= 2, name
        assert distance(from_original, imaging.thumbnail_hash(facts.thumbnail)) <= 2, name
    unrelated = [imaging.inspect_image(photo(n), max_pixels=10**8).phash for n in UNRELATED]
    assert min(distance(a, b) for a in unrelated for b in unrelated if a != b) >= 16


def test_bands_find_every_hash_within_the_threshold() -> None:
    """The pigeonhole the index relies on, checked over flips in every band."""
    base = "c2924c5532bddfc8"
    for flips in ((0, 1, 2), (0, 17, 33), (15, 31, 47), (5, 21, 37, 53, 6, 22, 38)):
        value = int(base, 16)
        for bit in flips:
            value ^= 1 << bit
        other = f"{value:016x}"
        assert distance(base, other) == len(flips)
        assert set(probes(base, len(flips))) & set(bands(other))


def test_similar_finds_exactly_the_near_ones(repo: ImageRepository, tmp_path: Path) -> None:
    ids = library(repo, tmp_path)
    for name in COPIED:
        for image_id in ids[name]:
            assert set(repo.iter_ids(f"similar:{image_id}")) == ids[name]
    lone = next(iter(ids["rocket"]))
    assert list(repo.iter_ids(f"similar:{lone}")) == [lone]
    first = next(iter(ids["astronaut"]))
    assert {i.id for i in repo.iter_images(f"similar:{first} format:png")} == {
        i.id for i in repo.iter_images("format:png name:astronaut")
    }
    assert repo.count(f"-similar:{first}") == repo.count() - len(ids["astronaut"])
    nearest = repo.duplicates.similar(first)
    assert nearest[0].id == first and {i.id for i in nearest} == ids["astronaut"]
    with pytest.raises(QueryError, match="no image with id"):
        repo.parse_query("similar:0123456789abcdef01234567")


def test_merge_keeps_one_and_moves_tags_collections_and_meta(
    repo: ImageRepository, tmp_path: Path
) -> None:
    data = photo("chelsea")
    copies = variants(data)
    keep = upload(repo, tmp_path, "keep.jpg", data, tags=["cat"], meta={"rating": 5})
    other = upload(
        repo,
        tmp_path,
        "other.png",
        copies["as.png"],
        tags=["Pets", "cat"],
        meta={"rating": 2, "trip": "Lisbon"},
        collection="Cats",
    )
    third = upload(repo, tmp_path, "third.jpg", copies["half.jpg"], collection="Best")
    kept = repo.duplicates.merge(keep, [other, third])
    assert kept.id == keep
    assert list(kept.tags) == ["cat", "Pets"]
    assert kept.meta == {"rating": 5, "trip": "Lisbon"}  # the kept value wins
    assert sorted(repo.collection_names(kept.collections)) == ["Best", "Cats"]
    assert {i.id for i in repo.iter_images("tag:pets")} == {keep}
    assert {i.id for i in repo.iter_images(trash=True)} == {other, third}
    assert grouped(repo) == []
    with pytest.raises(ImageRepoError, match="in the trash already"):
        repo.duplicates.merge(keep, [other])
    with pytest.raises(ImageRepoError, match="restore it first"):
        repo.duplicates.merge(other, [keep])
    with pytest.raises(NotFoundError):
        repo.duplicates.merge(keep, ["0123456789abcdef01234567"])
    with pytest.raises(ImageRepoError, match="cannot also go"):
        repo.duplicates.merge(keep, [keep])


def test_a_merge_cut_short_is_finished_by_running_it_again(
    repo: ImageRepository, tmp_path: Path
) -> None:
    data = photo("chelsea")
    copies = variants(data)
    keep = upload(repo, tmp_path, "keep.jpg", data)
    gone = upload(repo, tmp_path, "gone.png", copies["as.png"], tags=["first"])
    left = upload(repo, tmp_path, "left.jpg", copies["half.jpg"], tags=["second"])
    # As if the first merge had stopped after its first trashing.
    repo.edit(keep, add_tags=["first", "second"])
    repo.delete(gone)
    kept = repo.duplicates.merge(keep, [gone, left])
    assert sorted(kept.tags) == ["first", "second"]
    assert {i.id for i in repo.iter_images(trash=True)} == {gone, left}
    assert [i.id for i in repo.iter_images()] == [keep]


def test_backfill_hashes_old_images_and_resumes_after_interruption(
    repo: ImageRepository, raw_db: Any, tmp_path: Path
) -> None:
    ids = library(repo, tmp_path)
    uploaded = {doc["_id"]: doc["phash"] for doc in raw_db["images"].find({}, {"phash": 1})}
    # As if stored before hashes existed; one with neither thumbnail nor original.
    raw_db["images"].update_many({}, {"$unset": {"phash": "", "phash_bands": ""}})
    broken = raw_db["images"].find_one({"filename": "rocket.jpg"})["_id"]
    raw_db["images"].update_one(
        {"_id": broken}, {"$set": {"thumbnail": b"not webp"}, "$unset": {"file_id": ""}}
    )
    assert repo.duplicates.unindexed() == len(uploaded)
    assert grouped(repo) == []

    class Stop(Exception):
        pass

    def stop_after_first(done: int, total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        repo.duplicates.index(stop_after_first, window=4)
    assert repo.duplicates.unindexed() == len(uploaded) - 4
    walked: list[tuple[int, int]] = []
    skipped: list[tuple[str, str]] = []
    hashed = repo.duplicates.index(
        lambda done, total: walked.append((done, total)),
        lambda image_id, reason: skipped.append((image_id, reason)),
        window=4,
    )
    assert hashed == len(uploaded) - 4 - 1  # the first window was kept; one skipped
    assert walked[0] == (4, len(uploaded) - 4) and walked[-1][0] == walked[-1][1]
    assert [image_id for image_id, _ in skipped] == [str(broken)]
    assert repo.duplicates.unindexed() == 0
    for doc in raw_db["images"].find({"_id": {"$ne": broken}}, {"phash": 1, "phash_bands": 1}):
        assert distance(doc["phash"], uploaded[doc["_id"]]) <= 2
        assert doc["phash_bands"] == bands(doc["phash"])
    assert sorted(grouped(repo), key=sorted) == sorted((ids[n] for n in COPIED), key=sorted)
    assert repo.duplicates.index() == 0  # nothing left: one read


def test_dupes_cli_json_is_ls_json_and_merge_errors(cli: Cli, tmp_path: Path) -> None:
    for name in ("astronaut", "rocket"):
        data = photo(name)
        write(tmp_path / f"{name}.jpg", data)
        for suffix, copy in variants(data).items():
            write(tmp_path / f"{name}-{suffix}", copy)
    write(tmp_path / "coins.jpg", photo("coins"))
    status, _, err = cli("upload", str(tmp_path), "-r")
    assert status == 0, err
    status, out, err = cli("dupes", "--json")
    assert status == 0, err
    groups = json.loads(out)
    status, out, _ = cli("ls", "--json")
    listed = {item["id"]: item for item in json.loads(out)}
    assert sorted(len(group) for group in groups) == [4, 4]
    for group in groups:
        for image in group:
            assert image == listed[image["id"]]
    status, out, _ = cli("dupes", "-name:rocket", "--json")
    assert [len(group) for group in json.loads(out)] == [4]
    status, out, err = cli("dupes", "--threshold", "9")
    assert status == 2 and "--threshold" in err
    status, out, err = cli("dupes", "merge", groups[0][0]["id"])
    assert status == 2 and "OTHER_ID" in err
    status, out, err = cli("dupes", "merge", groups[0][0]["id"], "0123456789abcdef01234567")
    assert status == 1 and "no image with id 0123456789abcdef01234567" in err
    keep, *others = (image["id"] for image in groups[0])
    status, out, err = cli("dupes", "merge", keep, *others, "--json")
    assert status == 0, err
    assert json.loads(out)["id"] == keep
    status, out, err = cli("dupes")
    assert status == 0 and out.count("group ") == 1
    status, out, err = cli("dupes", "--help")
    assert "its own value wins" in " ".join(out.split())


def test_a_user_never_sees_another_users_private_image_in_a_group(
    settings: Settings, tmp_path: Path
) -> None:
    data = photo("coffee")
    copies = variants(data)
    with session(settings) as repo:
        repo.add_user("alice", "alice's secret")
    with session(settings, "alice") as repo:
        repo.add_user("bob", "bob's password")
        secret = upload(repo, tmp_path, "mine.jpg", data)
        shared = upload(repo, tmp_path, "shared.png", copies["as.png"], public=True)
        assert grouped(repo) == [{secret, shared}]
    with session(settings, "bob") as repo:
        own = upload(repo, tmp_path, "bobs.jpg", copies["q40.jpg"])
        assert grouped(repo) == [{own, shared}]
        assert grouped(repo, threshold=7) == [{own, shared}]
        assert set(repo.iter_ids(f"similar:{own}")) == {own, shared}
        with pytest.raises(QueryError, match="no image with id"):
            repo.parse_query(f"similar:{secret}")
        with pytest.raises(PermissionDeniedError, match="only your own"):
            repo.duplicates.merge(own, [shared])
        with pytest.raises(NotFoundError):
            repo.duplicates.merge(own, [secret])


def test_damaged_hash_fields_are_reported_never_a_crash(
    cli: Cli, raw_db: Any, tmp_path: Path
) -> None:
    data = photo("astronaut")
    write(tmp_path / "a.jpg", data)
    for suffix, copy in variants(data).items():
        write(tmp_path / f"a-{suffix}", copy)
    assert cli("upload", str(tmp_path), "-r")[0] == 0
    # Walked once (nothing to hash: uploads hash), so nothing rewrites what is planted.
    assert cli("dupes", "--index")[0] == 0
    images = raw_db["images"]
    number = images.find_one({"filename": "a-as.png"})["_id"]
    text = images.find_one({"filename": "a-half.jpg"})["_id"]
    images.update_one({"_id": number}, {"$set": {"phash": 12345, "phash_bands": "x"}})
    images.update_one({"_id": text}, {"$set": {"phash": "not a hash", "phash_bands": [None]}})
    status, out, err = cli("dupes", "--json")
    assert status == 1, (out, err)  # damaged ones are errors; the rest is still listed
    assert [len(group) for group in json.loads(out)] == [2]
    assert f"image {number}: phash: expected 16 lowercase hex digits, got int" in err
    assert f"image {text}: phash: expected 16 lowercase hex digits, got str" in err
    status, out, err = cli("ls", "--json")
    damaged = {item["id"]: item["damaged"] for item in json.loads(out)}
    assert damaged[str(number)] == ["phash: expected 16 lowercase hex digits, got int"]
    status, out, err = cli("ls", f"similar:{number}")
    assert status == 2 and "phash: expected 16 lowercase hex digits" in err


def test_many_equal_hashes_group_without_comparing_every_pair() -> None:
    """Blank scans share one hash: one group, found in one pass (a band shared by
    20,000 images compared pair by pair would be 200 million comparisons)."""
    hashes = ["00ff00ff00ff00ff"] * 20_000 + ["0123456789abcdef", "0123456789abcdee"]
    hashes.append("fedcba9876543210")
    assert sorted(len(group) for group in near_groups(hashes, 3)) == [2, 20_000]
