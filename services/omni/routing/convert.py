"""Proto ↔ domain for routing: the only place that knows both shapes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import cast

from google.protobuf.duration_pb2 import Duration

from omni.routing.domain import desktop
from omni.routing.domain.agents import DEFAULT_CAPACITY, Agent, AgentStatus
from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.callback_slots import Slot
from omni.routing.domain.queue_metrics import Position, QueueView
from omni.routing.domain.queues import DEFAULT_SIMPLE_INTENTS, BusinessHours, Policy, QueueConfig, Ring
from omni.routing.domain.transfers import TransferReason
from omni.routing.domain.work import Work, WorkState
from omni.runtime import accessibility
from omni.runtime.channels import Channel
from omni.runtime.errors import DomainError, InvalidArgument
from omni.runtime.proto_values import channel_to_proto, duration, require_channel, timestamp_from_seconds
from omni.runtime.requests import apply_mask
from omni.runtime.validation import check_length, require
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2

# What UpdateAgent / UpdateQueue may change (proto field names).
AGENT_FIELDS = frozenset({"display_name", "groups", "skills", "languages", "capacities", "supervisor"})
QUEUE_FIELDS = frozenset({"display_name", "intents", "groups", "service_level_percent", "service_level_seconds",
                          "policy", "hours", "callback_threshold", "overflow_threshold", "simple_intents",
                          "expected_handle_time", "callback_attempts", "voice_bot", "self_service"})
# A wrap-up's disposition and note travel on the work item and its events (as `work.text` does).
WRAP_UP_CHARS = 4000
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")


def check_id(value: str, field: str) -> str:
    value = require(value, field)
    if not _ID.match(value):
        raise InvalidArgument(f"{field} {value!r} must be 1-128 letters, digits or _.:@- "
                              "(starting with a letter or digit)")
    return value


def agent_status(number: int) -> AgentStatus:
    if number == routing_pb2.AGENT_STATUS_UNSPECIFIED:
        raise InvalidArgument("status is required: available, wrap_up, break or offline")
    return AgentStatus(routing_pb2.AgentStatus.Name(number).removeprefix("AGENT_STATUS_").lower())  # type: ignore[arg-type]


def agent_status_number(status: AgentStatus) -> routing_pb2.AgentStatus.ValueType:
    return routing_pb2.AgentStatus.Value(f"AGENT_STATUS_{status.value.upper()}")


def work_state(number: int) -> WorkState:
    return WorkState(routing_pb2.WorkState.Name(number).removeprefix("WORK_STATE_").lower())  # type: ignore[arg-type]


def work_state_number(state: WorkState) -> routing_pb2.WorkState.ValueType:
    return routing_pb2.WorkState.Value(f"WORK_STATE_{state.value.upper()}")


def transfer_reason(number: int) -> TransferReason | None:
    """The request's reason code; None when unset (the engine says which codes there are)."""
    if number == routing_pb2.TRANSFER_REASON_UNSPECIFIED:
        return None
    try:
        name = routing_pb2.TransferReason.Name(number)  # type: ignore[arg-type]
    except ValueError:
        raise InvalidArgument(f"reason_code {number} is not a transfer reason; one of "
                              + ", ".join(reason.value for reason in TransferReason)) from None
    return TransferReason(name.removeprefix("TRANSFER_REASON_").lower())


def seconds(duration: Duration, default: float) -> float:
    value = duration.ToTimedelta().total_seconds()
    if value < 0:
        raise InvalidArgument("durations must not be negative")
    return value if value else default


# ----- agents ------------------------------------------------------------------------

