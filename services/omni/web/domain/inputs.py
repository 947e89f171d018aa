"""Reading what a browser sent: every field has a type and an explicit size limit.

Bodies arrive as parsed JSON (any shape); these functions take what a call needs and refuse the
rest with a message that names the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from omni.runtime.errors import InvalidArgument

Json = dict[str, Any]

# Limits of the fields the UIs send. Message text is limited by the sessions service too
# (OMNI_MAX_TEXT_CHARS); this one only stops an oversized body from travelling further.
ID_CHARS = 200
REASON_CHARS = 500
TEXT_CHARS = 8000
QUERY_CHARS = 500
# An email address (RFC 5321: 254 at most), and how many participants one reply may copy.
ADDRESS_CHARS = 254
MAX_COPIES = 20


def fields(value: object, what: str) -> Json:
    if not isinstance(value, dict):
        raise InvalidArgument(f"{what} must be a JSON object")
    return value


def text(body: Json, name: str, limit: int, *, required: bool = False) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string")
    if len(value) > limit:
        raise InvalidArgument(f"{name} is {len(value)} characters; the limit is {limit}")
    if required and not value.strip():
        raise InvalidArgument(f"{name} is required")
    return value


def whole_number(body: Json, name: str, *, most: int) -> int:
    """A non-negative integer (JSON booleans are not numbers here); 0 when absent."""
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        raise InvalidArgument(f"{name} must be a whole number from 0 to {most}")
    return value


def strings(body: Json, name: str, limit: int, *, most: int) -> list[str]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= limit for v in value):
        raise InvalidArgument(f"{name} must be a list of strings of at most {limit} characters")
    if len(value) > most:
        raise InvalidArgument(f"{name} has {len(value)} entries; the limit is {most}")
    return value


def choice(body: Json, name: str, allowed: tuple[str, ...]) -> str:
    value = body.get(name, "")
    if value not in allowed:
        raise InvalidArgument(f"{name} must be one of {', '.join(allowed)}")
    return str(value)


def instant(body: Json, name: str) -> dt.datetime:
    """A required moment as ISO 8601 with its zone (the browser sends UTC: "…Z")."""
    value = text(body, name, 40, required=True)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(f"{name} must be a time like 2026-12-01T10:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidArgument(f"{name} must name its time zone (e.g. end in Z for UTC)")
    return moment
