"""A piece of work (one customer session) on its way through routing."""

from __future__ import annotations

import dataclasses
import enum

from omni.runtime import accessibility
from omni.runtime.channels import Channel
from omni.runtime.phones import to_e164

# `IdentityKind.IDENTITY_KIND_PHONE` of omnichannel.common.v1: `Work.identities` keeps the wire's numbers.
PHONE_IDENTITY = 1
# A contact names at most this many accessibility needs.
MAX_ACCESSIBILITY_NEEDS = accessibility.MAX_NEEDS


class WorkState(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    CALLBACK_SCHEDULED = "callback_scheduled"
    OVERFLOWED_TO_BOT = "overflowed_to_bot"
    TRANSFERRED = "transferred"


# In line for a human agent (a scheduled callback keeps the customer's place).
WAITING_STATES = frozenset({WorkState.WAITING, WorkState.CALLBACK_SCHEDULED})
FINISHED_STATES = frozenset({WorkState.COMPLETED, WorkState.ABANDONED})
# The reason a callback's call reached the customer: the callback is answered from then.
CALLBACK_REACHED = "callback_reached"


# Slots: every live work item keeps a few, and each object with a dictionary is one more for the
# garbage collector to walk.
@dataclasses.dataclass(frozen=True, slots=True)
class Reason:
    """One step of a routing decision, machine-readable (`code`) and human-readable (`detail`)."""

    code: str
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class Turn:
    """A later turn of a conversation routing already holds (chat message, email, speech)."""

    interaction_id: str
    # The session's highest score so far and this turn's own (0..10).
    emotion_score: int
    turn_score: int
    urgent: bool
    text: str = ""


@dataclasses.dataclass
class Work:
    id: str
    queue_id: str
    channel: Channel = Channel.CHAT
    session_id: str = ""
    customer_id: str = ""
    customer_name: str = ""
    # (IdentityKind number, value) pairs as presented on the channel.
    identities: tuple[tuple[int, str], ...] = ()
    interaction_id: str = ""
    language: str = ""
    intent: str = ""
    vip: bool = False
    urgent: bool = False
    emotion_score: int = 0
    # The customer's accessibility needs ("hearing", "vision", "elderly": customer tags
    # `accessibility:<need>`): offered first to agents with the skill `accessibility:<need>`.
    accessibility: tuple[str, ...] = ()
    # The emotion scores of the customer's last turns, newest last: a conversation that keeps
    # heating up is escalated before it crosses the threshold.
    turn_scores: tuple[int, ...] = ()
    # The interaction of the last later turn seen (`interaction_id` stays the first contact).
    last_turn_id: str = ""
    text: str = ""
    ticket_id: str = ""
    state: WorkState = WorkState.WAITING
    # Priority the caller asked for: seconds taken off the wait target.
    base_priority: float = 0.0
    # The wait target that applies (queue, tier, urgency) and the moment it runs out: lines
    # are served earliest deadline first.
    target: float = 0.0
    deadline: float = 0.0
    # Lines are served in this order, lowest first: the deadline, less the lead of the
    # customer's tier and the caller's head start.
    rank: float = 0.0
    # Seconds past the rank at the last decision (negative: time left); higher goes first.
    priority: float = 0.0
    escalated: bool = False
    preferred_agent_id: str = ""
    affinity_until: float = 0.0
    escalation_until: float = 0.0
    # A callback is not due before this time (next working day, customer's choice).
    not_before: float = 0.0
    callback_number: str = ""
    # The callback number is the customer's own (ANI, signed identity), not one typed in.
    callback_verified: bool = False
    # Outbound calls made for the callback so far (domain/callbacks.py decides the next one).
    callback_attempts: int = 0
    # A callback was offered instead of self-service (a simple-intent call and no voice bot).
    callback_offered: bool = False
    offered_agent_id: str = ""
    assigned_agent_id: str = ""
    offer_expires: float = 0.0
    # The agent who last rejected or missed it is passed over next time.
    last_missed_by: str = ""
    missed_hold_until: float = 0.0
    enqueue_time: float = 0.0
    # Seconds the customer waited in line before the transfers that brought the work to its queue.
    waited: float = 0.0
    # When the work reached its current queue (arrival, transfer, overflow): its rings open from then.
    ring_start: float = 0.0
    # Agents and queues that transferred it away (or it overflowed from): it never goes back there.
    transferred_from_agents: tuple[str, ...] = ()
    transferred_from_queues: tuple[str, ...] = ()
    # Wait estimated when the work was queued (kept to measure estimate error).
    estimated_wait: float = 0.0
    answer_time: float = 0.0
    end_time: float = 0.0
    reasons: list[Reason] = dataclasses.field(default_factory=list)
    offer_attempts: int = 0
    transfer_count: int = 0
    bot_worker: str = ""
    bot_claim_expires: float = 0.0
    disposition: str = ""
    # The agent's wrap-up note (tickets keeps it on the ticket with the disposition).
    wrap_up_note: str = ""
    # Arrival order, kept across restarts so reloaded queues keep their order.
    seq: int = 0
    # A follow-up task (domain/followups.py): the contact it follows up, when it is due, when it
    # is late, the group it falls to and who scheduled it. The agent it is for is
    # `preferred_agent_id`, held for them until `affinity_until` (the grace period).
    follows_work_id: str = ""
    follow_up_due: float = 0.0
    follow_up_deadline: float = 0.0
    follow_up_group: str = ""
    follow_up_by: str = ""

    def answered(self) -> bool:
        """An agent took it; a callback only once one of its calls reached the customer."""
        return bool(self.answer_time) and (not self.callback_number
                                           or any(r.code == CALLBACK_REACHED for r in self.reasons))

    def phone_numbers(self) -> frozenset[str]:
        """The session's phone numbers, in E.164 where they parse. Sessions publishes verified
        identities alone (a caller's ANI, a signed chat identity), never what a visitor typed."""
        return frozenset(to_e164(value) or value for kind, value in self.identities if kind == PHONE_IDENTITY)

    def snapshot(self) -> Work:
        # Every notice takes one: copying the instance dictionary costs a fraction of copy.copy
        # (which goes through __reduce_ex__) and of dataclasses.replace (which runs __init__).
        snapshot = object.__new__(type(self))
        fields = snapshot.__dict__
        fields.update(self.__dict__)
        fields["reasons"] = list(self.reasons)
        return snapshot
