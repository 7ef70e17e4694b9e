"""The command line: every command, option and help text."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable

from imagerepo_tui import __version__
from imagerepo_tui.cli.dupes_options import add_dupes_parser
from imagerepo_tui.config import GRAPHICS_MODES, config_path


class UsageError(Exception):
    """A mistake in how the command was called: exit status 2."""


QUERY_HELP = (
    "search text, e.g. 'sunset tag:beach -tag:work taken:2021-05 size:>2mb rating:>=4 "
    "is:favorite format:heic collection:NAME sort:-size' (see the README's query language)"
)


def _global_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    # Accepted before or after the subcommand; the subcommand's copy must not
    # overwrite a value given before it, hence SUPPRESS there.
    default = None if top_level else argparse.SUPPRESS
    parser.add_argument(
        "--db",
        metavar="URI",
        default=default,
        help="MongoDB URI to use (env IMAGEREPO_DB); default: the embedded database",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=default,
        help="where the embedded database keeps its files (env IMAGEREPO_DATA_DIR)",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        default=default,
        help="log in as NAME in a library with accounts (env IMAGEREPO_USER); the "
        "password comes from IMAGEREPO_PASSWORD, or is asked for on a terminal",
    )


def _json_option(parser: argparse.ArgumentParser, *, nested: bool = False) -> None:
    # A nested copy must not reset a --json given before the nested action.
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if nested else False,
        help="machine-readable JSON on stdout",
    )


def _targets(parser: argparse.ArgumentParser, what: str = "images") -> None:
    parser.add_argument("ids", nargs="*", metavar="ID", help=f"{what} (ids or unique prefixes)")
    parser.add_argument(
        "--query", metavar="QUERY", help=f"every match instead of ids; {QUERY_HELP}"
    )


def _yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")


def _meta(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--meta",
        action="append",
        metavar="KEY=VALUE",
        help="set a custom field (repeatable); numbers and ISO dates are typed",
    )


class _PathSafeFormatter(argparse.HelpFormatter):
    """Wraps the description and epilog at spaces only: a path such as the config
    file's (…/imagerepo-tui/config.toml) must stay whole to be copied."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        text = " ".join(text.split())
        return textwrap.fill(
            text,
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
            break_long_words=False,
        )