def agent_from_proto(message: routing_pb2.Agent) -> Agent:
    skills: dict[str, int] = {}
    for skill in message.skills:
        name = require(skill.name, "skills.name")
        if not 1 <= skill.proficiency <= 5:
            raise InvalidArgument(f"skill {name!r}: proficiency is 1..5 (got {skill.proficiency})")
        skills[name] = skill.proficiency
    capacity = dict(DEFAULT_CAPACITY) if not message.capacities else {}
    for entry in message.capacities:
        if entry.max_concurrent < 0:
            raise InvalidArgument("capacities.max_concurrent must not be negative")
        capacity[require_channel(entry.channel, "capacities.channel")] = entry.max_concurrent
    if capacity.get(Channel.PHONE, 0) > 1:
        raise InvalidArgument("an agent takes at most one call at a time (phone capacity 0 or 1)")
    return Agent(
        id=check_id(message.id, "agent.id"),
        display_name=check_length(message.display_name, "agent.display_name", 200),
        groups=tuple(dict.fromkeys(g.strip() for g in message.groups if g.strip())),
        skills=skills,
        languages=tuple(dict.fromkeys(lang.strip() for lang in message.languages if lang.strip())),
        capacity=capacity,
        supervisor=message.supervisor,
    )


def agent_to_proto(agent: Agent) -> routing_pb2.Agent:
    message = routing_pb2.Agent(
        id=agent.id, display_name=agent.display_name, groups=agent.groups,
        skills=[routing_pb2.Skill(name=n, proficiency=p) for n, p in sorted(agent.skills.items())],
        languages=agent.languages,
        capacities=[routing_pb2.ChannelCapacity(channel=channel_to_proto(c), max_concurrent=n)
                    for c, n in agent.capacity.items()],
        supervisor=agent.supervisor, status=agent_status_number(agent.status), status_reason=agent.status_reason,
        active=[routing_pb2.ChannelCapacity(channel=channel_to_proto(c), max_concurrent=agent.active(c))
                for c in agent.capacity if agent.active(c)],
        missed_offers=agent.missed_offers, version=agent.version,
    )
    if agent.status_time:
        message.status_time.CopyFrom(timestamp_from_seconds(agent.status_time))
    return message


def merged_agent(current: Agent, changes: routing_pb2.Agent, paths: Sequence[str]) -> Agent:
    """`current` with the masked fields of `changes` (AIP-134: a masked field left empty is cleared)."""
    merged = agent_to_proto(current)
    apply_mask(merged, changes, paths)
    return agent_from_proto(merged)


# ----- queues ------------------------------------------------------------------------

def queue_from_proto(message: routing_pb2.Queue) -> QueueConfig:
    p = message.policy
    defaults = Policy()
    if not 0 <= message.service_level_percent <= 100:
        raise InvalidArgument("service_level_percent is 0..100, e.g. 80")
    if message.service_level_seconds < 0 or message.overflow_threshold < 0:
        raise InvalidArgument("service_level_seconds and overflow_threshold must not be negative")
    if p.max_missed_offers < 0 or p.emotion_threshold < 0 or p.emotion_threshold > 10:
        raise InvalidArgument("policy.max_missed_offers >= 0 and policy.emotion_threshold 0..10")
    policy = Policy(
        required_skills=tuple(s for s in p.required_skills if s),
        wait_target=seconds(p.wait_target, defaults.wait_target),
        vip_wait_target=seconds(p.vip_wait_target, defaults.vip_wait_target),
        urgent_wait_target=seconds(p.urgent_wait_target, defaults.urgent_wait_target),
        vip_lead=seconds(p.vip_lead, defaults.vip_lead),
        urgent_lead=seconds(p.urgent_lead, defaults.urgent_lead),
        emotion_threshold=p.emotion_threshold or defaults.emotion_threshold,
        escalate_to_supervisor=p.escalate_to_supervisor if p.HasField("escalate_to_supervisor") else None,
        supervisor_wait=seconds(p.supervisor_wait, defaults.supervisor_wait),
        affinity_wait=seconds(p.affinity_wait, defaults.affinity_wait),
        offer_timeout=seconds(p.offer_timeout, defaults.offer_timeout),
        max_missed_offers=p.max_missed_offers or defaults.max_missed_offers,
        emergency_words=tuple(p.emergency_words) or defaults.emergency_words,
        min_proficiency=p.min_proficiency or defaults.min_proficiency,
        rings=tuple(Ring(after=seconds(r.after, 0.0), min_proficiency=r.min_proficiency) for r in p.rings),
        overflow_queue=check_id(p.overflow_queue, "policy.overflow_queue") if p.overflow_queue else "",
        overflow_after=seconds(p.overflow_after, 0.0),
        vip_queue=check_id(p.vip_queue, "policy.vip_queue") if p.vip_queue else "",
    )
    if policy.vip_queue == message.id:
        raise InvalidArgument("policy.vip_queue names the queue itself; name the queue VIP work goes to instead")
    h = message.hours
    return QueueConfig(
        id=check_id(message.id, "queue.id"),
        display_name=check_length(message.display_name, "queue.display_name", 200),
        intents=tuple(message.intents), groups=tuple(g for g in message.groups if g),
        service_level_percent=message.service_level_percent or 80.0,
        service_level_seconds=message.service_level_seconds or 20,
        policy=policy,
        hours=BusinessHours(time_zone=h.time_zone or "UTC", windows=tuple(h.windows), holidays=tuple(h.holidays),
                            after_hours_action=h.after_hours_action or "callback"),
        callback_threshold=seconds(message.callback_threshold, 60.0),
        overflow_threshold=message.overflow_threshold if message.HasField("overflow_threshold") else 50,
        simple_intents=tuple(i for i in message.simple_intents if i) or DEFAULT_SIMPLE_INTENTS,
        self_service=message.self_service if message.HasField("self_service") else True,
        voice_bot=message.voice_bot,
        expected_handle_time=seconds(message.expected_handle_time, 180.0),
        callback_attempts=attempts_from_proto(message.callback_attempts) if message.HasField("callback_attempts")
        else None,
    )


