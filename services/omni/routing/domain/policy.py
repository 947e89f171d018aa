"""The routing policy: admission, priority, eligibility and agent selection, each step explained.

Pure functions over `Work`, `Agent` and `QueueConfig`; the engine applies them, the
simulator drives the engine, nothing here knows about gRPC, MongoDB or NATS.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable

from omni.routing.domain.agents import Agent
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.work import Reason, Turn, Work, WorkState
from omni.runtime.channels import Channel

# Reasons set when work is queued; kept on the work item through later decisions.
CLASSIFY_CODES = frozenset({"base_priority", "wait_target", "vip", "urgent_keyword", "urgent", "angry",
                            "supervisor_escalation", "affinity_wait", "transfer", "after_hours_callback", "callback",
                            "bot_handoff", "customer_context_unavailable", "ring_overflow", "turn_angry",
                            "turn_urgent", "emotion_rising", "callback_offered", "accessibility_need", "deadline_kept",
                            "follow_up", "vip_queue", "vip_queue_unavailable"})


# An agent trained for a customer's accessibility need has the skill named by this prefix and the
# need (the customer tag `accessibility:hearing` asks for the skill `accessibility:hearing`).
ACCESSIBILITY_PREFIX = "accessibility:"


def suits_needs(agent: Agent, work: Work) -> bool:
    """The agent has the skill of each of the customer's accessibility needs."""
    return all(agent.skills.get(ACCESSIBILITY_PREFIX + need, 0) > 0 for need in work.accessibility)


def _emergency_words(queue: QueueConfig, text: str) -> list[str]:
    lowered = text.lower()
    return [w for w in queue.policy.emergency_words if w and w.lower() in lowered]


def classify(work: Work, queue: QueueConfig, now: float) -> list[Reason]:
    """Set the wait target and deadline, urgency and escalation of newly queued work; say why."""
    policy = queue.policy
    reasons: list[Reason] = []
    words = _emergency_words(queue, work.text)
    if words and not work.urgent:
        work.urgent = True
        reasons.append(Reason("urgent_keyword", ",".join(words)))
    angry = work.emotion_score >= policy.emotion_threshold
    tier, target, lead = "queue", queue.wait_target, 0.0
    for applies, name, seconds, ahead, detail in (
            (work.vip, "vip", policy.vip_wait_target, policy.vip_lead, "VIP customer"),
            (work.urgent, "urgent", policy.urgent_wait_target, policy.urgent_lead, "urgent"),
            (angry, "angry", policy.urgent_wait_target, policy.urgent_lead,
             f"emotion {work.emotion_score} >= {policy.emotion_threshold}")):
        if applies:
            reasons.append(Reason(name, detail))
            if seconds < target:
                tier, target = name, seconds
            lead = max(lead, ahead)
    set_deadline(work, target, lead, now)
    reasons.append(Reason("wait_target", f"{target:g}s ({tier}; queue {queue.wait_target:g}s)"
                          + (f", ranked {lead:g}s ahead" if lead else "")))
    if work.base_priority:
        reasons.append(Reason("base_priority", f"ranked {work.base_priority:g}s ahead"))
    if queue.escalates and (work.urgent or angry):
        work.escalated = True
        work.escalation_until = now + policy.supervisor_wait
        reasons.append(Reason("supervisor_escalation", "offered to supervisors first"))
    if work.accessibility:
        reasons.append(Reason("accessibility_need", ", ".join(work.accessibility)))
    if work.follow_up_due:
        # The agent it is for was chosen by whoever scheduled it, with its own grace period.
        grace = (work.affinity_until - work.follow_up_due) / 60
        reasons.append(Reason("follow_up", f"for {work.preferred_agent_id} first ({grace:g} min after it is due), "
                                           f"then group {work.follow_up_group}"
                              if work.preferred_agent_id else f"for group {work.follow_up_group}"))
    elif work.preferred_agent_id:
        # At most half the customer's own target, the other half left for whoever is free: held
        # to the whole target, a VIP follow-up whose last agent was busy waited 15 s while the VIP
        # desk was free (8 of the normal day's 9 VIP calls that waited 15 s or more; docs/kpis.md).
        hold = max(0.0, min(policy.affinity_wait, (work.deadline - now) / 2))
        work.affinity_until = now + hold
        reasons.append(Reason("affinity_wait", f"held {hold:g}s for last agent {work.preferred_agent_id}"
                              + (f" (half the {target:g}s {tier} target)" if hold < policy.affinity_wait else "")))
    return reasons


