"""Protobuf ↔ supervision's domain objects."""

from __future__ import annotations

from omni.runtime.proto_values import channel_from_proto, channel_to_proto, duration, timestamp, to_datetime
from omni.supervision.domain.alerts import Alert, AlertKind
from omni.supervision.domain.floor import AgentRow, Floor, LiveWork, QueueRow
from omni.supervision.domain.queue_health import QueueFigures
from omnichannel.supervision.v1 import supervision_pb2 as pb

_KINDS = {kind: pb.AlertKind.Value(f"ALERT_KIND_{kind.name}") for kind in AlertKind}
_KINDS_BACK = {number: kind for kind, number in _KINDS.items()}


def alert_to_proto(alert: Alert) -> pb.Alert:
    message = pb.Alert(id=alert.id, kind=_KINDS[alert.kind], queue_id=alert.queue_id, session_id=alert.session_id,
                       work_id=alert.work_id, agent_id=alert.agent_id, ticket_id=alert.ticket_id,
                       channel=channel_to_proto(alert.channel), detail=alert.detail,
                       create_time=timestamp(alert.created), acknowledged=alert.acknowledged,
                       acknowledged_by=alert.acknowledged_by)
    if alert.acknowledged_at is not None:
        message.acknowledge_time.CopyFrom(timestamp(alert.acknowledged_at))
    return message


def alert_from_proto(message: pb.Alert) -> Alert:
    return Alert(id=message.id, kind=_KINDS_BACK[message.kind], origin="", created=to_datetime(message.create_time),
                 detail=message.detail, queue_id=message.queue_id, session_id=message.session_id,
                 work_id=message.work_id, agent_id=message.agent_id, ticket_id=message.ticket_id,
                 channel=channel_from_proto(message.channel), acknowledged_by=message.acknowledged_by,
                 acknowledged_at=to_datetime(message.acknowledge_time) if message.acknowledged else None)


def _level(figures: QueueFigures) -> float:
    level = figures.service_level_or_none()
    return -1.0 if level is None else level


def _queue(row: QueueRow) -> pb.QueueFloor:
    return pb.QueueFloor(
        queue_id=row.queue.id, display_name=row.queue.display_name, waiting=row.recent.waiting,
        longest_wait=duration(row.recent.longest_wait), service_level_today=_level(row.today),
        service_level_15m=_level(row.recent), service_level_target=row.queue.target,
        agents_available=row.available, agents_busy=row.busy, agents_on_break=row.on_break,
        callbacks_pending=row.callbacks, bot_held=row.bot_held)


def _work(work: LiveWork) -> pb.LiveWork:
    message = pb.LiveWork(work_id=work.work_id, session_id=work.session_id, queue_id=work.queue_id,
                          channel=channel_to_proto(work.channel), emotion_score=work.emotion_score,
                          urgent=work.urgent)
    if work.answered_at is not None:
        message.answer_time.CopyFrom(timestamp(work.answered_at))
    return message


def _agent(row: AgentRow) -> pb.AgentFloor:
    agent = row.agent
    message = pb.AgentFloor(agent_id=agent.id, display_name=agent.display_name, status=agent.status,
                            status_reason=agent.status_reason, work=[_work(w) for w in row.work],
                            handled_today=row.day.handled,
                            average_handle_time=duration(row.day.average_handle_time), supervisor=agent.supervisor)
    if agent.since is not None:
        message.status_since.CopyFrom(timestamp(agent.since))
    return message


def floor_to_proto(floor: Floor) -> pb.Floor:
    message = pb.Floor(queues=[_queue(q) for q in floor.queues], agents=[_agent(a) for a in floor.agents],
                       degraded=list(floor.degraded))
    if floor.as_of is not None:
        message.as_of.CopyFrom(timestamp(floor.as_of))
    return message
