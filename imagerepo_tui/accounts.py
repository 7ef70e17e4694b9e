"""App accounts without the database: password hashing, name rules, login throttling.

Passwords are kept only as Argon2id hashes with OWASP's recommended parameters
(19 MiB, 2 passes, 1 lane). Verification is constant time in the password, and a
login for a name that does not exist verifies against a dummy hash, so the time a
failure takes does not tell whether the account exists.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from imagerepo_tui.errors import ImageRepoError

# OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1.
OWASP_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
# Failed logins allowed for a name before each further try has to wait.
FREE_ATTEMPTS = 3
MAX_WAIT = timedelta(seconds=60)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
LOGIN_FAILED = "wrong user name or password"
LOGIN_BUSY = "another login for this name is being checked; try again in a moment"

_hasher = OWASP_HASHER
_dummy_hash: str | None = None


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Swap the hashing parameters (tests use cheap ones); returns the previous hasher."""
    global _hasher, _dummy_hash
    previous, _hasher, _dummy_hash = _hasher, hasher, None
    return previous


def is_valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def check_name(name: str) -> str:
    """A user name as stored: 1-64 letters, digits, ".", "_" or "-", starting with a
    letter or digit (so it is safe in a prompt, a path and a search term)."""
    if not is_valid_name(name):
        raise ImageRepoError(
            f"{name!r} is not a valid user name (1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit)"
        )
    return name


def name_key(name: str) -> str:
    return name.casefold()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ImageRepoError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ImageRepoError(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def rehash(password: str) -> str:
    """A fresh hash of a password that just verified, under today's parameters (it
    may predate today's length rules, so those are not checked again)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). ``stored_hash`` None (no such user) still costs one
    verification, against a dummy hash, and never matches."""
    global _dummy_hash
    if stored_hash is None:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash("not a password anyone has")
        stored_hash = _dummy_hash
        password = password + "\0"  # never the dummy's own password
    try:
        _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, _hasher.check_needs_rehash(stored_hash)


def wait_before_next_try(failures: int, last_failure: datetime | None, now: datetime) -> float:
    """Seconds a login for a name must still wait after ``failures`` failed tries in a
    row: none for the first few, then doubling from one second up to a minute."""
    if failures < FREE_ATTEMPTS or last_failure is None:
        return 0.0
    wait = min(timedelta(seconds=2 ** (failures - FREE_ATTEMPTS)), MAX_WAIT)
    return max(0.0, (last_failure + wait - now).total_seconds())