def escalate_turn(work: Work, queue: QueueConfig, turn: Turn, now: float) -> Reason | None:
    """A later customer turn: when it makes the customer angry (emotion crosses the threshold),
    brings an emergency, or the turns' emotion rose `rising_turns` times in a row, the work moves
    into the urgent tier (its deadline measured from when its target started, ranked the urgent
    lead ahead) and, where the queue escalates, to supervisors first. The reason, or None when
    the turn changes nothing."""
    policy = queue.policy
    was_angry, was_urgent = work.emotion_score >= policy.emotion_threshold, work.urgent
    work.emotion_score = max(work.emotion_score, turn.emotion_score, turn.turn_score)
    work.turn_scores = (*work.turn_scores, turn.turn_score)[-(policy.rising_turns + 1):]
    work.urgent = work.urgent or turn.urgent or bool(_emergency_words(queue, turn.text))
    scores = work.turn_scores
    if work.emotion_score >= policy.emotion_threshold and not was_angry:
        reason = Reason("turn_angry", f"emotion {work.emotion_score} >= {policy.emotion_threshold}")
    elif work.urgent and not was_urgent:
        reason = Reason("turn_urgent", "an emergency in a later turn")
    elif (len(scores) > policy.rising_turns and all(a < b for a, b in itertools.pairwise(scores))
          and 2 * scores[-1] >= policy.emotion_threshold and not (was_angry or was_urgent)):
        reason = Reason("emotion_rising", " -> ".join(map(str, scores)))
    else:
        return None
    start = work.deadline - work.target
    lead = max(work.deadline - work.rank - work.base_priority, policy.urgent_lead)
    set_deadline(work, min(work.target, policy.urgent_wait_target), lead, start)
    work.priority = now - work.rank
    if queue.escalates and not work.escalated:
        work.escalated = True
        work.escalation_until = now + policy.supervisor_wait
    work.reasons.append(reason)
    return reason


def set_deadline(work: Work, target: float, lead: float, now: float) -> None:
    """Work is due `target` seconds from `now`, and ranks `lead` seconds (and the head start its
    caller gave it) ahead of that."""
    work.target = target
    work.deadline = now + target
    work.rank = work.deadline - lead - work.base_priority
    work.priority = now - work.rank


def keep_deadline(work: Work, target: float, lead: float, now: float) -> None:
    """Work arriving by transfer keeps the customer's wait target, less what they waited already
    (`work.waited`: in line, not in conversation), where that ranks before the target queue's
    own: a transfer is no reason to go to the back of the line, nor to count the conversation
    with the wrong agent as waiting. Live conversations only: an email's customer is not holding,
    and mail that carried hours of waiting over went ahead of callers (docs/kpis.md)."""
    if work.channel is Channel.EMAIL:
        return
    deadline = now - work.waited + target
    rank = deadline - lead
    if rank >= work.rank:
        return
    work.target, work.deadline, work.rank = target, deadline, rank
    work.priority = now - rank
    work.reasons.append(Reason("deadline_kept", f"the {target:g}s target, {work.waited:.0f}s of it waited "
                                                "before the transfer"))


def admit(work: Work, queue: QueueConfig, waiting: int, now: float) -> str:
    """Where newly queued work goes: its line ("" returned; outside business hours as a callback
    due at the next opening) or the self-service bots (why, returned). A call the bots cannot
    take (no voice bot) stays in line with a callback offered instead (`work.callback_offered`)."""
    if work.follow_up_due:
        return ""  # due when the agent chose, for a person: no business-hours callback, no bot
    bots = queue.bots_serve(work.channel)
    if not queue.hours.is_open(now):
        if queue.hours.after_hours_action == "self_service" and bots:
            work.reasons.append(Reason("after_hours_self_service", "outside business hours"))
            return "after hours: self-service"
        work.not_before = queue.hours.next_open(now)
        work.state = WorkState.CALLBACK_SCHEDULED
        work.reasons.append(Reason("after_hours_callback", f"due at {work.not_before:.0f}"))
    elif queue.self_service and waiting >= queue.overflow_threshold and work.intent in queue.simple_intents:
        why = f"{waiting} waiting >= {queue.overflow_threshold}; simple intent {work.intent!r}"
        if bots:
            work.reasons.append(Reason("overflow", why))
            return f"{waiting} waiting in {queue.id}"
        work.callback_offered = True
        work.reasons.append(Reason("callback_offered", f"{why}; no voice bot for calls"))
    return ""


