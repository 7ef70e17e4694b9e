"""Storage: the only package that imports mongoengine, pymongo or gridfs."""

from imagerepo_tui.config import redact_uri
from imagerepo_tui.store.collections import CollectionExistsError, CollectionStore
from imagerepo_tui.store.common import utc_now
from imagerepo_tui.store.connection import Store, open_store
from imagerepo_tui.store.images import ImageStore, visibility
from imagerepo_tui.store.models import PUBLIC, UNOWNED
from imagerepo_tui.store.similar import HashStore
from imagerepo_tui.store.users import UserExistsError, UserStore

__all__ = [
    "PUBLIC",
    "UNOWNED",
    "CollectionExistsError",
    "CollectionStore",
    "HashStore",
    "ImageStore",
    "Store",
    "UserExistsError",
    "UserStore",
    "open_store",
    "redact_uri",
    "utc_now",
    "visibility",
]
