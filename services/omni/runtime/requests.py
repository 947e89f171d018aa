"""Protobuf-specific request handling shared by the servicers (validation lives in `validation.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message


def apply_mask(target: Message, changes: Message, paths: Sequence[str]) -> None:
    """Replace the masked fields of `target` with those of `changes` (AIP-134 semantics: a masked
    field left empty in the request is cleared, lists and messages are replaced, not merged)."""
    FieldMask(paths=list(paths)).MergeMessage(changes, target, replace_message_field=True,
                                              replace_repeated_field=True)
