"""App accounts and the record of failed logins. Hashing happens in ``accounts``;
this only stores what it is given."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import DuplicateKeyError

from imagerepo_tui.errors import ImageRepoError, NotFoundError
from imagerepo_tui.store.common import Documents, database_errors, utc_now
from imagerepo_tui.store.connection import Store
from imagerepo_tui.store.models import LoginAttempt, User


class UserExistsError(ImageRepoError):
    """A user with that name (ignoring case) already exists."""


class UserStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        # mongoengine hands out untyped collections: say what the driver returns.
        self.users: Documents = User._get_collection()
        self.attempts: Documents = LoginAttempt._get_collection()

    def any_exist(self) -> bool:
        with database_errors(self.store):
            return self.users.find_one({}, {"_id": 1}) is not None

    def first(self) -> dict[str, Any] | None:
        """The account created first: it adopts images from before accounts existed."""
        with database_errors(self.store):
            return self.users.find_one({}, sort=[("created_at", 1), ("_id", 1)])

    def all(self) -> list[dict[str, Any]]:
        with database_errors(self.store):
            return list(self.users.find({}).sort("name_key", 1))

    def by_name_key(self, key: str) -> dict[str, Any] | None:
        with database_errors(self.store):
            return self.users.find_one({"name_key": key})

    def by_id(self, user_id: str) -> dict[str, Any] | None:
        try:
            oid = ObjectId(user_id)
        except (InvalidId, TypeError):
            return None
        with database_errors(self.store):
            return self.users.find_one({"_id": oid})

    def create(self, name: str, key: str, password_hash: str, admin: bool) -> dict[str, Any]:
        now = utc_now()
        doc = {
            "name": name,
            "name_key": key,
            "password_hash": password_hash,
            "admin": admin,
            "created_at": now,
            "updated_at": now,
        }
        with database_errors(self.store):
            try:
                self.users.insert_one(doc)
            except DuplicateKeyError:
                raise UserExistsError(f"a user named {name!r} exists") from None
        return doc

    def set_password_hash(self, user_id: ObjectId, password_hash: str) -> None:
        with database_errors(self.store):
            result = self.users.update_one(
                {"_id": user_id},
                {"$set": {"password_hash": password_hash, "updated_at": utc_now()}},
            )
        if result.matched_count == 0:
            raise NotFoundError("that user no longer exists")

    def delete(self, user_id: ObjectId) -> None:
        with database_errors(self.store):
            self.users.delete_one({"_id": user_id})

    def admin_count(self) -> int:
        with database_errors(self.store):
            return self.users.count_documents({"admin": True})

    # -- failed logins ------------------------------------------------------------------

    def failures(self, key: str) -> tuple[int, Any]:
        """(failed logins in a row, when the last one was) for a name."""
        with database_errors(self.store):
            doc = self.attempts.find_one({"_id": key}) or {}
        return int(doc.get("failures", 0)), doc.get("last_failed_at")

    def reserve_attempt(self, key: str, failures_seen: int) -> bool:
        """Count a try as failed before its password is checked (success clears it),
        if the name still has ``failures_seen`` failures: of logins racing in parallel
        only one gets each count, so parallel guesses are throttled like sequential
        ones. False when another try got there first."""
        now = utc_now()
        with database_errors(self.store):
            if failures_seen == 0:
                try:
                    self.attempts.insert_one({"_id": key, "failures": 1, "last_failed_at": now})
                    return True
                except DuplicateKeyError:
                    return False
            reserved = self.attempts.update_one(
                {"_id": key, "failures": failures_seen},
                {"$inc": {"failures": 1}, "$set": {"last_failed_at": now}},
            )
            return reserved.matched_count == 1

    def clear_failures(self, key: str) -> None:
        with database_errors(self.store):
            self.attempts.delete_one({"_id": key})
