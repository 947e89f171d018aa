"""Who may sign in to the desk: staff with a valid platform token; never a customer's chat token."""

from __future__ import annotations

import dataclasses

from omni.runtime.auth import Principal, Role
from omni.runtime.errors import PermissionDenied

# A token of ours is well under 1 KiB; the cookie must also stay under browsers' 4 KiB.
MAX_TOKEN_CHARS = 3000
DESK_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})


@dataclasses.dataclass(frozen=True)
class Staff:
    subject: str
    role: Role
    groups: tuple[str, ...]


def staff_of(principal: Principal) -> Staff:
    if principal.role not in DESK_ROLES:
        raise PermissionDenied(f"a {principal.role} token cannot sign in to the agent desk; "
                               f"use an agent, supervisor or admin token")
    return Staff(principal.subject, principal.role, principal.groups)