def overdue(work: Work, now: float) -> float:
    """Seconds past the work's rank (negative: time left); the most overdue goes first."""
    return now - work.rank


def line_key(work: Work) -> tuple[float, int]:
    """Order within a line: earliest deadline first, then arrival. Deadlines do not move with
    time, so neither does the order."""
    return (work.rank, work.seq)


def ineligible(agent: Agent, work: Work, queue: QueueConfig, now: float,
               preferred: Agent | None, *, capacity: bool = True) -> str:
    """Why `agent` may not be offered `work` now ("" when they may); `capacity=False` asks
    whether they could if they had room."""
    if capacity and not agent.can_take(work.channel):
        return "no_capacity"
    policy = queue.policy
    level = agent.level(policy.required_skills)
    if level < policy.min_proficiency:
        return "missing_skill"
    if policy.rings and level < policy.ring(now - work.ring_start)[1]:
        return "outside_ring"
    if work.transferred_from_agents and agent.id in work.transferred_from_agents:
        return "transferred_away"
    if not agent.speaks(work.language):
        return "language_mismatch"
    if work.not_before > now:
        return "callback_not_due"
    # A follow-up waits out its grace period for its agent even while they are away.
    if (work.preferred_agent_id and agent.id != work.preferred_agent_id and now < work.affinity_until
            and (work.follow_up_due or (preferred is not None and preferred.ready))):
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
    """The best eligible agent: the last agent (affinity), supervisors for escalated work, agents
    trained for the customer's accessibility needs; for a chat or an email an agent already
    holding work before one whose desk is empty; agents speaking fewer languages; then least
    occupancy, then longest idle, then proficiency."""
    required = queue.policy.required_skills
    best: tuple[tuple[int, int, int, int, int, float, float, int, str], Agent] | None = None
    text = work.channel is not Channel.PHONE
    for agent in candidates:
        if ineligible(agent, work, queue, now, preferred):
            continue
        key = (
            0 if agent.id == work.preferred_agent_id else 1,
            0 if (work.escalated and agent.supervisor) else 1,
            0 if not work.accessibility or suits_needs(agent, work) else 1,
            # A call needs an empty desk and a chat holds one for minutes: text work goes beside
            # work already held, so empty desks stay free for the next call (spread by least
            # occupancy, each chat blocked a desk: on the normal day calls met 20 s 68 % of the
            # time, beside held work 81 %; docs/kpis.md).
            1 if text and not agent.holding and agent.capacity.get(Channel.PHONE, 0) > 0 else 0,
            # The single-language agent first: a bilingual one is kept for the customers only they
            # can take (the normal day's English callers waited on the 21 who speak English while
            # they took Chinese work).
            len(agent.languages) if agent.languages else 99,
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
    policy = queue.policy
    if policy.required_skills:
        reasons.append(Reason("skill_match", ",".join(f"{s}:{agent.skills.get(s, 0)}"
                                                       for s in policy.required_skills)))
    if policy.rings:
        number, level = policy.ring(now - work.ring_start)
        reasons.append(Reason("ring", f"ring {number} of {len(policy.rings)}: proficiency >= {level}, "
                                      f"open after {policy.rings[number - 1].after:g}s"))
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
    if work.accessibility:
        needs = ", ".join(work.accessibility)
        reasons.append(Reason("accessibility", f"{needs}: trained agent" if suits_needs(agent, work)
                              else f"{needs}: no trained agent free"))
    left = work.deadline - now
    reasons.append(Reason("deadline", f"{left:.0f}s left of the {work.target:g}s target" if left >= 0
                          else f"{-left:.0f}s past the {work.target:g}s target"))
    if work.last_missed_by:
        reasons.append(Reason("rona", f"passed over {work.last_missed_by}, who missed it"))
    if work.channel is not Channel.PHONE and agent.holding and agent.capacity.get(Channel.PHONE, 0) > 0:
        # Asked before the offer: what the agent holds is what the new work goes beside.
        reasons.append(Reason("beside_work", f"{len(agent.holding)} held already; empty desks kept for calls"))
    reasons.append(Reason("least_occupancy", f"{agent.load():.2f}"))
    if not agent.holding:
        reasons.append(Reason("longest_idle", f"idle {max(0.0, now - agent.idle_since):.0f}s"))
    return reasons
