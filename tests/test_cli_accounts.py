"""Accounts through the CLI: logging in, the user commands, and that no command, id,
prefix, query or bulk action reaches another user's private images."""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from imagerepo_tui.cli.users import LOGIN_HINT
from tests.sample_images import jpeg_bytes, write
from tests.support import assert_no_traceback, run_cli, run_main, upload_lines

ALICE_PW = "alice-secret-1"
BOB_PW = "bob-secret-22"
SECRETS = ("$argon2", ALICE_PW, BOB_PW)
LOGIN_FAILED = "error: wrong user name or password\n"


class Accounts:
    """The CLI in-process, as a user: ``run(*args, user=, password=, new_password=)``
    -> (status, stdout, stderr). Passwords go in through the environment as a script
    would give them; no output may ever carry a password or a hash."""

    def __init__(self, db_uri: str, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.db_uri = db_uri
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal

    def run(
        self,
        *args: str,
        user: str | None = None,
        password: str | None = None,
        new_password: str | None = None,
    ) -> tuple[int, str, str]:
        for name, value in (
            ("IMAGEREPO_PASSWORD", password),
            ("IMAGEREPO_NEW_PASSWORD", new_password),
        ):
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)
        status = run_main(["--db", self.db_uri, *(["--user", user] if user else []), *args])
        captured = self.capsys.readouterr()
        assert_no_traceback(captured.out, captured.err)
        for secret in (*SECRETS, *([new_password] if new_password else [])):
            assert secret not in captured.out + captured.err
        return status, captured.out, captured.err

    def alice(self, *args: str, **kwargs: Any) -> tuple[int, str, str]:
        return self.run(*args, user="alice", password=ALICE_PW, **kwargs)

    def bob(self, *args: str, **kwargs: Any) -> tuple[int, str, str]:
        return self.run(*args, user="bob", password=BOB_PW, **kwargs)


