"""Contact records from the sessions the live stack stored (`SessionService.ListSessions`).

A session's state transitions carry the times the KPIs need: queued (arrival), connected
(answered), abandoned / ended. A session that went back to the queue after being connected was
transferred. Sessions sharing a ticket are one matter: the first is resolved when no later
session came back about the same ticket (first-contact resolution from follow-ups).
"""

from __future__ import annotations

from collections.abc import Iterable

from omni.kpis.follow_ups import FollowUpRecord
from omni.kpis.records import ContactRecord, Outcome
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2
from omnichannel.sessions.v1 import sessions_pb2

_CHANNELS = {common_pb2.CHANNEL_PHONE: "phone", common_pb2.CHANNEL_CHAT: "chat", common_pb2.CHANNEL_EMAIL: "email",
             common_pb2.CHANNEL_SMS: "sms"}
S = sessions_pb2
# How sessions names the move to CONNECTED that starts a call of a callback (docs/outbound.md).
_CALL_STARTED = "calling back"


def contact_record(session: sessions_pb2.Session) -> ContactRecord | None:
    """None for sessions that never reached a queue (e.g. still in the IVR)."""
    times: dict[int, list[float]] = {}
    for transition in session.transitions:
        times.setdefault(transition.state, []).append(transition.time.ToMicroseconds() / 1e6)
    queued = times.get(S.SESSION_STATE_QUEUED)
    arrived = queued[0] if queued else (session.create_time.ToMicroseconds() / 1e6 or None)
    if arrived is None or session.state in (S.SESSION_STATE_IVR, S.SESSION_STATE_UNSPECIFIED):
        return None
    attributes = dict(session.attributes)
    connected = times.get(S.SESSION_STATE_CONNECTED, [])
    answered = connected[0] if connected else None
    attempts = int(attributes.get("outbound_attempt", "0") or 0)
    reached = _callback_reached(attributes, session.state)
    if attempts:
        # A callback is connected to its agent while each call rings: answered only by the call
        # that reached the customer (the last one connected).
        answered = connected[-1] if reached else None
    ends = times.get(S.SESSION_STATE_ENDED, []) + times.get(S.SESSION_STATE_ABANDONED, [])
    ended = max(ends) if ends else None
    outcome: Outcome
    if answered is not None:
        outcome = "answered"
    elif session.state == S.SESSION_STATE_ABANDONED:
        outcome = "abandoned"
    elif attempts:
        outcome = "unanswered"  # a callback none of whose calls reached the customer (yet)
    elif session.state == S.SESSION_STATE_ENDED and any(
            m.direction == common_pb2.DIRECTION_OUTBOUND for m in session.messages):
        # Answered, never by an agent (that would have connected it): the self-service bot.
        outcome = "overflowed"
    else:
        outcome = "unanswered"
    estimate = attributes.get("estimated_wait_seconds")
    customer = session.customer.customer_id or (session.customer.identities[0].value
                                                 if session.customer.identities else session.id)
    return ContactRecord(
        contact_id=session.id,
        customer_id=customer,
        matter_id=session.ticket_id or session.id,
        channel=_CHANNELS.get(session.channel, "unknown"),
        queue=session.queue or "unrouted",
        intent=session.intent,
        language=session.language,
        vip=attributes.get("vip", "").lower() in ("1", "true", "yes"),
        urgent=session.urgent,
        emotion=session.emotion_score,
        arrived=arrived,
        answered=answered,
        ended=ended,
        outcome=outcome,
        handle_seconds=(ended - answered) if ended is not None and answered is not None else 0.0,
        agent_id=session.agent_id,
        transfers=sum(1 for t in queued or [] if answered is not None and t > answered),
        estimated_wait=float(estimate) if estimate else None,
        callback="callback" in attributes or "callback_number" in attributes
        or any("callback" in t.reason for t in session.transitions),
        callback_attempts=attempts,
        callback_reached=reached,
        calls=_calls(session, attributes.get("outbound_result", "")),
        csat=session.survey.csat if session.HasField("survey") else 0,
        nps=session.survey.nps if session.HasField("survey") and session.survey.HasField("nps") else None,
    )


def _callback_reached(attributes: dict[str, str], state: int) -> bool | None:
    """True when a call of the session's callback reached the customer; False when it is over
    and none did; None without calls, while one may still come, or when it was stopped."""
    result = attributes.get("outbound_result", "")
    if result == "answered":
        return True
    if result and result not in ("dialing", "ringing", "stopped") and state in (
            S.SESSION_STATE_ENDED, S.SESSION_STATE_ABANDONED):
        return False
    return None


def _calls(session: sessions_pb2.Session, result: str) -> list[tuple[float, bool]]:
    """(start, reached) of the callback's calls: each call but the last went unanswered (another
    followed); the last reached the customer when its result says so, and counts only once it
    has a result."""
    starts = [t.time.ToMicroseconds() / 1e6 for t in session.transitions
              if t.state == S.SESSION_STATE_CONNECTED and t.reason.startswith(_CALL_STARTED)]
    calls = [(at, False) for at in starts[:-1]]
    if starts and result not in ("dialing", "ringing"):
        calls.append((starts[-1], result == "answered"))
    return calls


def contact_records(sessions: Iterable[sessions_pb2.Session]) -> list[ContactRecord]:
    records = sorted((r for s in sessions if (r := contact_record(s)) is not None), key=lambda r: r.arrived)
    seen: set[str] = set()
    last_of_matter: dict[str, ContactRecord] = {}
    for record in records:
        record.follow_up = record.matter_id in seen
        seen.add(record.matter_id)
        last_of_matter[record.matter_id] = record
    # A contact resolved its matter when nobody came back about it afterwards.
    for record in records:
        record.resolved = record.outcome == "answered" and last_of_matter[record.matter_id] is record
    return records


def follow_up_records(items: Iterable[routing_pb2.WorkItem]) -> list[FollowUpRecord]:
    """Routing's follow-ups (`ListFollowUps`) as records."""
    return [FollowUpRecord(
        follow_up_id=w.id, queue=w.queue_id, channel=_CHANNELS.get(w.channel, "unknown"), agent_id=w.preferred_agent_id,
        done_by=w.assigned_agent_id if w.state == routing_pb2.WORK_STATE_COMPLETED else "",
        due=w.follow_up.due_time.ToMicroseconds() / 1e6, deadline=w.follow_up.deadline.ToMicroseconds() / 1e6,
        done=w.end_time.ToMicroseconds() / 1e6 if w.state == routing_pb2.WORK_STATE_COMPLETED else None,
        cancelled=w.state == routing_pb2.WORK_STATE_ABANDONED) for w in items if w.HasField("follow_up")]
