"""What routing's work events mean for a session: where it waits, who handles it, and when a
self-service bot holds it or hands it to a person."""

from __future__ import annotations

import dataclasses

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
}
# Adds no state: the session is with the self-service bots from then on.
OVERFLOWED = "work_overflowed"
TRANSFERRED = "work_transferred"
# Add no state: facts about the wait the KPI report reads from the session (`queue_facts`).
QUEUED = "work_queued"
CALLBACK_SCHEDULED = "callback_scheduled"
WAIT_FACTS = (QUEUED, CALLBACK_SCHEDULED)
ROUTING_EVENTS = (*_STATES, OVERFLOWED, *WAIT_FACTS)

# Session attributes the KPI report reads (`omni.simulator.stored`).
VIP = "vip"
ESTIMATED_WAIT = "estimated_wait_seconds"
CALLBACK = "callback"


def queue_facts(session: Session, event_type: str, *, vip: bool, estimated_wait_seconds: float) -> None:
    """Routing queued the session's work (`work_queued`) or it will be called back
    (`callback_scheduled`): kept on the session for the KPI report — whether the customer is a
    VIP, the wait estimate told on arrival (the first one: what the customer heard), and that
    they took a callback instead of holding. A redelivered event changes nothing."""
    if vip or VIP not in session.attributes:
        session.attributes[VIP] = "true" if vip else "false"
    if event_type == QUEUED:
        session.attributes.setdefault(ESTIMATED_WAIT, f"{max(0.0, estimated_wait_seconds):.1f}")
    else:
        took_callback(session)


def took_callback(session: Session) -> None:
    """The customer chose to be called back rather than hold (an IVR request, or routing's)."""
    session.attributes[CALLBACK] = "true"


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

    def apply(self, session: Session) -> None:
        """What the step changes besides state and agent."""
        if self.back_with_people:
            session.self_service = False
        if self.queue:
            session.queue = self.queue


def routing_step(event_type: str, named_agent: str, reason: str, work_queue: str) -> RoutingStep:
    """The move a routing event (other than OVERFLOWED) means; `named_agent` is the agent the
    event names, `reason` the one it gives (empty: the event's name says it), `work_queue` the
    queue the work is in after it."""
    state, names_agent = _STATES[event_type]
    agent_id = named_agent if names_agent else ("" if state is State.QUEUED else None)
    transferred = event_type == TRANSFERRED
    return RoutingStep(state, agent_id, reason or event_type.replace("_", " "), transferred,
                       queue=work_queue if transferred and work_queue else None)
