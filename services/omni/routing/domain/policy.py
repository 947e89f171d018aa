"""The routing policy: admission, priority, eligibility and agent selection, each step explained.

Pure functions over `Work`, `Agent` and `QueueConfig`; the engine applies them, the
simulator drives the engine, nothing here knows about gRPC, MongoDB or NATS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from omni.routing.domain.agents import Agent
from omni.routing.domain.queues import Policy, QueueConfig
from omni.routing.domain.work import Reason, Work, WorkState

# Reasons set when work is queued; kept on the work item through later decisions.
CLASSIFY_CODES = frozenset({"base_priority", "vip_boost", "urgent_keyword", "urgent_boost", "emotion_boost",
                            "supervisor_escalation", "affinity_wait", "transfer", "after_hours_callback", "callback",
                            "bot_handoff", "customer_context_unavailable"})


def classify(work: Work, queue: QueueConfig, now: float) -> list[Reason]:
    """Set the static priority, urgency and escalation of newly queued work; say why."""
    policy = queue.policy
    reasons: list[Reason] = []
    priority = work.base_priority
    if work.base_priority:
        reasons.append(Reason("base_priority", f"{work.base_priority:g}"))
    if work.vip:
        priority += policy.vip_boost
        reasons.append(Reason("vip_boost", f"+{policy.vip_boost}"))
    text = work.text.lower()
    words = [w for w in policy.emergency_words if w and w.lower() in text]
    if words and not work.urgent:
        work.urgent = True
        reasons.append(Reason("urgent_keyword", ",".join(words)))
    if work.urgent:
        priority += policy.urgent_boost
        reasons.append(Reason("urgent_boost", f"+{policy.urgent_boost}"))
    angry = work.emotion_score >= policy.emotion_threshold
    if angry:
        priority += policy.emotion_boost
        reasons.append(Reason("emotion_boost", f"emotion {work.emotion_score} >= {policy.emotion_threshold}: "
                                               f"+{policy.emotion_boost}"))
    work.static_priority = priority
    work.priority = priority
    if policy.escalate_to_supervisor and (work.urgent or angry):
        work.escalated = True
        work.escalation_until = now + policy.supervisor_wait
        reasons.append(Reason("supervisor_escalation", "offered to supervisors first"))
    if work.preferred_agent_id:
        work.affinity_until = now + policy.affinity_wait
        reasons.append(Reason("affinity_wait", f"held {policy.affinity_wait:g}s for last agent "
                                               f"{work.preferred_agent_id}"))
    return reasons


def admit(work: Work, queue: QueueConfig, waiting: int, now: float) -> str:
    """Where newly queued work goes: its line ("" returned; outside business hours as a callback
    due at the next opening) or the self-service bots (why, returned)."""
    if not queue.hours.is_open(now):
        if queue.hours.after_hours_action == "self_service":
            work.reasons.append(Reason("after_hours_self_service", "outside business hours"))
            return "after hours: self-service"
        work.not_before = queue.hours.next_open(now)
        work.state = WorkState.CALLBACK_SCHEDULED
        work.reasons.append(Reason("after_hours_callback", f"due at {work.not_before:.0f}"))
    elif waiting >= queue.overflow_threshold and work.intent in queue.simple_intents:
        work.reasons.append(Reason("overflow", f"{waiting} waiting >= {queue.overflow_threshold}; "
                                               f"simple intent {work.intent!r}"))
        return f"{waiting} waiting in {queue.id}"
    return ""


def effective_priority(work: Work, policy: Policy, now: float) -> float:
    """Static priority plus age in queue, so that nobody starves."""
    return work.static_priority + policy.aging_per_second * max(0.0, now - work.enqueue_time)


def line_key(work: Work, policy: Policy) -> tuple[float, int]:
    """Order within one queue. With one aging rate per queue, the order never changes with time:
    static + rate × (now − enqueued) ranks like static − rate × enqueued."""
    return (-(work.static_priority - policy.aging_per_second * work.enqueue_time), work.seq)


def ineligible(agent: Agent, work: Work, queue: QueueConfig, now: float,
               preferred: Agent | None) -> str:
    """Why `agent` may not be offered `work` now ("" when they may)."""
    if not agent.can_take(work.channel):
        return "no_capacity"
    if not agent.has_skills(queue.policy.required_skills):
        return "missing_skill"
    if not agent.speaks(work.language):
        return "language_mismatch"
    if work.not_before > now:
        return "callback_not_due"
    if (work.preferred_agent_id and agent.id != work.preferred_agent_id and now < work.affinity_until
            and preferred is not None and preferred.ready):
        return "affinity_hold"
    if work.escalated and not agent.supervisor and now < work.escalation_until:
        return "supervisor_hold"
    if agent.id == work.last_missed_by and now < work.missed_hold_until:
        return "missed_before"
    return ""


@dataclasses.dataclass(frozen=True)
class Choice:
    agent: Agent
    reasons: tuple[Reason, ...]


def choose_agent(candidates: Iterable[Agent], work: Work, queue: QueueConfig, now: float,
                 preferred: Agent | None) -> Choice | None:
    """The best eligible agent: the last agent (affinity), supervisors for escalated work,
    then least occupancy, then longest idle, then proficiency."""
    required = queue.policy.required_skills
    best: tuple[tuple[int, int, float, float, int, str], Agent] | None = None
    for agent in candidates:
        if ineligible(agent, work, queue, now, preferred):
            continue
        key = (
            0 if agent.id == work.preferred_agent_id else 1,
            0 if (work.escalated and agent.supervisor) else 1,
            agent.load(),
            agent.idle_since if not agent.holding else now,
            -agent.proficiency(required),
            agent.id,
        )
        if best is None or key < best[0]:
            best = (key, agent)
    if best is None:
        return None
    return Choice(best[1], tuple(explain(best[1], work, queue, now)))


def explain(agent: Agent, work: Work, queue: QueueConfig, now: float) -> list[Reason]:
    """Why this agent got this work."""
    reasons: list[Reason] = []
    if queue.policy.required_skills:
        reasons.append(Reason("skill_match", ",".join(f"{s}:{agent.skills.get(s, 0)}"
                                                       for s in queue.policy.required_skills)))
    if work.language:
        reasons.append(Reason("language_match", work.language))
    if work.preferred_agent_id:
        if agent.id == work.preferred_agent_id:
            reasons.append(Reason("affinity", f"last agent {agent.id}"))
        else:
            reasons.append(Reason("affinity_expired" if now >= work.affinity_until else "affinity_agent_unavailable",
                                  f"last agent {work.preferred_agent_id} not free; colleague in the group"))
    if work.escalated:
        reasons.append(Reason("supervisor_escalation" if agent.supervisor else "no_supervisor_free",
                              agent.id))
    if work.last_missed_by:
        reasons.append(Reason("rona", f"passed over {work.last_missed_by}, who missed it"))
    reasons.append(Reason("least_occupancy", f"{agent.load():.2f}"))
    if not agent.holding:
        reasons.append(Reason("longest_idle", f"idle {max(0.0, now - agent.idle_since):.0f}s"))
    return reasons
