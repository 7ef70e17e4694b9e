"""Who is using the library and what they may do: accounts, login, admin and owner checks.

``ImageRepository`` holds one ``Access`` and asks it before every read or change;
the password and name rules themselves are in ``accounts.py``. Before the first
account exists the library is in personal mode: whoever runs it owns everything.
"""

from __future__ import annotations

import re
from typing import Any

from imagerepo_tui import accounts
from imagerepo_tui.errors import (
    AmbiguousIdError,
    ImageRepoError,
    InvalidIdError,
    LoginError,
    LoginRequiredError,
    NotFoundError,
    PermissionDeniedError,
)
from imagerepo_tui.records import ImageInfo, UserInfo
from imagerepo_tui.store import (
    PUBLIC,
    UNOWNED,
    CollectionStore,
    ImageStore,
    UserStore,
    utc_now,
)
from imagerepo_tui.textsafe import visible

MIN_ID_PREFIX = 6
FULL_ID_LENGTH = 24
_ID_TEXT = re.compile(r"[0-9a-f]{6,24}")


class Access:
    """The logged-in user (if any) of one repository, and the account operations."""

    def __init__(self, users: UserStore, images: ImageStore, collections: CollectionStore) -> None:
        self._users = users
        self._images = images
        self._collections = collections
        self.viewer: UserInfo | None = None
        # Owner ids to names, for showing whose an image is.
        self.owner_names: dict[str, str] = {}
        self.has_accounts = users.any_exist()
        if self.has_accounts:
            self._adopt_unowned()

    def audiences(self, trash: bool = False) -> list[str]:
        """Whose images the user sees: their own (all in the trash), and public ones."""
        me = self.me()
        return [me] if trash else [me, PUBLIC]

    def resolve_id(self, text: str) -> Any:
        """The full id for an id or a unique prefix of 6+ hex characters (like git),
        among the images the user may see."""
        wanted = text.strip().lower()
        if not _ID_TEXT.fullmatch(wanted):
            raise InvalidIdError(
                f"{visible(text)!r} is not an image id (24 hex characters, or a unique "
                f"prefix of at least {MIN_ID_PREFIX})"
            )
        if len(wanted) == FULL_ID_LENGTH:
            oid = self._images.visible_id(wanted, self.audiences())
            if oid is None:
                raise NotFoundError(f"no image with id {wanted}")
            return oid
        matches = self._images.ids_with_prefix(wanted, limit=2, audiences=self.audiences())
        if not matches:
            raise NotFoundError(f"no image with id {wanted}")
        if len(matches) > 1:
            raise AmbiguousIdError(f"id prefix {wanted} matches several images; give more of it")
        return matches[0]

    @property
    def needs_login(self) -> bool:
        return self.has_accounts and self.viewer is None

    def me(self) -> str:
        """The owner key of whoever is using the library: the logged-in user's id, or
        "" in personal mode (before any account exists)."""
        if self.viewer is not None:
            return self.viewer.id
        if self.has_accounts:
            raise LoginRequiredError(
                "this library has user accounts: log in first (--user NAME, with the "
                "password from IMAGEREPO_PASSWORD or a prompt)"
            )
        return UNOWNED

    def logged_in(self) -> UserInfo:
        self.me()
        if self.viewer is None:
            raise LoginRequiredError("there are no accounts yet; add one with `user add NAME`")
        return self.viewer

    def require_admin(self, what: str) -> None:
        if not self.logged_in().admin:
            raise PermissionDeniedError(f"only an admin can {what}")

    def require_owner(self, image_id: Any, doc: dict[str, Any]) -> str:
        """The user's owner key, if the image is theirs to change; else refused."""
        me = self.me()
        if doc.get("owner", UNOWNED) != me:
            # Through the checked record: an owner stored as a document is no key.
            info = ImageInfo.from_document(doc, self.owner_names, set())
            owner = info.owner_name or "another user"
            raise PermissionDeniedError(
                f"image {image_id} belongs to {owner}; only its owner can change it"
            )
        return me

    def owner_id(self, name: str) -> str:
        """The owner key of the user called ``name`` (for ``owner:NAME`` searches)."""
        self.me()
        return str(self.user_named(name)["_id"])

    def user_named(self, name: str) -> dict[str, Any]:
        doc = self._users.by_name_key(accounts.name_key(name))
        if doc is None:
            raise NotFoundError(f"no user named {visible(name)!r}")
        return doc

    def list_users(self) -> list[UserInfo]:
        self.me()
        return [UserInfo.from_document(doc) for doc in self._users.all()]

    def login(self, name: str, password: str) -> UserInfo:
        """Log in for the rest of this repository's life. Failures say only "wrong
        user name or password"; after a few in a row for a name (existing or not),
        further tries must wait, doubling up to a minute."""
        if not accounts.is_valid_name(name):
            # No such account can exist; fail alike (a dummy verification included)
            # without storing arbitrary text as a failure record.
            accounts.verify_password(None, password)
            raise LoginError(accounts.LOGIN_FAILED)
        key = accounts.name_key(name)
        failures, last_failure = self._users.failures(key)
        wait = accounts.wait_before_next_try(failures, last_failure, utc_now())
        if wait > 0:
            raise LoginError(f"too many failed logins; try again in {int(wait) + 1} s")
        if not self._users.reserve_attempt(key, failures):
            raise LoginError(accounts.LOGIN_BUSY)
        doc = self._users.by_name_key(key)
        stored_hash = doc.get("password_hash") if doc else None
        matches, needs_rehash = accounts.verify_password(
            # Another client may have stored anything there: only text is a hash.
            stored_hash if isinstance(stored_hash, str) else None,
            password,
        )
        if doc is None or not matches:
            raise LoginError(accounts.LOGIN_FAILED)
        self._users.clear_failures(key)
        if needs_rehash:
            self._users.set_password_hash(doc["_id"], accounts.rehash(password))
        self.viewer = UserInfo.from_document(doc)
        self.has_accounts = True
        self._load_owner_names()
        return self.viewer

    def add_user(self, name: str, password: str, *, admin: bool = False) -> UserInfo:
        """Create an account. The first one needs no login, is an admin and adopts the
        images and collections made before accounts existed; later ones need an
        admin logged in."""
        accounts.check_name(name)
        first = not self._users.any_exist()
        if not first:
            self.require_admin("add users")
        doc = self._users.create(
            name, accounts.name_key(name), accounts.hash_password(password), admin or first
        )
        self.has_accounts = True
        if first:
            self._adopt_unowned()
        self._load_owner_names()
        return UserInfo.from_document(doc)

    def change_password(self, name: str, new_password: str) -> UserInfo:
        """Set a user's password: their own, or anyone's for an admin."""
        viewer = self.logged_in()
        doc = self.user_named(name)
        if str(doc["_id"]) != viewer.id and not viewer.admin:
            raise PermissionDeniedError("only an admin can change another user's password")
        self._users.set_password_hash(doc["_id"], accounts.hash_password(new_password))
        self._users.clear_failures(doc["name_key"])
        return UserInfo.from_document(doc)

    def remove_user(self, name: str, *, give_to: str | None = None) -> UserInfo:
        """Remove an account (admins only). Its images and collections go to
        ``give_to``; without one, a user who owns anything is not removed."""
        self.require_admin("remove users")
        doc = self.user_named(name)
        user_id = str(doc["_id"])
        if doc.get("admin") and self._users.admin_count() <= 1:
            raise ImageRepoError(f"{name} is the last admin and cannot be removed")
        if give_to is not None:
            self._give_away(user_id, give_to)
        self._check_owns_nothing(name, user_id, give_to)
        self._users.delete(doc["_id"])
        if self.viewer is not None and self.viewer.id == user_id:
            self.viewer = None
        self._load_owner_names()
        return UserInfo.from_document(doc)

    def _give_away(self, user_id: str, give_to: str) -> None:
        heir = str(self.user_named(give_to)["_id"])
        if heir == user_id:
            raise ImageRepoError("give the images to another user")
        self._images.give_away(user_id, heir)
        self._collections.give_away(user_id, heir)

    def _check_owns_nothing(self, name: str, user_id: str, give_to: str | None) -> None:
        images = self._images.owner_count(user_id)
        collections = self._collections.owner_count(user_id)
        if not images and not collections:
            return
        hint = (
            "some are duplicates of the other user's or share a collection name: "
            "remove or rename those first"
            if give_to
            else "give them to another user with --give-to NAME"
        )
        raise ImageRepoError(
            f"{name} still owns {images} image(s) and {collections} collection(s); {hint}"
        )

    def _adopt_unowned(self) -> None:
        """Images and collections from before the first account belong to it (also
        ones a personal-mode process still running added after it was created)."""
        images, collections = self._images.owns_any(UNOWNED), self._collections.owner_count(UNOWNED)
        first = self._users.first() if images or collections else None
        if first is None:
            return
        if images:
            self._images.give_away(UNOWNED, str(first["_id"]))
        if collections:
            self._collections.give_away(UNOWNED, str(first["_id"]))

    def _load_owner_names(self) -> None:
        # Through the checked record: a user document with a bad name is no crash.
        users = (UserInfo.from_document(doc) for doc in self._users.all())
        self.owner_names = {user.id: user.name for user in users}
