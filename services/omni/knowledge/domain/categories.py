"""The category tree: ids, names and where a new category sits."""

from __future__ import annotations

import re
import uuid

from omni.knowledge.domain.model import Category
from omni.runtime.errors import FailedPrecondition, InvalidArgument

MAX_DEPTH = 6
MAX_NAME_CHARS = 80
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def check_id(value: str, what: str) -> str:
    """A caller-chosen id, or a fresh one when empty."""
    if not value:
        return uuid.uuid4().hex[:16]
    if not _ID.match(value):
        raise InvalidArgument(f"{what} {value!r} must be 1-64 characters of a-z, 0-9 and '-', starting with a letter "
                              "or digit")
    return value


def new_category(category_id: str, name: str, parent: Category | None) -> Category:
    name = " ".join(name.split())
    if not name:
        raise InvalidArgument("category.name is required")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidArgument(f"category.name is {len(name)} characters; the limit is {MAX_NAME_CHARS}")
    if parent is not None and len(parent.path_ids) >= MAX_DEPTH:
        raise FailedPrecondition(f"category '{'/'.join(parent.path_names)}' is already {MAX_DEPTH} levels deep; "
                                 "put the new category higher up")
    ids = (*parent.path_ids, category_id) if parent else (category_id,)
    names = (*parent.path_names, name) if parent else (name,)
    return Category(id=category_id, parent_id=parent.id if parent else "", name=name, path_ids=ids, path_names=names)
