"""Why work is transferred: the codes a transfer must name."""

from __future__ import annotations

import enum

from omni.runtime.errors import InvalidArgument


class TransferReason(enum.StrEnum):
    WRONG_QUEUE = "wrong_queue"
    NEEDS_SKILL = "needs_skill"
    LANGUAGE = "language"
    ESCALATION = "escalation"
    CUSTOMER_REQUEST = "customer_request"
    ACCESSIBILITY = "accessibility"
    OTHER = "other"
    # A supervisor takes the work over from the agent (domain/access.py: to themselves).
    SUPERVISOR_TAKEOVER = "supervisor_takeover"


def transfer_reason(code: TransferReason | None, note: str) -> str:
    """The reason a transfer records ("needs_skill: billing specialist"): a code is required, and
    with `other` a note saying what."""
    if code is None:
        raise InvalidArgument("a transfer needs a reason_code: one of "
                              + ", ".join(reason.value for reason in TransferReason))
    note = note.strip()
    if code is TransferReason.OTHER and not note:
        raise InvalidArgument("a transfer with reason_code 'other' needs a reason saying what")
    return f"{code.value}: {note}" if note else code.value
