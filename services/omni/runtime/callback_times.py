"""The rule for a callback time a customer picks, shared by the sessions service (the chat
widget's choice) and routing (which books it): in the future and not too far ahead."""

from __future__ import annotations

from omni.runtime.errors import InvalidArgument

# A chosen callback time is at most this far ahead.
MAX_SCHEDULE_AHEAD = 30 * 86400.0


def check_chosen_time(due: float, now: float) -> float:
    """`due` (0: none chosen, the callback keeps the place in line) when it is acceptable."""
    if due and not now < due <= now + MAX_SCHEDULE_AHEAD:
        raise InvalidArgument(f"due_time must be in the future and at most {MAX_SCHEDULE_AHEAD / 86400:.0f} days "
                              "ahead")
    return due