def attempts_from_proto(message: routing_pb2.CallbackAttempts) -> AttemptPolicy:
    if len(message.retry_delays) > 10:
        raise InvalidArgument("callback_attempts.retry_delays: at most 10")
    defaults = AttemptPolicy()
    return AttemptPolicy(
        retry_delays=tuple(seconds(d, 0.0) for d in message.retry_delays) or defaults.retry_delays,
        max_attempts=message.max_attempts or defaults.max_attempts,
        quiet_hours=check_length(message.quiet_hours.strip(), "callback_attempts.quiet_hours", 11),
        sms_attempts=tuple(sorted(set(message.sms_attempts))),
        best_time_window=seconds(message.best_time_window, 0.0))


def queue_to_proto(queue: QueueConfig) -> routing_pb2.Queue:
    p = queue.policy
    message = routing_pb2.Queue(
        id=queue.id, display_name=queue.display_name, intents=queue.intents, groups=queue.groups,
        service_level_percent=queue.service_level_percent, service_level_seconds=queue.service_level_seconds,
        policy=routing_pb2.RoutingPolicy(
            required_skills=p.required_skills, wait_target=duration(p.wait_target),
            vip_wait_target=duration(p.vip_wait_target), urgent_wait_target=duration(p.urgent_wait_target),
            vip_lead=duration(p.vip_lead), urgent_lead=duration(p.urgent_lead),
            emotion_threshold=p.emotion_threshold,
            affinity_wait=duration(p.affinity_wait), offer_timeout=duration(p.offer_timeout),
            max_missed_offers=p.max_missed_offers, supervisor_wait=duration(p.supervisor_wait),
            emergency_words=p.emergency_words, min_proficiency=p.min_proficiency,
            rings=[routing_pb2.Ring(after=duration(r.after), min_proficiency=r.min_proficiency) for r in p.rings],
            overflow_queue=p.overflow_queue, overflow_after=duration(p.overflow_after), vip_queue=p.vip_queue),
        hours=routing_pb2.BusinessHours(time_zone=queue.hours.time_zone, windows=queue.hours.windows,
                                        holidays=queue.hours.holidays,
                                        after_hours_action=queue.hours.after_hours_action),
        callback_threshold=duration(queue.callback_threshold), overflow_threshold=queue.overflow_threshold,
        simple_intents=queue.simple_intents, version=queue.version,
        expected_handle_time=duration(queue.expected_handle_time), voice_bot=queue.voice_bot,
        self_service=queue.self_service,
    )
    if queue.callback_attempts is not None:
        a = queue.callback_attempts
        message.callback_attempts.CopyFrom(routing_pb2.CallbackAttempts(
            retry_delays=[duration(d) for d in a.retry_delays], max_attempts=a.max_attempts,
            quiet_hours=a.quiet_hours, sms_attempts=a.sms_attempts,
            best_time_window=duration(a.best_time_window) if a.best_time_window else None))
    if p.escalate_to_supervisor is not None:
        message.policy.escalate_to_supervisor = p.escalate_to_supervisor
    return message


