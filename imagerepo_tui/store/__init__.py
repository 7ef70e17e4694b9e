"""Storage: the only package that imports mongoengine, pymongo or gridfs."""

from imagerepo_tui.store.connection import Store, open_store, redact_uri
from imagerepo_tui.store.images import ImageStore

__all__ = ["ImageStore", "Store", "open_store", "redact_uri"]
