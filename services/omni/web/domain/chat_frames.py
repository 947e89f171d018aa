"""What the widget may send on its chat socket, before the gateway relays it to sessions.

Only the frames and fields of `ChatClientFrame` pass, each with a size limit; the gateway rebuilds
the frame from the checked fields, so nothing else a page puts in a frame travels further.
"""

from __future__ import annotations

from omni.runtime.errors import InvalidArgument
from omni.web.domain.inputs import ID_CHARS, TEXT_CHARS, Json, fields, text

TOKEN_CHARS = 4096
NAME_CHARS = 200
LANGUAGE_CHARS = 16
# An RFC 3339 time such as 2026-12-01T14:30:00Z.
DUE_TIME_CHARS = 40

_FIELDS: dict[str, tuple[tuple[str, int], ...]] = {
    "start": (("handle", ID_CHARS), ("display_name", NAME_CHARS), ("language", LANGUAGE_CHARS),
              ("previous_session_id", ID_CHARS), ("identity_token", TOKEN_CHARS)),
    "resume": (("session_token", TOKEN_CHARS),),
    "text": (("text", TEXT_CHARS), ("client_message_id", ID_CHARS)),
    "typing": (),
    "read": (("message_id", ID_CHARS),),
    "end": (),
    "callback": (("due_time", DUE_TIME_CHARS),),
    # Answered by the gateway itself (routing's ListCallbackSlots), not relayed to sessions.
    "callback_slots": (),
}


def chat_frame(message: object) -> Json:
    """The checked frame, e.g. `{"text": {"text": "hi", "client_message_id": "c1"}}`."""
    frame = fields(message, "a chat frame")
    if len(frame) != 1 or next(iter(frame)) not in _FIELDS:
        raise InvalidArgument(f"a chat frame has exactly one of {', '.join(_FIELDS)}")
    kind, raw = next(iter(frame.items()))
    body = fields(raw, kind)
    return {kind: {name: value for name, limit in _FIELDS[kind] if (value := text(body, name, limit))}}