def merged_queue(current: QueueConfig, changes: routing_pb2.Queue, paths: Sequence[str]) -> QueueConfig:
    """`current` with the masked fields of `changes` (AIP-134: a masked field left empty is cleared)."""
    merged = queue_to_proto(current)
    apply_mask(merged, changes, paths)
    return queue_from_proto(merged)


# ----- work --------------------------------------------------------------------------

def work_from_proto(message: routing_pb2.WorkItem) -> Work:
    if not 0 <= message.emotion_score <= 10:
        raise InvalidArgument(f"emotion_score is 0..10 (got {message.emotion_score})")
    return Work(
        id=check_id(message.id or message.session_id, "work.id (or work.session_id)"),
        queue_id=require(message.queue_id, "work.queue_id"),
        channel=require_channel(message.channel, "work.channel"),
        session_id=message.session_id or message.id,
        customer_id=message.customer.customer_id,
        customer_name=message.customer.display_name,
        identities=tuple((i.kind, i.value) for i in message.customer.identities),
        interaction_id=message.interaction_id, language=message.language, intent=message.intent,
        vip=message.vip, urgent=message.urgent, emotion_score=message.emotion_score,
        text=check_length(message.text, "work.text", 4000), ticket_id=message.ticket_id,
        base_priority=message.priority, preferred_agent_id=message.preferred_agent_id,
        accessibility=accessibility.needs(message.accessibility),
    )


def work_to_proto(work: Work) -> routing_pb2.WorkItem:
    message = routing_pb2.WorkItem(
        id=work.id, queue_id=work.queue_id, channel=channel_to_proto(work.channel), session_id=work.session_id,
        customer=common_pb2.CustomerRef(
            customer_id=work.customer_id, display_name=work.customer_name,
            identities=[common_pb2.Identity(kind=k, value=v) for k, v in work.identities]),  # type: ignore[arg-type]
        interaction_id=work.interaction_id, language=work.language, intent=work.intent, vip=work.vip,
        urgent=work.urgent, emotion_score=work.emotion_score, state=work_state_number(work.state),
        priority=work.priority, preferred_agent_id=work.preferred_agent_id,
        offered_agent_id=work.offered_agent_id, assigned_agent_id=work.assigned_agent_id,
        reasons=[routing_pb2.RoutingReason(code=r.code, detail=r.detail) for r in work.reasons],
        offer_attempts=work.offer_attempts, transfer_count=work.transfer_count, ticket_id=work.ticket_id,
        text=work.text, estimated_wait=duration(work.estimated_wait), callback_number=work.callback_number,
        disposition=work.disposition, wrap_up_note=work.wrap_up_note, sequence=work.seq, bot_worker_id=work.bot_worker,
        callback_number_verified=work.callback_verified, callback_attempts=work.callback_attempts,
        accessibility=work.accessibility,
    )
    if work.follow_up_due:
        message.follow_up.CopyFrom(routing_pb2.FollowUp(
            follows_work_id=work.follows_work_id, due_time=timestamp_from_seconds(work.follow_up_due),
            deadline=timestamp_from_seconds(work.follow_up_deadline), group=work.follow_up_group,
            scheduled_by=work.follow_up_by))
        if work.affinity_until:
            message.follow_up.grace_end_time.CopyFrom(timestamp_from_seconds(work.affinity_until))
    for field, value in (("enqueue_time", work.enqueue_time), ("answer_time", work.answer_time),
                         ("end_time", work.end_time), ("callback_due_time", work.not_before),
                         ("bot_claim_expire_time", work.bot_claim_expires if work.bot_worker else 0.0)):
        if value:
            getattr(message, field).CopyFrom(timestamp_from_seconds(value))
    return message


