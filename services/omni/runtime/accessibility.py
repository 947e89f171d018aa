"""Customers' accessibility needs as the services take them: a few short names ("hearing",
"vision", "elderly"), lower case, in order, once each (sessions from the telephony adapter and its
contact flow, routing from its API and the customers' tags)."""

from __future__ import annotations

from collections.abc import Sequence

from omni.runtime.errors import InvalidArgument
from omni.runtime.validation import check_length

MAX_NEEDS = 8
MAX_NEED_LENGTH = 40


def needs(named: Sequence[str]) -> tuple[str, ...]:
    """The needs named, checked: at most `MAX_NEEDS` of at most `MAX_NEED_LENGTH` characters."""
    if len(named) > MAX_NEEDS:
        raise InvalidArgument(f"at most {MAX_NEEDS} accessibility needs (got {len(named)})")
    checked = (check_length(need.strip().lower(), "accessibility", MAX_NEED_LENGTH) for need in named if need.strip())
    return tuple(dict.fromkeys(checked))


# A customer tag naming an accessibility need ("accessibility:hearing"), set in tickets.
TAG_PREFIX = "accessibility:"


def from_tags(tags: Sequence[str]) -> tuple[str, ...]:
    """The needs a customer's tags name ("accessibility:hearing" -> "hearing"), at most `MAX_NEEDS`
    of at most `MAX_NEED_LENGTH` characters (longer ones are not needs anyone configured)."""
    named = (tag.removeprefix(TAG_PREFIX).strip().lower() for tag in tags if tag.startswith(TAG_PREFIX))
    return tuple(dict.fromkeys(need for need in named if need and len(need) <= MAX_NEED_LENGTH))[:MAX_NEEDS]
