"""Logging in, and the account commands: user add/passwd/rm/ls and whoami.

Passwords come from the environment (IMAGEREPO_PASSWORD to log in,
IMAGEREPO_NEW_PASSWORD for a new one) or from a prompt with echo off when stdin is a
terminal. They are never printed, logged or put in an error message, and the
variables are taken out of this process's environment once read, so no process it
starts (the embedded database server) inherits them.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from rich.text import Text

from imagerepo_tui import accounts
from imagerepo_tui.cli.output import Output
from imagerepo_tui.cli.parser import UsageError
from imagerepo_tui.config import Settings
from imagerepo_tui.errors import ImageRepoError, NotFoundError
from imagerepo_tui.records import UserInfo
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.textsafe import visible

PASSWORD_ENV = "IMAGEREPO_PASSWORD"
NEW_PASSWORD_ENV = "IMAGEREPO_NEW_PASSWORD"
LOGIN_HINT = (
    "this library has accounts: give --user NAME and the password in IMAGEREPO_PASSWORD "
    "(or type it when asked on a terminal)"
)
NO_ACCOUNTS_HINT = (
    "this library has no accounts yet, so there is nobody to log in as: create the first "
    "with `imagerepo-tui user add NAME` (or leave out --user / IMAGEREPO_USER)"
)
PROMPT_TRIES = 3


class Passwords:
    """The password variables, read once and removed from the environment."""

    def __init__(self) -> None:
        self.login = os.environ.pop(PASSWORD_ENV, None) or None
        self.new = os.environ.pop(NEW_PASSWORD_ENV, None) or None


def on_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _ask(prompt: str) -> str:
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise UsageError("no password given") from None


def log_in(
    repo: ImageRepository, settings: Settings, args: argparse.Namespace, passwords: Passwords
) -> None:
    """Log in as ``settings.user`` when the library has accounts; refuse a user name
    where there are none (except to create the first account)."""
    if not repo.has_accounts:
        first_account = args.command == "user" and args.action == "add"
        if settings.user and not first_account:
            raise UsageError(NO_ACCOUNTS_HINT)
        return
    if not repo.needs_login:
        return
    if not settings.user:
        raise UsageError(LOGIN_HINT)
    password = passwords.login
    if password is None:
        if not on_terminal():
            raise UsageError(LOGIN_HINT)
        password = _ask(f"Password for {visible(settings.user)}: ")
    repo.login(settings.user, password)


def new_password(name: str, passwords: Passwords, *, first_account: bool) -> str:
    """The new password for ``name``: typed twice on a terminal, else from the
    environment (IMAGEREPO_PASSWORD only for the very first account)."""
    from_env = passwords.new or (passwords.login if first_account else None)
    if from_env is not None:
        return from_env
    if not on_terminal():
        fallback = f" (or {PASSWORD_ENV}, for the first account)" if first_account else ""
        raise UsageError(
            f"not on a terminal, so the new password cannot be asked for: give it in "
            f"{NEW_PASSWORD_ENV}{fallback}"
        )
    for _ in range(PROMPT_TRIES):
        password = _ask(f"New password for {visible(name)}: ")
        try:
            accounts.check_password(password)
        except ImageRepoError as error:
            sys.stderr.write(f"{error}; try again\n")
            continue
        if _ask("Type it again: ") == password:
            return password
        sys.stderr.write("the passwords do not match; try again\n")
    raise ImageRepoError(f"no password set after {PROMPT_TRIES} tries; nothing changed")


# -- commands -----------------------------------------------------------------------------


def _user_line(user: UserInfo, current: UserInfo | None = None) -> Text:
    line = Text(no_wrap=True)
    line.append(f"{visible(user.name):<20}", style="bold")
    line.append(f"  {'admin' if user.admin else 'user ':<5}", style="magenta")
    line.append(f"  since {user.created_at:%Y-%m-%d}", style="dim")
    if current is not None and current.id == user.id:
        line.append("  (you)", style="green")
    return line


def _require_admin(repo: ImageRepository, what: str) -> None:
    """Checked before asking for a password, so nobody types one in vain (the core
    checks again, and is what enforces it)."""
    user = repo.current_user
    if user is not None and not user.admin:
        raise ImageRepoError(f"only an admin can {what}")


def _known(repo: ImageRepository, name: str) -> bool:
    try:
        repo.user(name)
    except NotFoundError:
        return False
    return True


def cmd_user(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    passwords: Passwords = args.passwords
    action = args.action or "ls"
    if action == "ls":
        users = repo.list_users() if repo.has_accounts else []
        if out.as_json:
            out.json([user.to_json() for user in users])
            return
        if not users:
            out.note("no accounts yet: imagerepo-tui user add NAME")
        for user in users:
            out.line(_user_line(user, repo.current_user))
        return
    if action == "add":
        accounts.check_name(args.name)
        first = not repo.has_accounts
        if not first:
            _require_admin(repo, "add users")
            if _known(repo, args.name):
                raise ImageRepoError(f"a user named {args.name!r} exists")
        password = new_password(args.name, passwords, first_account=first)
        user = repo.add_user(args.name, password, admin=args.admin)
        if first:
            _report(out, user, "added: the first account, an admin owning every image here")
            if not out.as_json:
                out.note(
                    "from now on, every command needs --user NAME (or IMAGEREPO_USER) and the "
                    "password in IMAGEREPO_PASSWORD, or typed when asked on a terminal"
                )
        else:
            _report(out, user, "added")
    elif action == "passwd":
        if not repo.has_accounts:
            raise UsageError("this library has no accounts yet: add one with `user add NAME`")
        me = repo.current_user
        assert me is not None  # logged in by log_in
        name = args.name or me.name
        if accounts.name_key(name) != accounts.name_key(me.name):
            _require_admin(repo, "change another user's password")
            if not _known(repo, name):
                raise ImageRepoError(f"no user named {visible(name)!r}")
        password = new_password(name, passwords, first_account=False)
        _report(out, repo.change_password(name, password), "password changed")
    elif action == "rm":
        if not repo.has_accounts:
            raise UsageError("this library has no accounts yet")
        _report(out, repo.remove_user(args.name, give_to=args.give_to), "removed")


def _report(out: Output, user: UserInfo, note: str) -> None:
    if out.as_json:
        out.json(user.to_json())
    else:
        out.line(Text.assemble((visible(user.name), "bold"), f"  ({note})"))


def cmd_whoami(repo: ImageRepository, args: argparse.Namespace, out: Output) -> None:
    user = repo.current_user
    if out.as_json:
        out.json(user.to_json() if user else None)
    elif user is None:
        out.note("no accounts in this library: everything in it is yours")
    else:
        out.line(Text.assemble((visible(user.name), "bold"), "  (admin)" if user.admin else ""))
