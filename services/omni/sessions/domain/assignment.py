"""What routing's work events mean for a session: where it waits, who handles it, and when a
self-service bot holds it or hands it to a person."""

from __future__ import annotations

import dataclasses

from omni.sessions.domain.model import State

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
ROUTING_EVENTS = (*_STATES, OVERFLOWED)


@dataclasses.dataclass(frozen=True)
class RoutingStep:
    state: State
    # The agent the session gets; "" for nobody (back in a queue), None to leave it as it is.
    agent_id: str | None
    reason: str
    # A transfer (a bot's handoff included) puts the session back in a queue for people.
    back_with_people: bool


def routing_step(event_type: str, named_agent: str, reason: str) -> RoutingStep:
    """The move a routing event (other than OVERFLOWED) means; `named_agent` is the agent the
    event names, `reason` the one it gives (empty: the event's name says it)."""
    state, names_agent = _STATES[event_type]
    agent_id = named_agent if names_agent else ("" if state is State.QUEUED else None)
    return RoutingStep(state, agent_id, reason or event_type.replace("_", " "), event_type == TRANSFERRED)
