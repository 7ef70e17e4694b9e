"""One exception hierarchy; every error carries a message fit to show a user."""

from __future__ import annotations


class ImageRepoError(Exception):
    """Base class: ``str(error)`` is a complete, user-facing sentence."""


class InvalidImageError(ImageRepoError):
    """The bytes are not an image we accept (empty, truncated, bomb, wrong format)."""


class FileTooLargeError(InvalidImageError):
    """The file is larger than the configured upload cap."""


class UnreadablePathError(ImageRepoError):
    """A path is missing, unreadable, a directory without -r, a symlink or a FIFO."""


class InvalidMetadataError(ImageRepoError):
    """A --meta assignment that is not key=value with a valid key."""


class InvalidIdError(ImageRepoError):
    """Text that cannot be an image id or id prefix."""


class NotFoundError(ImageRepoError):
    """No image has that id (or id prefix)."""


class AmbiguousIdError(ImageRepoError):
    """An id prefix matches more than one image."""


class DuplicateContentError(ImageRepoError):
    """Replacing content with bytes another image already holds."""


class SmartCollectionError(ImageRepoError):
    """What a smart collection cannot do (hold images by hand) or be (a loop)."""


class ExportError(ImageRepoError):
    """An export target exists, is unsafe, or cannot be written."""


class DatabaseUnavailableError(ImageRepoError):
    """The database cannot be reached; further work is pointless until it returns."""


class EmbeddedServerError(DatabaseUnavailableError):
    """The embedded server could not be started."""


class DataDirError(EmbeddedServerError):
    """The data directory is not a library and not a new or empty folder."""


class LoginError(ImageRepoError):
    """A login failed. The message never says whether the account exists."""


class LoginRequiredError(ImageRepoError):
    """This library has accounts and nobody is logged in."""


class PermissionDeniedError(ImageRepoError):
    """The logged-in user may not do this (another user's image, or not an admin)."""