def app_options(parser: argparse.ArgumentParser) -> None:
    """The options before any command (all of them, when the app opens)."""
    _global_options(parser, top_level=True)
    parser.add_argument(
        "--graphics",
        choices=GRAPHICS_MODES,
        # None: not given, so IMAGEREPO_GRAPHICS or config.toml may choose.
        default=None,
        help="how the app draws images (env IMAGEREPO_GRAPHICS; default: auto, detect)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagerepo-tui",
        formatter_class=_PathSafeFormatter,
        description="A terminal image library kept in MongoDB. Without a command, opens "
        "the interactive app; with one, runs it as a script-friendly CLI.",
        epilog="IDs are 24 hex characters; a unique prefix of 6 or more also works. "
        "Exit status: 0 ok, 1 some item failed, 2 usage error. In a library with "
        "accounts, every command needs --user NAME (or IMAGEREPO_USER) and the password "
        "in IMAGEREPO_PASSWORD or typed when asked. Settings file (options and "
        f"IMAGEREPO_* variables override it): {config_path()}; IMAGEREPO_CONFIG=PATH "
        "reads another.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    app_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _global_options(sub, top_level=False)
        return sub

    upload = command("upload", "store image files (originals kept byte for byte)")
    upload.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="files, or folders with -r; judged by content: JPEG (and camera MPO), PNG, "
        "GIF, WebP, TIFF, BMP, and phones' HEIC/HEIF and AVIF",
    )
    upload.add_argument("-r", "--recursive", action="store_true", help="upload folders' contents")
    upload.add_argument("--title", help="title for every uploaded image")
    upload.add_argument("--description", help="description for every uploaded image")
    upload.add_argument("--tag", action="append", metavar="TAG", help="add a tag (repeatable)")
    upload.add_argument(
        "--collection",
        metavar="NAME",
        help="put the images in this collection (created if it does not exist)",
    )
    upload.add_argument(
        "--public",
        action="store_true",
        help="let every user of the library see the images (default: only you)",
    )
    _meta(upload)
    _json_option(upload)

    ls = command("ls", "list or search images, newest first (metadata only)")
    ls.add_argument("query_words", nargs="*", metavar="QUERY", help=QUERY_HELP)
    ls.add_argument("--tag", help="only images with this tag (case-insensitive)")
    ls.add_argument("--name", metavar="SUBSTRING", help="filename contains (case-insensitive)")
    ls.add_argument("--limit", type=int, metavar="N", help="at most N images")
    _json_option(ls)

    info = command("info", "show an image's metadata")
    info.add_argument("id", metavar="ID")
    _json_option(info)

    download = command("download", "write originals under their original filenames")
    _targets(download)
    download.add_argument(
        "-o",
        "--output",
        default=".",
        metavar="DIR",
        help="folder to write into (default: current folder)",
    )
    download.add_argument("--force", action="store_true", help="overwrite existing files")
    download.add_argument(
        "--rendered",
        action="store_true",
        help="write a copy as the app draws it (EXIF orientation, then the image's "
        "rotation) instead of the original bytes: in the original's format where Pillow "
        "writes it (JPEG at quality 95 with its EXIF, PNG, WebP at quality 95, TIFF, "
        "BMP, GIF and WebP animations frame by frame), else PNG (the name then ends .png)",
    )
    _json_option(download)

    update = command("update", "replace an image's content; id, title and tags stay")
    update.add_argument("id", metavar="ID")
    update.add_argument("path", metavar="PATH")
    _json_option(update)

    edit = command(
        "edit",
        "change images' title, description, tags, custom fields, rating, favourite or rotation",
    )
    _targets(edit)
    edit.add_argument("--title", help="new title (an empty string clears it)")
    edit.add_argument("--description", help="new description (an empty string clears it)")
    edit.add_argument("--tag", action="append", metavar="TAG", help="add a tag (repeatable)")
    edit.add_argument("--untag", action="append", metavar="TAG", help="remove a tag (repeatable)")
    _meta(edit)
    edit.add_argument("--unmeta", action="append", metavar="KEY", help="remove a custom field")
    visibility = edit.add_mutually_exclusive_group()
    visibility.add_argument(
        "--public",
        dest="public",
        action="store_const",
        const=True,
        help="let every user of the library see the images",
    )
    visibility.add_argument(
        "--private",
        dest="public",
        action="store_const",
        const=False,
        help="only you can see the images again",
    )
    _judging_options(edit)
    _json_option(edit)

    delete = command("delete", "move images to the trash (restore brings them back)")
    _targets(delete)
    delete.add_argument(
        "--purge",
        action="store_true",
        help="delete for good, stored bytes included, skipping the trash",
    )
    _yes(delete)

    trash = command("trash", "list the trash, or empty it")
    trash.add_argument(
        "action", nargs="?", choices=["ls", "empty"], default="ls", help="ls (default) or empty"
    )
    trash.add_argument(
        "--older-than",
        metavar="AGE",
        help="with empty: only images deleted more than AGE ago (30d, 12h, 2w)",
    )
    _yes(trash)
    _json_option(trash)

    restore = command("restore", "bring images back from the trash, or a backup into the library")
    restore.description = (
        "restore ID... (or --query Q) brings trashed images back with their metadata and "
        "collections. restore --backup DIR recreates images with their ids, metadata, "
        "collections and accounts from a folder written by `backup` into this library "
        "(empty or not): it verifies every byte, skips what is already there unchanged and "
        "repairs an image whose stored bytes are damaged or missing; restoring twice "
        "changes nothing; in a library with accounts, only an admin may restore a backup."
    )
    _targets(restore, "trashed images")
    restore.add_argument(
        "--backup", metavar="DIR", help="restore the library from this backup folder instead"
    )

    purge = command("purge", "delete trashed images for good, stored bytes included")
    _targets(purge, "trashed images")
    _yes(purge)

    _collections_parser(
        command(
            "collections", "albums: list, create, rename, describe, delete, add and remove images"
        )
    )
    _user_parser(command("user", "accounts: add, list and remove users, change passwords"))
    whoami = command("whoami", "show who is logged in")
    _json_option(whoami)
    _server_parser(command("server", "the embedded database: status, uri for other clients, stop"))
    _safekeeping_parsers(command)
    add_dupes_parser(command, QUERY_HELP)
    return parser


