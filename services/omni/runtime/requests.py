"""Checks every RPC makes on its input: sizes, required fields, page tokens, field masks."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Sequence
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from omni.runtime.errors import Conflict, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def require(value: str, field: str) -> str:
    if not value or not value.strip():
        raise InvalidArgument(f"{field} is required")
    return value.strip()


def check_length(value: str, field: str, limit: int) -> str:
    if len(value) > limit:
        raise InvalidArgument(f"{field} is {len(value)} characters; the limit is {limit}")
    return value


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument(f"page_size must not be negative (got {requested})")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_page_token(position: dict[str, Any]) -> str:
    """Opaque token naming where the next page starts (keyset values, not an offset)."""
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode()


def decode_page_token(token: str) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError):
        raise InvalidArgument("page_token is not one this service issued; start again without it") from None
    if not isinstance(position, dict):
        raise InvalidArgument("page_token is not one this service issued; start again without it")
    return position


def mask_paths(paths: Sequence[str], allowed: Collection[str], *, resource: str) -> list[str]:
    """Validate a FieldMask against the fields a caller may update."""
    if not paths:
        raise InvalidArgument(f"update_mask is required; updatable {resource} fields: {', '.join(sorted(allowed))}")
    unknown = sorted(set(paths) - set(allowed))
    if unknown:
        raise InvalidArgument(
            f"cannot update {resource} field(s) {', '.join(unknown)}; updatable: {', '.join(sorted(allowed))}"
        )
    return list(paths)


def check_version(what: str, stored: int, sent: int) -> None:
    """Optimistic concurrency of an Update: a sent version (0 = unchecked) must be the stored one."""
    if sent and sent != stored:
        raise Conflict(f"{what} was changed by someone else (version {stored}, you sent {sent}); "
                       "reload it and apply your change again")


def apply_mask(target: Message, changes: Message, paths: Sequence[str]) -> None:
    """Replace the masked fields of `target` with those of `changes` (AIP-134 semantics: a masked
    field left empty in the request is cleared, lists and messages are replaced, not merged)."""
    FieldMask(paths=list(paths)).MergeMessage(changes, target, replace_message_field=True,
                                              replace_repeated_field=True)
