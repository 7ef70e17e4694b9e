"""Storage: the only package that imports mongoengine, pymongo or gridfs."""

from imagerepo_tui.store.collections import CollectionExistsError, CollectionStore
from imagerepo_tui.store.connection import Store, open_store, redact_uri
from imagerepo_tui.store.images import ImageStore, utc_now

__all__ = [
    "CollectionExistsError",
    "CollectionStore",
    "ImageStore",
    "Store",
    "open_store",
    "redact_uri",
    "utc_now",
]