def _judging_options(edit: argparse.ArgumentParser) -> None:
    edit.add_argument(
        "--rating",
        type=int,
        choices=range(6),
        metavar="0-5",
        help="stars from 1 to 5, or 0 for unrated (search: rating:>=4, rating:3, rating:1..3)",
    )
    favorite = edit.add_mutually_exclusive_group()
    favorite.add_argument(
        "--favorite",
        dest="favorite",
        action="store_const",
        const=True,
        help="mark the images as favourites (search: is:favorite)",
    )
    favorite.add_argument(
        "--unfavorite",
        dest="favorite",
        action="store_const",
        const=False,
        help="no longer favourites",
    )
    edit.add_argument(
        "--rotate",
        type=int,
        choices=(90, 180, 270),
        metavar="90|180|270",
        help="turn clockwise by this many degrees more, on top of the EXIF orientation: "
        "thumbnails, previews and download --rendered are drawn turned; the original "
        "bytes, their SHA-256 and a plain download never change",
    )


SAFEKEEPING_NOTE = (
    "In a library with accounts, only an admin may do this: it covers every user's images."
)


def _safekeeping_parsers(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    check = command("check", "prove every original is intact and find broken or orphaned data")
    check.description = (
        "Reads every original and compares it with its stored SHA-256; finds images whose "
        "stored file or chunks are missing, short or damaged, stored files and chunks no "
        "image uses (orphans), half-finished writes and documents with impossible fields. "
        "One line per problem, a summary, exit status 1 if anything is wrong. " + SAFEKEEPING_NOTE
    )
    check.add_argument(
        "--repair",
        action="store_true",
        help="remove orphans and half-finished writes (never an image or its bytes)",
    )
    _json_option(check)

    backup = command("backup", "back up the whole library into a plain folder, incrementally")
    backup.description = (
        "Writes originals (once each, by SHA-256), the metadata of every image, collection "
        "and account (password hashes, never passwords) and a manifest into DIR, which any "
        "program can read (see the README). A second run writes only what changed; a backup "
        "is complete only once its manifest is in place. " + SAFEKEEPING_NOTE
    )
    backup.add_argument("folder", metavar="DIR", help="the backup folder (created if needed)")
    _json_option(backup)

    copy = command("copy", "copy a library between two MongoDB servers, or import a GridFS bucket")
    copy.description = (
        "--to URI copies this library into the MongoDB at URI; --from URI copies the library "
        "there into this one. Both verify every byte, can be stopped and run again, and "
        "copy nothing twice. With --bucket NAME, --from URI imports the images another "
        "application keeps in GridFS bucket NAME (never writing there): each accepted image "
        "becomes an image here with its bytes unchanged, its filename and its GridFS metadata "
        "(as custom fields, with imported_from, imported_file_id and imported_upload_date), "
        "other files are refused one line each; running it again imports nothing twice. The "
        "bucket is read from the database the URI names (mongodb://HOST/DATABASE), or from "
        "MongoDB's default database 'test' if it names none. " + SAFEKEEPING_NOTE
    )
    direction = copy.add_mutually_exclusive_group(required=True)
    direction.add_argument("--to", metavar="URI", help="copy this library into URI")
    direction.add_argument("--from", dest="source", metavar="URI", help="copy URI's library here")
    copy.add_argument(
        "--bucket",
        metavar="NAME",
        help="with --from: import the GridFS bucket NAME (e.g. fs) of another application",
    )
    _json_option(copy)


def _server_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "The embedded database (used when no --db is given) runs as its own process on "
        "127.0.0.1 and asks every client for the library's password, which is kept in "
        "credential.json in the data directory, readable only by you. It starts with the "
        "first command that needs it and stops once no client has been connected for a "
        "while (IMAGEREPO_EMBEDDED_IDLE_SECONDS, default 120)."
    )
    _json_option(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    for name, help_text in (
        ("status", "say whether it runs, where, and how much it stores (the default)"),
        (
            "uri",
            "print a connection string with the password, for mongosh, Compass or "
            "pymongo (starts the server if needed)",
        ),
        ("stop", "stop it now (connected clients lose their connection)"),
    ):
        sub = actions.add_parser(name, help=help_text, description=help_text)
        _global_options(sub, top_level=False)
        _json_option(sub, nested=True)


def _collections_parser(parser: argparse.ArgumentParser) -> None:
    _json_option(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_text, description=help_text)
        _global_options(sub, top_level=False)
        _json_option(sub, nested=True)
        return sub

    action(
        "ls",
        "list collections with their image counts (the default); smart ones are marked "
        "[smart] with their query",
    )
    create = action(
        "create",
        "create a collection; with --query, a smart collection: a saved search that "
        "holds whatever it finds, live (images cannot be added or removed by hand)",
    )
    create.add_argument("name", metavar="NAME")
    create.add_argument("--description", default="", help="what the collection is for")
    create.add_argument(
        "--query",
        metavar="Q",
        help="make it smart: the search (as for ls) it stands for; checked now, and "
        "collection:NAME elsewhere then finds what Q finds at that moment",
    )
    rename = action("rename", "rename a collection")
    rename.add_argument("name", metavar="NAME")
    rename.add_argument("new_name", metavar="NEW_NAME")
    describe = action("describe", "set a collection's description")
    describe.add_argument("name", metavar="NAME")
    describe.add_argument("description", metavar="TEXT")
    delete = action("delete", "delete a collection (its images stay in the library)")
    delete.add_argument("name", metavar="NAME")
    _yes(delete)
    for name, help_text in (
        ("add", "add images to a collection"),
        ("remove", "remove images from a collection"),
    ):
        sub = action(name, help_text)
        sub.add_argument("name", metavar="NAME")
        _targets(sub)


NEW_PASSWORD_HELP = (
    "The new password is asked for twice on a terminal; otherwise it is read from "
    "IMAGEREPO_NEW_PASSWORD (for the very first account, which needs no login, "
    "IMAGEREPO_PASSWORD works too). At least 8 characters."
)


def _user_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Accounts. Before the first account, the library is one person's. The first "
        "account (no login needed) is an admin and becomes the owner of every image "
        "and collection already there; after that, every command needs --user NAME "
        "and that user's password, and each user sees their own images and the "
        "public ones. Only admins add and remove users."
    )
    _json_option(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    def action(name: str, help_text: str, details: str = "") -> argparse.ArgumentParser:
        sub = actions.add_parser(
            name, help=help_text, description=f"{help_text}. {details}".strip()
        )
        _global_options(sub, top_level=False)
        _json_option(sub, nested=True)
        return sub

    action("ls", "list the users (the default)")
    add = action(
        "add",
        "add a user (admins only, except for the very first account)",
        NEW_PASSWORD_HELP,
    )
    add.add_argument("name", metavar="NAME", help="1-64 letters, digits, '.', '_' or '-'")
    add.add_argument("--admin", action="store_true", help="may add and remove users")
    passwd = action(
        "passwd",
        "change a password: yours, or anyone's for an admin",
        NEW_PASSWORD_HELP,
    )
    passwd.add_argument("name", nargs="?", metavar="NAME", help="whose password (default: yours)")
    rm = action(
        "rm",
        "remove a user (admins only)",
        "A user who still owns images or collections is kept unless --give-to "
        "hands them to another user.",
    )
    rm.add_argument("name", metavar="NAME")
    rm.add_argument(
        "--give-to", metavar="OTHER", help="give the user's images and collections to OTHER"
    )
