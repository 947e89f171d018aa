"""What watchers of a session are told as it happens: the chat customer, `WatchSession` callers.

Updates are live only: a watcher that missed one reads the session again. Typing and read
markers are never stored; they carry a message with only an id, a direction and a time.
"""

from __future__ import annotations

import dataclasses
import enum

from omni.sessions.domain.model import Direction, Message, Note, Session


class UpdateKind(enum.StrEnum):
    # The session as it is when a watch starts.
    SNAPSHOT = "snapshot"
    MESSAGE = "message"
    STATE = "state"
    # Internal notes go to staff watchers only.
    NOTE = "note"
    TYPING = "typing"
    READ = "read"


@dataclasses.dataclass(frozen=True)
class Update:
    kind: UpdateKind
    # The whole session after the change; None for typing and read markers.
    session: Session | None = None
    # The new message, or the typing/read marker.
    message: Message | None = None
    note: Note | None = None

    @property
    def ends_conversation(self) -> bool:
        """A state change into ENDED or ABANDONED: nothing follows, watches end here."""
        return self.kind is UpdateKind.STATE and self.session is not None and self.session.terminal

    @property
    def reaches_chat(self) -> bool:
        """What a chat customer's connection carries: messages, the agent's typing and read
        markers, state changes. Never notes, never the customer's own markers back."""
        if self.kind in (UpdateKind.TYPING, UpdateKind.READ):
            return self.message is not None and self.message.direction is Direction.OUTBOUND
        return self.kind in (UpdateKind.MESSAGE, UpdateKind.STATE)
