"""Routing's facts as events on the bus: every work event, and agents' presence changes."""

from __future__ import annotations

import uuid

from omni.routing import convert
from omni.routing.domain.journal import Notice
from omni.runtime.events import EventBus
from omnichannel.routing.v1 import events_pb2, routing_pb2

WORK_EVENTS = frozenset({
    "work_queued", "work_offered", "offer_accepted", "offer_rejected", "offer_timed_out", "work_assigned",
    "work_transferred", "work_abandoned", "callback_scheduled", "work_completed", "work_overflowed",
})


class Publisher:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def publish(self, notice: Notice) -> None:
        """Publish the notice if it is an event (some are for the agent's desktop only)."""
        if notice.kind in WORK_EVENTS and notice.work is not None:
            work = notice.work
            await self._bus.publish("routing", notice.kind, f"work/{work.id}", events_pb2.WorkEvent(
                work=convert.work_to_proto(work), agent_id=notice.agent_id, reason=notice.reason,
                disposition=notice.disposition),
                event_id=f"{work.id}:{notice.kind}:{work.offer_attempts}:{work.transfer_count}:{work.seq}")
        elif notice.kind == "agent_state_changed" and notice.agent is not None:
            await self._bus.publish("routing", "agent_state_changed", f"agents/{notice.agent_id}",
                                    events_pb2.AgentStateChanged(
                                        agent=convert.agent_to_proto(notice.agent),
                                        previous_status=convert.agent_status_number(notice.previous_status)
                                        if notice.previous_status else routing_pb2.AGENT_STATUS_UNSPECIFIED),
                                    event_id=uuid.uuid4().hex)
