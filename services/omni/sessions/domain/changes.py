"""What one write did to a session: the messages it added and the move it made. Events and live
updates are derived from this, so they carry the change, never the whole conversation."""

from __future__ import annotations

import dataclasses

from omni.sessions.domain.model import Message, Session, State


@dataclasses.dataclass(frozen=True)
class Change:
    # Messages this write added, oldest first.
    messages: tuple[Message, ...] = ()
    # Earlier messages this write gave their sender's name (`Session.hand_to`).
    named: tuple[Message, ...] = ()
    # The state before, when this write recorded a transition.
    previous: State | None = None
    # State, agent or queue changed: who sees the session may have changed with it.
    moved: bool = False


@dataclasses.dataclass(frozen=True)
class Before:
    """A session as it was before a change, as much as `change` needs to compare."""

    message_ids: frozenset[str]
    # Messages whose sender already had a name.
    named_ids: frozenset[str]
    transitions: int
    state: State
    agent_id: str
    queue: str

    @classmethod
    def of(cls, session: Session) -> Before:
        messages = session.messages
        return cls(frozenset(m.id for m in messages), frozenset(m.id for m in messages if m.sender_name),
                   len(session.transitions), session.state, session.agent_id, session.queue)

    def change(self, after: Session) -> Change:
        return Change(
            messages=tuple(m for m in after.messages if m.id not in self.message_ids),
            named=tuple(m for m in after.messages
                        if m.id in self.message_ids and m.sender_name and m.id not in self.named_ids),
            previous=self.state if len(after.transitions) > self.transitions else None,
            moved=(after.state, after.agent_id, after.queue) != (self.state, self.agent_id, self.queue),
        )
