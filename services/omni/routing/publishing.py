"""Routing's facts as events on the bus: every work event, and agents' presence changes.

Events are made as outbox entries (`event`), written with the change that caused them and
published after its commit (`publish`); each carries the partition and the owner's epoch."""

from __future__ import annotations

import uuid

from google.protobuf.message import Message

from omni.routing import convert
from omni.routing.domain.journal import Notice
from omni.routing.domain.outbox import OutboxEntry, outbox_entry
from omni.runtime.events import EventBus
from omni.runtime.proto_values import timestamp_from_seconds
from omnichannel.routing.v1 import events_pb2, routing_pb2

DOMAIN = "routing"
WORK_EVENTS = frozenset({
    "work_queued", "work_offered", "offer_accepted", "offer_rejected", "offer_timed_out", "work_assigned",
    "work_transferred", "work_abandoned", "callback_scheduled", "work_completed", "work_overflowed",
    "work_escalated", "callback_offered", "callback_sms_requested",
})


def event(notice: Notice, partition: str, epoch: int, *, agent_display_name: str = "") -> OutboxEntry | None:
    """The event of a notice, if it is one (some are for the agent's desktop only);
    `agent_display_name`: the name of the agent the notice names."""
    if notice.kind in WORK_EVENTS and notice.work is not None:
        work = notice.work
        payload: Message = events_pb2.WorkEvent(
            work=convert.work_to_proto(work), agent_id=notice.agent_id, reason=notice.reason,
            disposition=notice.disposition, partition=partition, epoch=epoch,
            agent_display_name=agent_display_name,
            not_before=timestamp_from_seconds(notice.at) if notice.at else None)
        # An escalation comes with a customer turn: one event per turn.
        event_id = f"{work.id}:{notice.kind}:{work.offer_attempts}:{work.transfer_count}:{work.seq}" + (
            f":{work.last_turn_id}" if notice.kind == "work_escalated" else "")
        return outbox_entry(partition, epoch, notice.kind, f"work/{work.id}", event_id, payload.SerializeToString())
    if notice.kind == "agent_state_changed" and notice.agent is not None:
        payload = events_pb2.AgentStateChanged(
            agent=convert.agent_to_proto(notice.agent), partition=partition, epoch=epoch,
            previous_status=convert.agent_status_number(notice.previous_status)
            if notice.previous_status else routing_pb2.AGENT_STATUS_UNSPECIFIED)
        return outbox_entry(partition, epoch, "agent_state_changed", f"agents/{notice.agent_id}", uuid.uuid4().hex,
                            payload.SerializeToString())
    return None


_PAYLOADS: dict[str, type[Message]] = {kind: events_pb2.WorkEvent for kind in WORK_EVENTS}
_PAYLOADS["agent_state_changed"] = events_pb2.AgentStateChanged


class Publisher:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def publish(self, entry: OutboxEntry) -> None:
        payload = _PAYLOADS[entry.event_type].FromString(entry.payload)
        await self._bus.publish(DOMAIN, entry.event_type, entry.subject, payload, event_id=entry.event_id)
