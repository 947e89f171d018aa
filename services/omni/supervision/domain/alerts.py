"""Alerts: what raises one, and the record a supervisor acknowledges.

Every alert has an `origin`: the fact it was raised for ("angry:S-1", "rona:S-1:2"). The store
keeps one alert per origin, so a redelivered event or a second replica raising the same alert
changes nothing, and each rule below decides once per contact (or offer, or ticket target)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid

from omni.runtime.channels import Channel
from omni.runtime.errors import InvalidArgument


class AlertKind(enum.StrEnum):
    ANGRY = "angry"
    EMOTION_RISING = "emotion_rising"
    EMERGENCY = "emergency"
    RONA = "rona"
    LATE_GREETING = "late_greeting"
    SLA_BREACHED = "sla_breached"
    SLA_BREACH_IMMINENT = "sla_breach_imminent"
    SERVICE_LEVEL_LOW = "service_level_low"
    ABANDONMENT_SPIKE = "abandonment_spike"
    KPI_OUTSIDE_BAND = "kpi_outside_band"
    FOLLOW_UP_OVERDUE = "follow_up_overdue"


@dataclasses.dataclass(frozen=True)
class Alert:
    id: str
    kind: AlertKind
    origin: str
    created: dt.datetime
    detail: str = ""
    queue_id: str = ""
    session_id: str = ""
    work_id: str = ""
    agent_id: str = ""
    ticket_id: str = ""
    channel: Channel | None = None
    acknowledged_by: str = ""
    acknowledged_at: dt.datetime | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


@dataclasses.dataclass(frozen=True)
class AlertFilter:
    """What a list asks for: open alerts only, one queue's."""

    open_only: bool = False
    queue_id: str = ""


@dataclasses.dataclass(frozen=True)
class Subject:
    """What an alert is about: a queue, and where it is about one contact or ticket, that."""

    queue_id: str = ""
    session_id: str = ""
    work_id: str = ""
    agent_id: str = ""
    ticket_id: str = ""
    channel: Channel | None = None


def new_alert(kind: AlertKind, origin: str, now: dt.datetime, about: Subject, detail: str) -> Alert:
    return Alert(id=f"AL-{uuid.uuid4().hex[:16]}", kind=kind, origin=origin, created=now, detail=detail,
                 queue_id=about.queue_id, session_id=about.session_id, work_id=about.work_id,
                 agent_id=about.agent_id, ticket_id=about.ticket_id, channel=about.channel)


@dataclasses.dataclass(frozen=True)
class WorkFacts:
    """What a routing work event says about one contact."""

    work_id: str
    session_id: str
    queue_id: str
    channel: Channel | None
    # (code, detail) of routing's reasons, in its order.
    reasons: tuple[tuple[str, str], ...] = ()
    offer_attempts: int = 0
    agent_id: str = ""

    def subject(self, *, with_agent: bool = False) -> Subject:
        return Subject(queue_id=self.queue_id, session_id=self.session_id, work_id=self.work_id,
                       channel=self.channel, agent_id=self.agent_id if with_agent else "")


# Routing decides who is angry, in an emergency or heating up (its queue policy: the threshold,
# the emergency words, the rising turns); its reason codes say which. At arrival ...
_ARRIVAL_REASONS = {"angry": AlertKind.ANGRY, "urgent": AlertKind.EMERGENCY}
# ... and on a later customer turn (`work_escalated`, reason "<code>: <detail>").
_TURN_REASONS = {"turn_angry": AlertKind.ANGRY, "turn_urgent": AlertKind.EMERGENCY,
                 "emotion_rising": AlertKind.EMOTION_RISING}


def work_alerts(event_type: str, work: WorkFacts, reason: str, now: dt.datetime) -> list[Alert]:
    """The alerts a routing work event raises (most raise none)."""
    if event_type == "work_queued":
        details = dict(work.reasons)
        return [new_alert(kind, f"{kind.value}:{work.work_id}", now, work.subject(), details[code])
                for code, kind in _ARRIVAL_REASONS.items() if code in details]
    if event_type == "work_escalated":
        code, _, detail = reason.partition(":")
        kind = _TURN_REASONS.get(code.strip())
        if kind is None:
            return []
        return [new_alert(kind, f"{kind.value}:{work.work_id}", now, work.subject(with_agent=True),
                          detail.strip() or code)]
    if event_type == "offer_timed_out":
        return [new_alert(AlertKind.RONA, f"rona:{work.work_id}:{work.offer_attempts}", now,
                          work.subject(with_agent=True),
                          f"agent {work.agent_id or '?'} did not answer the offer in time")]
    return []


def sla_breached_alert(ticket_id: str, queue_id: str, target: str, now: dt.datetime) -> Alert:
    return new_alert(AlertKind.SLA_BREACHED, f"sla_breached:{ticket_id}:{target}", now,
                     Subject(queue_id=queue_id, ticket_id=ticket_id),
                     f"ticket {ticket_id}: {target.replace('_', ' ')} target missed")


def acknowledge(alert: Alert, by: str, now: dt.datetime) -> Alert:
    """Acknowledged once: a second acknowledgement keeps the first's who and when."""
    if alert.acknowledged:
        return alert
    if not by:
        raise InvalidArgument("an acknowledgement names who made it")
    return dataclasses.replace(alert, acknowledged_by=by, acknowledged_at=now)
