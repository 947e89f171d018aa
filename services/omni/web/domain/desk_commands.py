"""Commands the desk sends on its live stream (presence, offers, wrap-up), checked and typed."""

from __future__ import annotations

import dataclasses

from omni.runtime.errors import InvalidArgument
from omni.web.domain.inputs import ID_CHARS, REASON_CHARS, TEXT_CHARS, choice, fields, text
from omni.web.domain.work_notes import WRAP_UP_NOTE_CHARS

# What an agent may set themselves to; busy and wrap-up follow from the work they hold.
PRESENCE = ("available", "break", "offline")


@dataclasses.dataclass(frozen=True)
class SetPresence:
    status: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Accept:
    offer_id: str


@dataclasses.dataclass(frozen=True)
class Reject:
    offer_id: str
    reason: str


@dataclasses.dataclass(frozen=True)
class WrapUp:
    work_id: str
    disposition: str
    note: str
    # The conversation's summary as the agent left it (the draft, edited); empty: none kept.
    summary: str = ""


DeskCommand = SetPresence | Accept | Reject | WrapUp


def desk_command(message: object) -> DeskCommand:
    """One command: `{"set_state": {...}}`, `{"accept": {...}}`, `{"reject": {...}}` or `{"wrap_up": {...}}`."""
    frame = fields(message, "a desk command")
    if len(frame) != 1:
        raise InvalidArgument("a desk command has exactly one of set_state, accept, reject, wrap_up")
    kind, raw = next(iter(frame.items()))
    body = fields(raw, kind)
    if kind == "set_state":
        return SetPresence(choice(body, "status", PRESENCE), text(body, "reason", REASON_CHARS))
    if kind == "accept":
        return Accept(text(body, "offer_id", ID_CHARS, required=True))
    if kind == "reject":
        return Reject(text(body, "offer_id", ID_CHARS, required=True), text(body, "reason", REASON_CHARS))
    if kind == "wrap_up":
        return WrapUp(text(body, "work_id", ID_CHARS, required=True),
                      text(body, "disposition", ID_CHARS, required=True), text(body, "note", WRAP_UP_NOTE_CHARS),
                      text(body, "summary", TEXT_CHARS))
    raise InvalidArgument(f"unknown desk command {kind[:40]!r}")
