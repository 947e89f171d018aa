"""What the desk records on a session when an agent hands work on or finishes it.

Routing keeps a transfer's reason with the work and a wrap-up's disposition in its event, but
neither is on the conversation's record, and a wrap-up's note is kept nowhere; the desk writes
them as internal notes on the session (with the agent's own token), where the next agent, the
ticket's timeline and supervisors read them.
"""

from __future__ import annotations

from omni.web.domain.inputs import ID_CHARS, TEXT_CHARS

# The agent's own words in a wrap-up note; with the prefix the note stays within TEXT_CHARS.
WRAP_UP_NOTE_CHARS = TEXT_CHARS - ID_CHARS - 100


def transfer_note(target: str, reason: str) -> str:
    """`target`: the queue (or agent) the work went to."""
    return f"transferred to {target}: {reason}"


def wrap_up_note(disposition: str, note: str) -> str:
    return f"wrap-up: {disposition}" + (f" — {note}" if note.strip() else "")


def transfer_request_id(work_id: str, transfer_count: int) -> str:
    """Keys the note to this transfer, so a retried call adds it once."""
    return f"desk-transfer:{work_id}:{transfer_count}"


def wrap_up_request_id(work_id: str) -> str:
    return f"desk-wrap-up:{work_id}"


def summary_request_id(work_id: str) -> str:
    return f"desk-summary:{work_id}"
