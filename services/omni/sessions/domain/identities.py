"""Match keys for identities, so a customer's next session finds their previous one.

Tickets owns the customer record and its normalisation; sessions only needs "is this the
same number/address as in a recent session", e.g. a chat that gave `+86 138 0013 8000` and a
call whose ANI is `13800138000`.
"""

from __future__ import annotations

from omni.runtime.phones import to_e164
from omni.sessions.domain.model import Identity


def match_key(identity: Identity, default_region: str) -> str:
    value = identity.value.strip()
    if not value:
        return ""
    if identity.kind == "phone":
        number = to_e164(value, default_region)
        if number is None:
            digits = "".join(c for c in value if c.isdigit())
            return f"phone:{digits}" if digits else ""
        return "phone:" + number
    if identity.kind == "email":
        return "email:" + value.casefold()
    return f"{identity.kind}:{value}"


def match_keys(identities: list[Identity], default_region: str) -> list[str]:
    keys = (match_key(i, default_region) for i in identities)
    return sorted({k for k in keys if k})
