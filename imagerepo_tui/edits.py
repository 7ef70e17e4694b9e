"""What an edit changes in an image's record: the field values, worked out without I/O.

``ImageRepository.edit`` and ``replace_content`` check ownership and write; these
functions only say which fields change, search fields included, so no edit can leave
the search words behind the text they index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from imagerepo_tui.files import PreparedUpload
from imagerepo_tui.records import ImageInfo, normalise_tags, search_fields, tag_key


def metadata_changes(
    current: ImageInfo,
    *,
    title: str | None,
    description: str | None,
    add_tags: Sequence[str],
    remove_tags: Sequence[str],
    tags: Sequence[str] | None,
    meta: Mapping[str, Any] | None,
    unset_meta: Sequence[str],
) -> tuple[dict[str, Any], list[str]]:
    """(fields to set, fields to unset); both empty when nothing changes."""
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = title
    if description is not None:
        changes["description"] = description
    new_tags = list(current.tags)
    if tags is not None or add_tags or remove_tags:
        dropped = {tag_key(tag) for tag in remove_tags}
        base = list(current.tags) if tags is None else list(tags)
        kept = [tag for tag in base if tag_key(tag) not in dropped]
        new_tags = normalise_tags([*kept, *add_tags])
        changes["tags"] = new_tags
    for key, value in (meta or {}).items():
        changes[f"meta.{key}"] = value
    unset = [f"meta.{key}" for key in unset_meta]
    if not changes and not unset:
        return {}, []
    changes.update(
        search_fields(
            current.filename,
            changes.get("title", current.title),
            changes.get("description", current.description),
            new_tags,
        )
    )
    return changes, unset


def new_content_fields(prepared: PreparedUpload, current: ImageInfo) -> dict[str, Any]:
    """The fields new bytes bring; the image's title, description and tags stay."""
    return {
        **prepared.fields,
        # The sort key of sort:taken follows the new bytes' date taken too.
        "taken_key": prepared.fields["taken_at"] or current.created_at,
        **search_fields(
            prepared.fields["filename"], current.title, current.description, current.tags
        ),
    }
