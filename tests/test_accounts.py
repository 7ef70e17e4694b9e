"""Accounts and ownership, enforced by the repository itself: whatever a front end
asks, user B never reaches user A's private images, and only owners change images."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from imagerepo_tui import accounts
from imagerepo_tui.config import Settings
from imagerepo_tui.errors import (
    AmbiguousIdError,
    ImageRepoError,
    LoginError,
    LoginRequiredError,
    NotFoundError,
    PermissionDeniedError,
)
from imagerepo_tui.records import NewMetadata
from imagerepo_tui.repository import ImageRepository
from tests.sample_images import encode, jpeg_bytes, picture, write

PASSWORDS = {"alice": "alice's secret", "bob": "bob's password"}


@contextmanager
def session(settings: Settings, user: str | None = None) -> Iterator[ImageRepository]:
    """A repository logged in as ``user`` (one per process at a time: mongoengine)."""
    repo = ImageRepository.open(settings)
    try:
        if user is not None:
            repo.login(user, PASSWORDS[user])
        yield repo
    finally:
        repo.close()


@pytest.fixture
def shared(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """alice (admin) with a private and a public image and a collection; bob with
    one private image. Returns the image ids by name."""
    with session(settings) as repo:
        repo.add_user("alice", PASSWORDS["alice"])
    ids: dict[str, str] = {}
    with session(settings, "alice") as repo:
        repo.add_user("bob", PASSWORDS["bob"])
        private = repo.upload(write(tmp_path / "diary.jpg", jpeg_bytes(seed=1)))
        public = repo.upload(
            write(tmp_path / "sunset.jpg", jpeg_bytes(seed=2)),
            NewMetadata(tags=["holiday"], public=True, collection="Alice album"),
        )
        assert private.image and public.image
        repo.edit(private.image.id, add_tags=["holiday"])
        ids.update(private=private.image.id, public=public.image.id)
    with session(settings, "bob") as repo:
        own = repo.upload(write(tmp_path / "bob.png", encode(picture(seed=3), "PNG")))
        assert own.image
        ids["bob"] = own.image.id
    return ids


def test_personal_mode_needs_no_login(repo: ImageRepository, tmp_path: Path) -> None:
    result = repo.upload(write(tmp_path / "a.jpg", jpeg_bytes(seed=1)))
    assert not repo.has_accounts and not repo.needs_login
    assert [image.id for image in repo.iter_images()] == [result.image.id]


def test_once_accounts_exist_nothing_is_reachable_without_login(
    settings: Settings, shared: dict[str, str]
) -> None:
    with session(settings) as repo:
        assert repo.needs_login
        for attempt in (
            lambda: list(repo.iter_images()),
            lambda: repo.count(),
            lambda: repo.info(shared["public"]),
            lambda: repo.thumbnail(shared["public"]),
            lambda: repo.list_collections(),
            lambda: repo.list_users(),
            lambda: repo.add_user("mallory", "a long password"),
        ):
            with pytest.raises(LoginRequiredError):
                attempt()


def test_bob_sees_his_own_and_public_images_only(
    settings: Settings, shared: dict[str, str]
) -> None:
    with session(settings, "bob") as repo:
        assert {image.id for image in repo.iter_images()} == {shared["bob"], shared["public"]}
        assert repo.count() == 2
        assert [image.id for image in repo.iter_images("holiday")] == [shared["public"]]
        assert [image.id for image in repo.iter_images("tag:holiday")] == [shared["public"]]
        assert [image.id for image in repo.iter_images("owner:alice")] == [shared["public"]]
        assert [image.id for image in repo.iter_images("owner:alice is:private")] == []
        assert [image.id for image in repo.iter_images("is:private")] == [shared["bob"]]
        assert [image.id for image in repo.iter_images("-is:public")] == [shared["bob"]]
        assert set(repo.iter_ids("sort:size")) == {shared["bob"], shared["public"]}
        assert {i.id for i in repo.iter_images("sort:name")} == {shared["bob"], shared["public"]}
        # A filter no index serves is scanned once for both audiences ($in): still
        # only bob's own and the public image, listed, paged, counted and streamed.
        scanned, mine = "width:>1 height:>1", {shared["bob"], shared["public"]}
        assert {i.id for i in repo.iter_images(scanned)} == mine
        assert repo.count(scanned) == 2 and set(repo.iter_ids(scanned)) == mine
        first = repo.list_page(scanned, limit=1)
        second = repo.list_page(scanned, first.next_before, limit=1)
        assert {first.items[0].id, second.items[0].id} == mine
        public = repo.info(shared["public"])
        assert public.public and public.owner_name == "alice"
        assert repo.original_bytes(shared["public"])[1] == jpeg_bytes(seed=2)
        # Alice's collection is hers: bob cannot search by it or see it.
        assert repo.list_collections() == []
        with pytest.raises(ImageRepoError, match="no collection"):
            repo.parse_query('collection:"Alice album"')


def test_alice_private_image_is_unreachable_for_bob(
    settings: Settings, shared: dict[str, str], tmp_path: Path
) -> None:
    secret = shared["private"]
    # Ids made in the same second share their first 8+ hex digits; one made a second
    # later has prefixes nobody else's id starts with.
    time.sleep(1.05)
    with session(settings, "alice") as repo:
        late = repo.upload(write(tmp_path / "late.jpg", jpeg_bytes(seed=5))).image.id
    replacement = write(tmp_path / "new.jpg", jpeg_bytes(seed=9))
    with session(settings, "bob") as repo:
        repo.create_collection("Bob album")
        # A prefix shared with an image bob may see resolves to that one, not to
        # "ambiguous", which would tell him another image exists.
        visible = set(repo.iter_ids()) | set(repo.iter_ids(trash=True))
        prefix, hits = next(
            (secret[:n], hits)
            for n in range(23, 5, -1)
            if (hits := [v for v in visible if v.startswith(secret[:n])])
        )
        if len(hits) == 1:
            assert str(repo.resolve_id(prefix)) == hits[0]
        else:  # ambiguous among bob's own view, which alice's image is not part of
            with pytest.raises(AmbiguousIdError):
                repo.resolve_id(prefix)
        for ident in (secret, secret.upper(), late, late[:8], late[:10], late[:12]):
            for attempt in (
                lambda i=ident: repo.info(i),
                lambda i=ident: repo.original_bytes(i),
                lambda i=ident: repo.thumbnail(i),
                lambda i=ident: repo.export(i, tmp_path),
                lambda i=ident: repo.edit(i, title="mine now"),
                lambda i=ident: repo.set_public(i, True),
                lambda i=ident: repo.replace_content(i, replacement),
                lambda i=ident: repo.delete(i),
                lambda i=ident: repo.restore(i),
                lambda i=ident: repo.purge(i),
                lambda i=ident: repo.add_to_collection("Bob album", [i]),
                lambda i=ident: repo.remove_from_collection("Bob album", [i]),
            ):
                # Not "permission denied": bob must not learn the id exists.
                with pytest.raises(NotFoundError):
                    attempt()
        assert not {secret, late} & set(repo.iter_ids())
        assert not {secret, late} & set(repo.iter_ids(trash=True))
        assert list(repo.empty_trash()) == []
    with session(settings, "alice") as repo:
        image = repo.info(secret)
        assert image.title == "" and not image.public and image.deleted_at is None
        assert repo.original_bytes(secret)[1] == jpeg_bytes(seed=1)
        assert image.collections == ()


def test_bob_cannot_change_alice_public_image_but_may_collect_it(
    settings: Settings, shared: dict[str, str], tmp_path: Path
) -> None:
    public = shared["public"]
    with session(settings, "bob") as repo:
        for attempt in (
            lambda: repo.edit(public, title="mine now"),
            lambda: repo.set_public(public, False),
            lambda: repo.replace_content(public, write(tmp_path / "n.jpg", jpeg_bytes(seed=9))),
            lambda: repo.delete(public),
            lambda: repo.purge(public),
        ):
            with pytest.raises(PermissionDeniedError, match="belongs to alice"):
                attempt()
        repo.create_collection("Bob album")
        assert repo.add_to_collection("Bob album", [public]) == 1
        assert [image.id for image in repo.iter_images('collection:"Bob album"')] == [public]
        assert repo.collection_names(repo.info(public).collections) == ["Bob album"]
    with session(settings, "alice") as repo:
        image = repo.info(public)
        assert image.public and image.title == "" and image.deleted_at is None
        # Bob's album is his: alice's view of her image names only her own.
        assert repo.collection_names(image.collections) == ["Alice album"]
        repo.set_public(public, False)
    with session(settings, "bob") as repo:
        assert public not in set(repo.iter_ids())
        assert repo.collection("Bob album").count == 0


def test_trashed_public_images_are_their_owner_s_alone(
    settings: Settings, shared: dict[str, str]
) -> None:
    with session(settings, "alice") as repo:
        repo.delete(shared["public"])
        assert repo.info(shared["public"]).public, "the choice is kept in the trash"
    with session(settings, "bob") as repo:
        assert shared["public"] not in set(repo.iter_ids())
        assert shared["public"] not in set(repo.iter_ids(trash=True))
        with pytest.raises(NotFoundError):
            repo.info(shared["public"])
    with session(settings, "alice") as repo:
        repo.restore(shared["public"])
    with session(settings, "bob") as repo:
        assert shared["public"] in set(repo.iter_ids())


def test_bulk_over_a_query_touches_only_the_users_own_images(
    settings: Settings, shared: dict[str, str]
) -> None:
    with session(settings, "bob") as repo:
        done, refused = [], []
        for image_id in list(repo.iter_ids()):
            try:
                repo.delete(image_id)
                done.append(image_id)
            except PermissionDeniedError:
                refused.append(image_id)
        assert done == [shared["bob"]] and refused == [shared["public"]]
    with session(settings, "alice") as repo:
        assert repo.count() == 2


def test_duplicates_are_per_owner_and_reveal_nothing(
    settings: Settings, shared: dict[str, str], tmp_path: Path
) -> None:
    same_as_alice_private = write(tmp_path / "copy.jpg", jpeg_bytes(seed=1))
    with session(settings, "bob") as repo:
        first = repo.upload(same_as_alice_private)
        again = repo.upload(same_as_alice_private)
        assert first.status == "created" and first.image.id != shared["private"]
        assert again.status == "duplicate" and again.image.id == first.image.id
        assert first.image.owner_name == "bob"
    with session(settings, "alice") as repo:
        assert repo.original_bytes(shared["private"])[1] == jpeg_bytes(seed=1)


def test_wrong_passwords_fail_alike_and_then_slow_down(
    settings: Settings, shared: dict[str, str]
) -> None:
    with session(settings) as repo:
        with pytest.raises(LoginError) as wrong:
            repo.login("alice", "not her password")
        with pytest.raises(LoginError) as unknown:
            repo.login("nobody", "not her password")
        assert str(wrong.value) == str(unknown.value) == "wrong user name or password"
        for _ in range(2):
            with pytest.raises(LoginError):
                repo.login("alice", "still wrong")
        # Three failures: now even the right password must wait.
        with pytest.raises(LoginError, match="too many failed logins"):
            repo.login("alice", PASSWORDS["alice"])
        for _ in range(3):
            with pytest.raises(LoginError):
                repo.login("nobody", "guess")
        with pytest.raises(LoginError, match="too many failed logins"):
            repo.login("nobody", "guess")
        for odd in ("", "x" * 100_000, "$where", "a\x00b"):
            with pytest.raises(LoginError) as caught:
                repo.login(odd, "guess")
            assert str(caught.value) == "wrong user name or password"
        assert repo.needs_login


def test_parallel_guesses_are_throttled_like_sequential_ones(
    settings: Settings, shared: dict[str, str]
) -> None:
    """24 guesses at once: each failure count goes to one try only, so no more
    passwords are checked than one after another would be (3 free, then waits)."""
    import threading

    tries = 24
    start = threading.Barrier(tries)
    outcomes: list[str] = []
    with session(settings) as repo:

        def guess(number: int) -> None:
            start.wait()
            try:
                repo.login("alice", f"guess {number}")
            except LoginError as error:
                outcomes.append(str(error))

        threads = [threading.Thread(target=guess, args=(n,)) for n in range(tries)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    checked = outcomes.count(accounts.LOGIN_FAILED)
    assert len(outcomes) == tries
    assert 1 <= checked <= accounts.FREE_ATTEMPTS
    assert all(
        text == accounts.LOGIN_FAILED
        or text == accounts.LOGIN_BUSY
        or text.startswith("too many failed logins")
        for text in outcomes
    )


def test_the_wait_doubles_up_to_a_minute() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    waits = [accounts.wait_before_next_try(n, now, now) for n in range(0, 12)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:7] == [1, 2, 4, 8]
    assert waits[-1] == 60
    assert accounts.wait_before_next_try(5, now - timedelta(seconds=10), now) == 0


def test_hashes_are_argon2id_never_shown_and_rehashed_when_parameters_change(
    settings: Settings, shared: dict[str, str], raw_db
) -> None:
    stored = raw_db["users"].find_one({"name": "alice"})["password_hash"]
    assert stored.startswith("$argon2id$")
    assert "secret" not in stored
    with session(settings, "alice") as repo:
        users = repo.list_users()
        assert [user.name for user in users] == ["alice", "bob"]
        assert "argon2" not in repr(users) and "argon2" not in str([u.to_json() for u in users])
    stronger = PasswordHasher(time_cost=2, memory_cost=128, parallelism=1)
    previous = accounts.use_hasher(stronger)
    try:
        with session(settings, "alice"):
            pass
        rehashed = raw_db["users"].find_one({"name": "alice"})["password_hash"]
        assert rehashed != stored and "m=128,t=2" in rehashed
    finally:
        accounts.use_hasher(previous)


def test_owasp_parameters_are_the_default() -> None:
    assert accounts.OWASP_HASHER.type.name == "ID"
    assert accounts.OWASP_HASHER.memory_cost == 19 * 1024
    assert accounts.OWASP_HASHER.time_cost == 2
    assert accounts.OWASP_HASHER.parallelism == 1


def test_only_admins_manage_users(settings: Settings, shared: dict[str, str]) -> None:
    with session(settings, "bob") as repo:
        with pytest.raises(PermissionDeniedError):
            repo.add_user("mallory", "a long password")
        with pytest.raises(PermissionDeniedError):
            repo.remove_user("alice")
        with pytest.raises(PermissionDeniedError):
            repo.change_password("alice", "bob knows it now")
        repo.change_password("bob", "a new password")
    PASSWORDS["bob"] = "a new password"
    try:
        with session(settings, "alice") as repo:
            with pytest.raises(ImageRepoError, match="last admin"):
                repo.remove_user("alice")
            with pytest.raises(ImageRepoError, match="owns 1 image"):
                repo.remove_user("bob")
            repo.remove_user("bob", give_to="alice")
            assert [user.name for user in repo.list_users()] == ["alice"]
            assert repo.info(shared["bob"]).owner_name == "alice"
    finally:
        PASSWORDS["bob"] = "bob's password"


def test_names_and_passwords_are_checked(repo: ImageRepository) -> None:
    for bad in ("", "a b", "../x", "-rf", "x" * 65, "[bold]x"):
        with pytest.raises(ImageRepoError, match="not a valid user name"):
            repo.add_user(bad, "a long password")
    with pytest.raises(ImageRepoError, match="at least 8"):
        repo.add_user("carol", "short")
    assert not repo.has_accounts
    repo.add_user("Carol", "a long password")
    assert repo.login("carol", "a long password").name == "Carol"
    with pytest.raises(ImageRepoError, match="exists"):
        repo.add_user("carol", "a long password")


def test_handing_over_keeps_back_only_what_the_heir_already_holds(
    settings: Settings, shared: dict[str, str], tmp_path: Path
) -> None:
    """Duplicates are unique per owner: bob's copy of bytes alice has cannot become
    hers, so it stays his and he stays; everything else moves."""
    with session(settings, "bob") as repo:
        copy = repo.upload(write(tmp_path / "copy.jpg", jpeg_bytes(seed=1))).image
        shared_copy = repo.upload(
            write(tmp_path / "pub.jpg", jpeg_bytes(seed=7)), NewMetadata(public=True)
        ).image
    with session(settings, "alice") as repo:
        with pytest.raises(ImageRepoError, match=r"still owns 1 image.*duplicates"):
            repo.remove_user("bob", give_to="alice")
        assert repo.info(shared["bob"]).owner_name == "alice"
        assert not repo.info(shared["bob"]).public  # private, now seen by alice
        assert repo.info(shared_copy.id).owner_name == "alice"
        assert repo.info(shared_copy.id).public
        assert copy.id not in set(repo.iter_ids())
    with session(settings, "bob") as repo:
        assert set(repo.iter_ids()) == {copy.id, shared["public"], shared_copy.id}


def test_thumbnails_in_one_read_show_only_what_the_user_may_see(
    settings: Settings, shared: dict[str, str]
) -> None:
    with session(settings, "bob") as repo:
        found = repo.thumbnails([shared["private"], shared["public"], shared["bob"], "nonsense"])
    assert set(found) == {shared["public"], shared["bob"]}  # never alice's private one
    assert all(len(data) > 100 for data in found.values())
