"""Settings from command-line options and IMAGEREPO_* environment variables."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

APP_NAME = "imagerepo-tui"
DEFAULT_MAX_FILE_MB = 200
DEFAULT_MAX_MEGAPIXELS = 178  # Pillow's own hard limit (2x MAX_IMAGE_PIXELS), in megapixels
DEFAULT_EMBEDDED_IDLE_SECONDS = 120.0


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError as error:
        raise ValueError(f"{name} must be a number, not {raw!r}") from error


@dataclass(frozen=True)
class Settings:
    """Everything the core needs to know about where and how to store images."""

    db_uri: str | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    max_file_bytes: int = DEFAULT_MAX_FILE_MB * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_MEGAPIXELS * 1_000_000
    embedded_idle_seconds: float = DEFAULT_EMBEDDED_IDLE_SECONDS
    # The account to log in as, in a library that has accounts.
    user: str | None = None

    @classmethod
    def from_env(
        cls,
        db_uri: str | None = None,
        data_dir: str | Path | None = None,
        user: str | None = None,
    ) -> Settings:
        """Explicit arguments win over the environment, which wins over defaults."""
        uri = db_uri or os.environ.get("IMAGEREPO_DB") or None
        directory = data_dir or os.environ.get("IMAGEREPO_DATA_DIR") or default_data_dir()
        max_mb = _env_float("IMAGEREPO_MAX_FILE_MB", DEFAULT_MAX_FILE_MB)
        max_mp = _env_float("IMAGEREPO_MAX_MEGAPIXELS", DEFAULT_MAX_MEGAPIXELS)
        idle = _env_float("IMAGEREPO_EMBEDDED_IDLE_SECONDS", DEFAULT_EMBEDDED_IDLE_SECONDS)
        return cls(
            db_uri=uri,
            data_dir=Path(directory).expanduser(),
            max_file_bytes=int(max_mb * 1024 * 1024),
            max_pixels=int(max_mp * 1_000_000),
            embedded_idle_seconds=idle,
            user=user or os.environ.get("IMAGEREPO_USER") or None,
        )


def redact_uri(uri: str) -> str:
    """The URI without its password, fit to show in a status line or an error."""
    return re.sub(r"(mongodb(?:\+srv)?://)([^:@/]+):[^@/]*@", r"\1\2:***@", uri)
