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