@pytest.fixture
def users(db_uri: str, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> Accounts:
    return Accounts(db_uri, capsys, monkeypatch)


def upload(run: Any, path: Path, *extra: str) -> str:
    status, out, err = run("upload", str(path), *extra)
    assert status == 0, err
    return upload_lines(out)[str(path)]


def ids_of(result: tuple[int, str, str]) -> set[str]:
    status, out, err = result
    assert status == 0, err
    return {item["id"] for item in json.loads(out)}


@pytest.fixture
def library(users: Accounts, tmp_path: Path) -> dict[str, str]:
    """alice (admin) and bob. alice owns a private image P, a private trashed T and a
    public Q, all tagged x; bob owns B, tagged x, and a collection "mine"."""
    assert users.run("user", "add", "alice", password=ALICE_PW)[0] == 0
    assert users.alice("user", "add", "bob", new_password=BOB_PW)[0] == 0
    files = tmp_path / "files"
    ids = {
        "P": upload(users.alice, write(files / "p.jpg", jpeg_bytes(seed=1)), "--tag", "x"),
        "T": upload(users.alice, write(files / "t.jpg", jpeg_bytes(seed=2)), "--tag", "x"),
        "Q": upload(
            users.alice, write(files / "q.jpg", jpeg_bytes(seed=3)), "--tag", "x", "--public"
        ),
        "B": upload(users.bob, write(files / "b.jpg", jpeg_bytes(seed=4)), "--tag", "x"),
    }
    assert users.alice("delete", ids["T"], "--yes")[0] == 0
    assert users.bob("collections", "create", "mine")[0] == 0
    return ids


def documents(raw_db: Any, *ids: str) -> list[dict[str, Any]]:
    return [raw_db["images"].find_one({"_id": ObjectId(image_id)}) for image_id in ids]


def unique_prefix(raw_db: Any, image_id: str) -> str:
    """The shortest prefix (6 or more) of ``image_id`` that no other image's id has:
    ids made in one second by one process share most of their characters."""
    others = [str(doc["_id"]) for doc in raw_db["images"].find({}, {"_id": 1})]
    others.remove(image_id)
    length = 6
    while any(other.startswith(image_id[:length]) for other in others):
        length += 1
    return image_id[:length]


def one_error(err: str) -> str:
    """The one error line (a summary note may follow it)."""
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


# -- logging in -------------------------------------------------------------------------


def test_first_account_needs_no_login_and_adopts_existing_images(
    users: Accounts, tmp_path: Path, raw_db: Any
) -> None:
    old = upload(users.run, write(tmp_path / "old.jpg", jpeg_bytes(seed=10)))
    assert users.run("collections", "create", "trips")[0] == 0

    status, out, err = users.run("user", "add", "alice")  # no password anywhere
    assert (status, out) == (2, "")
    assert "IMAGEREPO_NEW_PASSWORD" in one_error(err) and "IMAGEREPO_PASSWORD" in err
    assert raw_db["users"].count_documents({}) == 0

    status, out, err = users.run("user", "add", "alice", password=ALICE_PW)
    assert status == 0, err
    assert out.startswith("alice  (added: the first account")
    [stored] = raw_db["users"].find()
    assert stored["admin"] is True and stored["password_hash"].startswith("$argon2id$")
    assert raw_db["images"].find_one({"_id": ObjectId(old)})["owner"] == str(stored["_id"])

    status, out, _ = users.alice("ls", "--json")
    [image] = json.loads(out)
    assert (status, image["id"], image["owner"], image["public"]) == (0, old, "alice", False)
    assert users.alice("collections", "--json")[1].count('"trips"') == 1
    assert users.alice("whoami") == (0, "alice  (admin)\n", "")
    whoami = json.loads(users.alice("whoami", "--json")[1])
    assert (whoami["name"], whoami["admin"]) == ("alice", True)


def test_whoami_without_accounts(users: Accounts) -> None:
    assert users.run("whoami", "--json") == (0, "null\n", "")
    status, out, err = users.run("whoami")
    assert (status, out) == (0, "") and "no accounts" in err


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_user_name_without_accounts_is_refused(
    users: Accounts, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "environment":
        monkeypatch.setenv("IMAGEREPO_USER", "alice")
        status, out, err = users.run("ls", password=ALICE_PW)
    else:
        status, out, err = users.run("ls", user="alice", password=ALICE_PW)
    assert (status, out) == (2, "")
    assert "no accounts yet" in one_error(err) and "user add NAME" in err


def test_with_accounts_every_command_needs_a_user(users: Accounts, library: dict) -> None:
    for argv in (
        ["ls"],
        ["info", library["P"]],
        ["trash"],
        ["collections"],
        ["user", "ls"],
        ["user", "passwd"],
        ["whoami"],
        ["delete", "--query", "tag:x", "--yes"],
    ):
        # No user at all, even with a password at hand.
        assert users.run(*argv, password=ALICE_PW) == (2, "", f"error: {LOGIN_HINT}\n"), argv
        # A user but no password, and no terminal to ask on.
        assert users.run(*argv, user="alice") == (2, "", f"error: {LOGIN_HINT}\n"), argv


def test_upload_without_a_login_stores_nothing(
    users: Accounts, library: dict[str, str], tmp_path: Path, raw_db: Any
) -> None:
    before = raw_db["images"].count_documents({})
    path = write(tmp_path / "new.jpg", jpeg_bytes(seed=11))
    assert users.run("upload", str(path)) == (2, "", f"error: {LOGIN_HINT}\n")
    assert raw_db["images"].count_documents({}) == before


def test_user_and_password_from_the_environment(
    users: Accounts, library: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGEREPO_USER", "bob")
    assert ids_of(users.run("ls", "--json", password=BOB_PW)) == {library["Q"], library["B"]}
    # --user wins over IMAGEREPO_USER.
    assert ids_of(users.alice("ls", "--json")) == {library["P"], library["Q"]}


def test_the_password_variables_leave_the_environment(users: Accounts, library: dict) -> None:
    # So the embedded server a command may start never inherits them.
    assert users.alice("ls", new_password="not-used-here")[0] == 0
    assert "IMAGEREPO_PASSWORD" not in os.environ
    assert "IMAGEREPO_NEW_PASSWORD" not in os.environ


def test_wrong_passwords_and_unknown_users_fail_alike(
    users: Accounts, library: dict[str, str]
) -> None:
    assert users.run("ls", user="alice", password="not-her-password") == (1, "", LOGIN_FAILED)
    assert users.run("ls", user="nobody", password=ALICE_PW) == (1, "", LOGIN_FAILED)
    assert users.run("ls", user="bob", password=ALICE_PW) == (1, "", LOGIN_FAILED)
    assert users.run("ls", user="not a name!", password=ALICE_PW) == (1, "", LOGIN_FAILED)
    assert users.run("ls", user="alice", password="") == (2, "", f"error: {LOGIN_HINT}\n")
    assert users.alice("ls")[0] == 0  # names are matched ignoring case; the right one works
    assert users.run("ls", user="ALICE", password=ALICE_PW)[0] == 0


def test_after_three_failures_further_tries_must_wait(
    users: Accounts, library: dict[str, str]
) -> None:
    for _ in range(3):
        assert users.run("ls", user="alice", password="guess-guess") == (1, "", LOGIN_FAILED)
    status, out, err = users.alice("ls")  # even the right password, for now
    assert (status, out) == (1, "")
    assert re.fullmatch(r"error: too many failed logins; try again in \d+ s", one_error(err))
    # Unknown names are throttled the same way: nothing tells them apart.
    for _ in range(3):
        assert users.run("ls", user="nobody", password="guess-guess") == (1, "", LOGIN_FAILED)
    assert "too many failed logins" in users.run("ls", user="nobody", password="x" * 8)[2]
    assert users.bob("ls")[0] == 0  # another name is not held up
    time.sleep(1.2)  # the first wait is one second
    assert users.alice("ls")[0] == 0


# -- another user's private images -------------------------------------------------------


def test_private_images_are_invisible_by_id_and_prefix(
    users: Accounts, library: dict[str, str], tmp_path: Path, raw_db: Any
) -> None:
    before = documents(raw_db, library["P"], library["T"])
    replacement = write(tmp_path / "new.jpg", jpeg_bytes(seed=12))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for image in ("P", "T"):
        prefix = unique_prefix(raw_db, library[image])
        for ref in (library[image], prefix, prefix.upper()):
            wanted = f"no image with id {ref.lower()}"
            for argv in (
                ["info", ref],
                ["update", ref, str(replacement)],
                ["download", ref, "-o", str(out_dir)],
                ["edit", ref, "--title", "mine now"],
                ["edit", ref, "--public"],
                ["delete", ref, "--yes"],
                ["delete", ref, "--purge", "--yes"],
                ["restore", ref],
                ["purge", ref, "--yes"],
                ["collections", "add", "mine", ref],
            ):
                status, out, err = users.bob(*argv)
                assert (status, out) == (1, ""), argv
                # Exactly what a made-up id gets: nothing says the image exists.
                assert one_error(err).endswith(wanted), argv
                assert "alice" not in err and "belongs" not in err
    assert documents(raw_db, library["P"], library["T"]) == before
    assert list(out_dir.iterdir()) == []
    assert users.bob("collections", "--json")[1].count('"count": 0') == 1


def test_a_prefix_shared_with_a_private_image_is_not_ambiguous(
    users: Accounts, library: dict[str, str], raw_db: Any
) -> None:
    # Give alice's P and bob's B ids that share a prefix no other image's id has
    # (ids made in one second by one process share 18+ hex characters).
    others = [str(doc["_id"]) for doc in raw_db["images"].find({}, {"_id": 1})]
    while True:
        first, second = ObjectId(), ObjectId()
        a, b = str(first), str(second)
        prefix = b[: next(i for i in range(24) if a[i] != b[i])]
        if not any(other.startswith(prefix) for other in others):
            break
    for old, new in ((library["P"], first), (library["B"], second)):
        doc = raw_db["images"].find_one({"_id": ObjectId(old)})
        raw_db["images"].delete_one({"_id": doc["_id"]})
        raw_db["images"].insert_one({**doc, "_id": new})
    status, out, _ = users.bob("info", prefix, "--json")
    assert status == 0 and json.loads(out)["id"] == b
    assert json.loads(users.alice("info", prefix, "--json")[1])["id"] == a


def test_private_images_never_match_a_query(
    users: Accounts, library: dict[str, str], raw_db: Any
) -> None:
    P, T, Q, B = (library[key] for key in "PTQB")
    assert ids_of(users.bob("ls", "--json")) == {Q, B}
    assert ids_of(users.bob("ls", "--json", "tag:x")) == {Q, B}
    assert ids_of(users.bob("ls", "--json", "owner:alice")) == {Q}
    assert ids_of(users.bob("ls", "--json", "owner:alice", "is:private")) == set()
    assert ids_of(users.bob("ls", "--json", "is:private")) == {B}
    assert ids_of(users.bob("ls", "--json", "is:public")) == {Q}
    assert ids_of(users.bob("ls", "--json", "-is:public")) == {B}
    assert ids_of(users.bob("ls", "--json", "--name", "p.jpg")) == set()
    assert ids_of(users.bob("trash", "--json")) == set()
    # The control: alice sees all of hers.
    assert ids_of(users.alice("ls", "--json", "owner:alice")) == {P, Q}
    assert ids_of(users.alice("trash", "--json")) == {T}
    before = documents(raw_db, P, T)
    for argv in (
        ["restore", "--query", "tag:x"],
        ["purge", "--query", "tag:x", "--yes"],
        ["purge", "--query", "owner:alice", "--yes"],
    ):
        status, out, err = users.bob(*argv)
        assert (status, out) == (0, ""), argv
        assert "no images match" in err or err == "", argv
    assert documents(raw_db, P, T) == before


def test_bulk_changes_skip_private_images_and_refuse_public_ones(
    users: Accounts, library: dict[str, str], raw_db: Any, tmp_path: Path
) -> None:
    P, T, Q, B = (library[key] for key in "PTQB")
    before = documents(raw_db, P, T, Q)
    refused = f"error: {Q}: image {Q} belongs to alice; only its owner can change it"

    status, out, err = users.bob("edit", "--query", "tag:x", "--title", "bob was here", "--json")
    assert status == 1 and one_error(err) == refused
    assert [item["id"] for item in json.loads(out)] == [B]
    status, out, err = users.bob("edit", "--query", "owner:alice", "--private")
    assert (status, out) == (1, "") and one_error(err) == refused
    status, out, err = users.bob("delete", "--query", "owner:alice", "--yes")
    assert (status, out) == (1, "") and one_error(err) == refused
    status, out, err = users.bob("delete", "--query", "tag:x", "--purge", "--yes")
    assert status == 1 and one_error(err) == refused
    assert out.split() == [B, "b.jpg", "(deleted", "for", "good)"]
    assert documents(raw_db, P, T, Q) == before
    assert raw_db["images"].count_documents({"_id": ObjectId(B)}) == 0

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert users.bob("download", "--query", "owner:alice", "-o", str(out_dir))[0] == 0
    assert [path.name for path in out_dir.iterdir()] == ["q.jpg"]
    status, _, err = users.bob("collections", "add", "mine", "--query", "tag:x")
    assert status == 0 and "1 image(s) added" in err
    assert documents(raw_db, P)[0]["collections"] == []


def test_public_images_can_be_seen_but_not_changed(
    users: Accounts, library: dict[str, str], tmp_path: Path, raw_db: Any
) -> None:
    Q = library["Q"]
    status, out, err = users.bob("info", Q)
    assert status == 0, err
    assert re.search(r"owner\s+alice", out) and re.search(r"visibility\s+public", out)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert users.bob("download", Q, "-o", str(out_dir))[0] == 0
    assert (out_dir / "q.jpg").read_bytes() == (tmp_path / "files" / "q.jpg").read_bytes()

    before = documents(raw_db, Q)
    replacement = write(tmp_path / "new.jpg", jpeg_bytes(seed=13))
    for argv in (
        ["edit", Q, "--title", "bob's now"],
        ["edit", Q, "--private"],
        ["update", Q, str(replacement)],
        ["delete", Q, "--yes"],
        ["delete", Q, "--purge", "--yes"],
    ):
        status, out, err = users.bob(*argv)
        assert (status, out) == (1, ""), argv
        assert one_error(err).endswith(f"image {Q} belongs to alice; only its owner can change it")
    assert documents(raw_db, Q) == before

    # Putting it in one's own collection is allowed, and alice does not see that one.
    assert users.bob("collections", "add", "mine", Q)[0] == 0
    assert "collections" not in users.alice("info", Q)[1]
    assert "mine" in users.bob("info", Q)[1]


def test_the_same_bytes_from_another_user_are_a_new_image(
    users: Accounts, library: dict[str, str], tmp_path: Path
) -> None:
    files = tmp_path / "files"
    for key, name in (("P", "p.jpg"), ("Q", "q.jpg")):
        status, out, _ = users.bob("upload", str(files / name), "--json")
        [result] = json.loads(out)
        assert (status, result["status"]) == (0, "created")
        assert result["id"] != library[key]
        status, out, _ = users.bob("upload", str(files / name))
        assert out == f"{result['id']}  {files / name}  (duplicate)\n"
    # The control: alice's own copy is a duplicate of hers.
    status, out, _ = users.alice("upload", str(files / "p.jpg"))
    assert out == f"{library['P']}  {files / 'p.jpg'}  (duplicate)\n"


# -- visibility ---------------------------------------------------------------------------


def test_upload_public_and_edit_visibility_in_bulk(
    users: Accounts, library: dict[str, str], tmp_path: Path
) -> None:
    P, Q, B = library["P"], library["Q"], library["B"]
    status, out, _ = users.alice("edit", P, "--public", "--json")
    assert status == 0 and json.loads(out)["public"] is True
    assert ids_of(users.bob("ls", "--json")) == {P, Q, B}
    assert users.alice("edit", "--query", "owner:alice", "--private")[0] == 0
    assert ids_of(users.bob("ls", "--json")) == {B}
    status, _, err = users.alice("edit", "--query", "tag:x", "--public", "--title", "shared")
    assert status == 0, err
    shown = json.loads(users.bob("ls", "--json")[1])
    assert {(item["id"], item["title"], item["public"]) for item in shown} == {
        (P, "shared", True),
        (Q, "shared", True),
        (B, "", False),
    }
    # The trashed one was not among the matches, and stays hidden.
    assert users.bob("info", library["T"])[0] == 1

    status, _, err = users.alice("edit", P, "--public", "--private")
    assert status == 2 and "not allowed with" in err

    new = upload(users.bob, write(tmp_path / "n.jpg", jpeg_bytes(seed=14)), "--public")
    status, out, _ = users.alice("info", new, "--json")
    assert status == 0 and (json.loads(out)["owner"], json.loads(out)["public"]) == ("bob", True)


def test_ls_and_info_show_owner_and_visibility(users: Accounts, library: dict[str, str]) -> None:
    status, out, _ = users.bob("ls")
    assert status == 0
    lines = {line.split()[0]: line.split() for line in out.splitlines()}
    assert set(lines) == {library["Q"], library["B"]}
    assert lines[library["Q"]][6:9] == ["alice", "public", "q.jpg"]
    assert lines[library["B"]][6:9] == ["bob", "private", "b.jpg"]
    status, out, _ = users.alice("info", library["P"])
    assert re.search(r"owner\s+alice", out) and re.search(r"visibility\s+private", out)


# -- the user commands --------------------------------------------------------------------


def test_user_ls_shows_no_hashes(users: Accounts, library: dict[str, str], raw_db: Any) -> None:
    assert all(doc["password_hash"].startswith("$argon2") for doc in raw_db["users"].find())
    status, out, _ = users.bob("user", "ls", "--json")
    listed = json.loads(out)
    assert status == 0 and [(u["name"], u["admin"]) for u in listed] == [
        ("alice", True),
        ("bob", False),
    ]
    assert all(set(user) == {"id", "name", "admin", "created_at"} for user in listed)
    status, out, _ = users.bob("user")
    assert status == 0 and re.search(r"bob\s+user\s+since [\d-]+\s+\(you\)", out)
    assert re.search(r"alice\s+admin", out)


def test_only_admins_add_and_remove_users(
    users: Accounts, library: dict[str, str], raw_db: Any
) -> None:
    for argv, what in (
        (["user", "add", "carol"], "add users"),
        (["user", "add", "carol", "--admin"], "add users"),
        (["user", "rm", "alice"], "remove users"),
        (["user", "rm", "bob"], "remove users"),
        (["user", "passwd", "alice"], "change another user's password"),
    ):
        status, out, err = users.bob(*argv, new_password="carols-pass-1")
        assert (status, out) == (1, ""), argv
        assert one_error(err) == f"error: only an admin can {what}"
    assert raw_db["users"].count_documents({}) == 2
    assert users.alice("ls")[0] == 0  # alice's password is unchanged

    status, out, _ = users.alice("user", "add", "carol", "--admin", new_password="carols-pass-1")
    assert (status, out) == (0, "carol  (added)\n")
    assert json.loads(users.run("whoami", "--json", user="carol", password="carols-pass-1")[1])[
        "admin"
    ]
    status, _, err = users.alice("user", "add", "Carol", new_password="carols-pass-2")
    assert status == 1 and "exists" in one_error(err)
    status, _, err = users.alice("user", "add", "dave", new_password="short")
    assert status == 1 and one_error(err) == "error: a password needs at least 8 characters"
    status, _, err = users.alice("user", "add", "no way", new_password="long-enough-1")
    assert status == 1 and "not a valid user name" in one_error(err)
    # Without IMAGEREPO_NEW_PASSWORD, the login password is not taken as the new one.
    status, _, err = users.alice("user", "add", "erin")
    assert status == 2 and "IMAGEREPO_NEW_PASSWORD" in one_error(err)
    assert raw_db["users"].count_documents({}) == 3


def test_removing_a_user_hands_over_their_images(users: Accounts, library: dict[str, str]) -> None:
    status, out, err = users.alice("user", "rm", "bob")
    assert (status, out) == (1, "")
    assert "bob still owns 1 image(s) and 1 collection(s)" in one_error(err)
    assert "--give-to NAME" in err
    assert users.alice("user", "rm", "bob", "--give-to", "alice") == (0, "bob  (removed)\n", "")
    assert users.bob("ls") == (1, "", LOGIN_FAILED)
    shown = json.loads(users.alice("ls", "--json")[1])
    assert {item["id"]: item["owner"] for item in shown}[library["B"]] == "alice"
    status, _, err = users.alice("user", "rm", "alice")
    assert status == 1 and "last admin" in one_error(err)


def test_passwd_changes_ones_own_or_as_admin_anyones(
    users: Accounts, library: dict[str, str]
) -> None:
    assert users.bob("user", "passwd", new_password="bobs-new-pass") == (
        0,
        "bob  (password changed)\n",
        "",
    )
    assert users.bob("ls") == (1, "", LOGIN_FAILED)
    assert users.run("ls", user="bob", password="bobs-new-pass")[0] == 0
    status, _, err = users.run("user", "passwd", user="bob", password="bobs-new-pass")
    assert status == 2 and "IMAGEREPO_NEW_PASSWORD" in one_error(err)
    assert users.alice("user", "passwd", "bob", new_password=BOB_PW)[0] == 0
    assert users.bob("ls")[0] == 0
    status, _, err = users.alice("user", "passwd", "nobody", new_password="whatever-1")
    assert status == 1 and one_error(err) == "error: no user named 'nobody'"


# -- as a program: the terminal prompts ---------------------------------------------------


def converse(
    args: list[str], answers: list[tuple[str, str]], env: dict[str, str] | None = None
) -> tuple[int, str, str, bytes]:
    """Run the CLI with a pseudo-terminal as stdin (and no controlling terminal, so
    getpass falls back to it and prompts on stderr); type each answer once its prompt
    has appeared. -> (status, stdout, stderr, what the terminal echoed)."""
    import pty

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "imagerepo_tui", *args],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    os.close(terminal)
    assert process.stderr is not None
    err = b""
    try:
        for prompt, answer in answers:
            seen = err.count(prompt.encode())
            deadline = time.monotonic() + 30
            while err.count(prompt.encode()) <= seen:
                ready, _, _ = select.select([process.stderr], [], [], 0.1)
                if ready:
                    chunk = os.read(process.stderr.fileno(), 4096)
                    assert chunk, f"the program ended before asking {prompt!r}: {err!r}"
                    err += chunk
                assert time.monotonic() < deadline, f"no {prompt!r} prompt: {err!r}"
            os.write(controller, answer.encode() + b"\n")
        out, rest = process.communicate(timeout=60)
        echoed = b""
        while select.select([controller], [], [], 0)[0]:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            echoed += chunk
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    stderr = (err + rest).decode()
    assert_no_traceback(stderr)
    return process.returncode, out.decode(), stderr, echoed


def test_login_password_typed_on_a_terminal(
    users: Accounts, library: dict[str, str], db_uri: str
) -> None:
    status, out, err, echoed = converse(
        ["--db", db_uri, "--user", "alice", "whoami"], [("Password for alice: ", ALICE_PW)]
    )
    assert (status, out) == (0, "alice  (admin)\n"), err
    assert ALICE_PW.encode() not in echoed  # typed with echo off

    status, out, err, _ = converse(
        ["--db", db_uri, "--user", "alice", "ls"], [("Password for alice: ", "wrong-one-1")]
    )
    assert (status, out) == (1, "")
    assert err.endswith(LOGIN_FAILED) and "wrong-one-1" not in err


def test_new_password_typed_twice_on_a_terminal(
    users: Accounts, library: dict[str, str], db_uri: str
) -> None:
    status, out, err, echoed = converse(
        ["--db", db_uri, "--user", "alice", "user", "add", "carol"],
        [
            ("New password for carol: ", "short"),
            ("New password for carol: ", "carols-pass-1"),
            ("Type it again: ", "carols-pass-2"),
            ("New password for carol: ", "carols-pass-1"),
            ("Type it again: ", "carols-pass-1"),
        ],
        env={"IMAGEREPO_PASSWORD": ALICE_PW},
    )
    assert (status, out) == (0, "carol  (added)\n"), err
    assert "a password needs at least 8 characters; try again" in err
    assert "the passwords do not match; try again" in err
    assert b"carols-pass" not in echoed and "carols-pass" not in err
    assert users.run("whoami", user="carol", password="carols-pass-1")[1] == "carol\n"

    # Three mismatches: nothing changes.
    status, out, err, _ = converse(
        ["--db", db_uri, "--user", "alice", "user", "passwd"],
        [
            (prompt, answer)
            for _ in range(3)
            for prompt, answer in (
                ("New password for alice: ", "first-try-1"),
                ("Type it again: ", "second-try-2"),
            )
        ],
        env={"IMAGEREPO_PASSWORD": ALICE_PW},
    )
    assert (status, out) == (1, "")
    assert err.strip().splitlines()[-1] == "error: no password set after 3 tries; nothing changed"
    assert users.alice("whoami")[0] == 0


def test_end_to_end_from_the_environment(db_uri: str, tmp_path: Path) -> None:
    """As a script would: real password hashing, the password only in the environment."""
    photo = write(tmp_path / "e.jpg", jpeg_bytes(seed=15))
    assert run_cli("--db", db_uri, "upload", str(photo)).returncode == 0
    done = run_cli("--db", db_uri, "user", "add", "alice", env={"IMAGEREPO_PASSWORD": ALICE_PW})
    assert done.returncode == 0, done.stderr
    done = run_cli("--db", db_uri, "ls")
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"error: {LOGIN_HINT}\n")
    login = {"IMAGEREPO_USER": "alice", "IMAGEREPO_PASSWORD": ALICE_PW}
    done = run_cli("--db", db_uri, "ls", "--json", env=login)
    assert done.returncode == 0, done.stderr
    [image] = json.loads(done.stdout)
    assert (image["filename"], image["owner"]) == ("e.jpg", "alice")
    done = run_cli("--db", db_uri, "user", "ls", "--json", env=login)
    assert done.returncode == 0 and "$argon2" not in done.stdout + done.stderr
    done = run_cli("--db", db_uri, "--user", "alice", "ls", env={"IMAGEREPO_PASSWORD": "nope-nope"})
    assert (done.returncode, done.stdout, done.stderr) == (1, "", LOGIN_FAILED)


def test_upload_public_of_an_image_one_already_has_shares_it(
    users: Accounts, library: dict[str, str], tmp_path: Path
) -> None:
    status, out, _ = users.alice("upload", str(tmp_path / "files" / "p.jpg"), "--public")
    assert status == 0 and out.endswith("(duplicate)\n")
    assert json.loads(users.alice("info", library["P"], "--json")[1])["public"] is True
