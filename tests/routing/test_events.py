"""Every routing fact the issue lists is published on the bus, with the work and the agent."""

from __future__ import annotations

from omni.runtime.config import ServiceSettings
from omni.runtime.events import unpack
from omnichannel.routing.v1 import routing_pb2
from omnichannel.routing.v1.events_pb2 import WorkEvent
from tests.routing.conftest import CHAT, RoutingClient, seconds
from tests.routing.test_desktop import Desk
from tests.support.events import EventRecorder


async def test_offered_rejected_timed_out_accepted_assigned_completed_callback_abandoned_transferred(
        routing: RoutingClient, settings: ServiceSettings) -> None:
    async with await EventRecorder.start(settings.nats_url, "routing") as recorder:

        async def published(kind: str, work_id: str) -> WorkEvent:
            """The latest `kind` event about `work_id` (waiting for one)."""
            return (await recorder.wait(kind, WorkEvent, lambda e: e.work.id == work_id))[-1]

        await routing.queue("general", policy=routing_pb2.RoutingPolicy(offer_timeout=seconds(0.5),
                                                                          max_missed_offers=5))
        await routing.agent("A-1")
        desk = Desk(routing, "A-1")
        await desk.next("agent")
        await routing.enqueue("S-1", channel=CHAT)
        offer = await desk.next("offer")
        desk.send(reject=routing_pb2.RejectOffer(offer_id=offer.id, reason="on a break in a minute"))
        rejected = await published("offer_rejected", "S-1")
        assert (rejected.agent_id, rejected.reason) == ("A-1", "on a break in a minute")
        await desk.next("offer")  # offered again after the hold; left unanswered
        assert (await published("offer_timed_out", "S-1")).agent_id == "A-1"
        offer = await desk.next("offer")
        desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
        await published("offer_accepted", "S-1")
        assert (await published("work_assigned", "S-1")).agent_id == "A-1"
        desk.send(wrap_up=routing_pb2.WrapUp(work_id="S-1", disposition="resolved", note="refund sent, 3 days"))
        completed = await published("work_completed", "S-1")
        assert (completed.disposition, completed.work.wrap_up_note) == ("resolved", "refund sent, 3 days")
        assert len(recorder.payloads("work_offered", WorkEvent, lambda e: e.work.id == "S-1")) == 3

        desk.send(set_state=routing_pb2.SetAgentStateRequest(agent_id="A-1", status=routing_pb2.AGENT_STATUS_BREAK))
        while (await desk.next("agent")).status != routing_pb2.AGENT_STATUS_BREAK:
            pass
        await routing.enqueue("S-2")
        await routing.stub.ScheduleCallback(routing_pb2.ScheduleCallbackRequest(work_id="S-2", number="+8613800000000"),
                                            metadata=routing.admin)
        await published("callback_scheduled", "S-2")
        await routing.stub.AbandonWork(routing_pb2.AbandonWorkRequest(work_id="S-2"), metadata=routing.admin)
        await published("work_abandoned", "S-2")
        await routing.queue("billing")
        await routing.enqueue("S-3")
        await routing.stub.TransferWork(routing_pb2.TransferWorkRequest(
            work_id="S-3", reason="a billing question", target_queue_id="billing",
            reason_code=routing_pb2.TRANSFER_REASON_WRONG_QUEUE), metadata=routing.admin)
        assert (await published("work_transferred", "S-3")).reason == "a billing question"
        about_s2 = [e.type for e in recorder.of() if e.type != "agent_state_changed"
                    and unpack(e, WorkEvent).work.id == "S-2"]
        assert about_s2[0] == "work_queued"
        desk.commands.put_nowait(None)
