"""What routing's work events mean for a session: where it waits, who handles it, and when a
self-service bot holds it or hands it to a person."""

from __future__ import annotations

import dataclasses

from omni.sessions.domain import outbound_calls
from omni.sessions.domain.model import Session, State

# Routing event → the session state it means (and whether it names the agent).
_STATES: dict[str, tuple[State, bool]] = {
    "work_offered": (State.OFFERED, True),
    "offer_rejected": (State.QUEUED, False),
    "offer_timed_out": (State.QUEUED, False),
    "work_assigned": (State.CONNECTED, True),
    "work_transferred": (State.QUEUED, False),
    "work_abandoned": (State.ABANDONED, False),
    "work_completed": (State.ENDED, False),
    # Booked by anyone (the caller, a supervisor, the agent holding it) or waiting for its next call.
    "callback_scheduled": (State.QUEUED, False),
}
# Adds no state: the session is with the self-service bots from then on.
OVERFLOWED = "work_overflowed"
TRANSFERRED = "work_transferred"
ASSIGNED = "work_assigned"
SCHEDULED = "callback_scheduled"
# Adds no state: what the KPI report reads of the wait (`queue_facts`).
QUEUED = "work_queued"
ROUTING_EVENTS = (*_STATES, OVERFLOWED, QUEUED)
# Adds no state: the SMS announcing a callback's next call (consumed when the SMS channel is set).
CALLBACK_SMS = "callback_sms_requested"

# Session attributes the KPI report reads (`omni.kpis.stored`; callbacks: `callback_number`).
VIP = "vip"
ESTIMATED_WAIT = "estimated_wait_seconds"


def queue_facts(session: Session, *, vip: bool, estimated_wait_seconds: float) -> None:
    """Routing queued the session's work (`work_queued`): kept on the session for the KPI report —
    whether the customer is a VIP, and the wait estimate told on arrival (the first one: what the
    customer heard). A redelivered or later event changes neither."""
    if vip or VIP not in session.attributes:
        session.attributes[VIP] = "true" if vip else "false"
    session.attributes.setdefault(ESTIMATED_WAIT, f"{max(0.0, estimated_wait_seconds):.1f}")


@dataclasses.dataclass(frozen=True)
class RoutingStep:
    state: State
    # The agent the session gets; "" for nobody (back in a queue), None to leave it as it is.
    agent_id: str | None
    reason: str
    # A transfer (a bot's handoff included) puts the session back in a queue for people.
    back_with_people: bool
    # The queue the session moves to (a transfer's target); None: it stays where it is. Who sees a
    # session follows its queue, so the move is made in the same write as the state change.
    queue: str | None = None
    # A callback routing booked: the number to call and whether it is the customer's own.
    callback: tuple[str, bool] | None = None

    def apply(self, session: Session) -> None:
        """What the step changes besides state and agent."""
        if self.back_with_people:
            session.self_service = False
        if self.queue:
            session.queue = self.queue
        if self.callback is not None and self.callback[0] != session.attributes.get("callback_number"):
            outbound_calls.book(session, *self.callback)


def routing_step(event_type: str, named_agent: str, reason: str, work_queue: str,
                 callback: tuple[str, bool] | None = None) -> RoutingStep:
    """The move a routing event (other than OVERFLOWED) means; `named_agent` is the agent the
    event names, `reason` the one it gives (empty: the event's name says it), `work_queue` the
    queue the work is in after it, `callback` the work's callback number and whether it is verified."""
    state, names_agent = _STATES[event_type]
    agent_id = named_agent if names_agent else ("" if state is State.QUEUED else None)
    transferred = event_type == TRANSFERRED
    return RoutingStep(state, agent_id, reason or event_type.replace("_", " "), transferred,
                       queue=work_queue if transferred and work_queue else None,
                       callback=callback if event_type == SCHEDULED and callback and callback[0] else None)