def slot_to_proto(slot: Slot) -> routing_pb2.CallbackSlot:
    return routing_pb2.CallbackSlot(start_time=timestamp_from_seconds(slot.start),
                                    end_time=timestamp_from_seconds(slot.end), places_left=slot.places)


def position_to_proto(position: Position) -> routing_pb2.QueuePosition:
    return routing_pb2.QueuePosition(
        work_id=position.work_id, position=position.position, estimated_wait=duration(position.estimated_wait),
        callback_offered=position.callback_offered, state=work_state_number(position.state))


def stats_to_proto(view: QueueView) -> routing_pb2.QueueStats:
    w = view.window
    message = routing_pb2.QueueStats(
        queue_id=view.queue_id, window=duration(w.window), waiting=view.waiting,
        longest_wait=duration(view.longest_wait), offered=w.offered, answered=w.answered, abandoned=w.abandoned,
        service_level=w.service_level, average_speed_of_answer=duration(w.average_speed_of_answer),
        average_handle_time=duration(w.average_handle_time or view.average_handle_time), transfers=w.transfers,
        repeat_transfers=w.repeat_transfers,
        occupancy=view.occupancy, arrival_rate=w.arrival_rate, agents_available=view.agents_available,
        agents_logged_in=view.agents_logged_in, bot_waiting=view.bot_waiting,
        bot_in_progress=view.bot_in_progress,
        expected_wait=duration(view.expected_wait), answered_within_target=w.answered_in_target,
    )
    message.as_of.CopyFrom(timestamp_from_seconds(view.as_of))
    return message


# ----- agent desktop -----------------------------------------------------------------

def login_agent_id(first: routing_pb2.AgentCommand | None) -> str:
    if first is None or first.WhichOneof("command") != "login":
        raise InvalidArgument("the first command on AgentSession must be login")
    return require(first.login.agent_id, "login.agent_id")


def desktop_command(command: routing_pb2.AgentCommand) -> desktop.Command:
    """The command on the stream; one that cannot be read becomes `Unreadable` (the agent is told,
    the stream stays open)."""
    try:
        match command.WhichOneof("command"):
            case "set_state":
                return desktop.SetState(agent_status(command.set_state.status), command.set_state.reason)
            case "accept":
                return desktop.Accept(command.accept.offer_id)
            case "reject":
                return desktop.Reject(command.reject.offer_id, command.reject.reason)
            case "wrap_up":
                wrap_up = command.wrap_up
                return desktop.WrapUp(require(wrap_up.work_id, "wrap_up.work_id"),
                                      check_length(wrap_up.disposition, "wrap_up.disposition", WRAP_UP_CHARS),
                                      check_length(wrap_up.note, "wrap_up.note", WRAP_UP_CHARS))
            case "heartbeat":
                return desktop.Heartbeat()
            case "login":
                return desktop.Login()
    except DomainError as exc:
        return desktop.Unreadable(exc.message)
    return desktop.Empty()


def desktop_event_to_proto(event: desktop.DesktopEvent) -> routing_pb2.AgentEvent:
    match event:
        case desktop.AgentShown(agent=agent):
            return routing_pb2.AgentEvent(agent=agent_to_proto(agent))
        case desktop.Offered(work=work, screen_pop=pop):
            offer = routing_pb2.Offer(id=desktop.offer_id(work), work=work_to_proto(work),
                                      screen_pop=cast(routing_pb2.ScreenPop, pop))
            offer.expire_time.CopyFrom(timestamp_from_seconds(work.offer_expires))
            return routing_pb2.AgentEvent(offer=offer)
        case desktop.OfferRevoked(offer_id=offer_id):
            return routing_pb2.AgentEvent(offer_revoked=offer_id)
        case desktop.Assigned(work=work):
            return routing_pb2.AgentEvent(assigned=work_to_proto(work))
        case desktop.Refused(message=message):
            return routing_pb2.AgentEvent(error=message)
