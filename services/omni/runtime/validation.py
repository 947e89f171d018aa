"""Checks every request makes on its input (sizes, required fields, update masks, versions).

Plain Python: use-case and domain code may call these; protobuf-specific helpers live in
`runtime/requests.py`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from omni.runtime.errors import Conflict, InvalidArgument


def require(value: str, field: str) -> str:
    if not value or not value.strip():
        raise InvalidArgument(f"{field} is required")
    return value.strip()


def check_length(value: str, field: str, limit: int) -> str:
    if len(value) > limit:
        raise InvalidArgument(f"{field} is {len(value)} characters; the limit is {limit}")
    return value


def mask_paths(paths: Sequence[str], allowed: Collection[str], *, resource: str) -> list[str]:
    """Validate the paths of an update mask against the fields a caller may update."""
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
