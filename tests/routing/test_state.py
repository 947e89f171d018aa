"""Routing state survives a restart; inbound contacts from the event bus become work."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from omni.routing.service import SPEC
from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from omni.runtime.events import EventBus, unpack
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.routing.v1.events_pb2 import WorkEvent
from omnichannel.sessions.v1 import events_pb2, sessions_pb2
from tests.conftest import StartService
from tests.routing.conftest import CHAT, PHONE, RoutingClient
from tests.support.events import EventRecorder
from tests.support.polling import eventually
from tests.support.settings import routing_settings


async def _waiting(stub: routing_pb2_grpc.RoutingServiceStub, metadata: Any) -> list[str]:
    ids: list[str] = []
    token = ""
    while True:
        page = await stub.ListWorkItems(routing_pb2.ListWorkItemsRequest(
            queue_id="general", state=routing_pb2.WORK_STATE_WAITING, page_size=40, page_token=token),
            metadata=metadata)
        ids.extend(w.id for w in page.work_items)
        token = page.next_page_token
        if not token:
            return ids


async def _positions(stub: routing_pb2_grpc.RoutingServiceStub, ids: list[str], metadata: Any) -> list[str]:
    places = {}
    for work_id in ids:
        watch = stub.WatchPosition(routing_pb2.WatchPositionRequest(work_id=work_id), metadata=metadata)
        places[work_id] = (await anext(aiter(watch))).position
        watch.cancel()
    return sorted(ids, key=places.__getitem__)


@pytest.mark.slow
async def test_restart_with_100_waiting_keeps_them_all_in_the_same_order(
        start_service: StartService, settings: ServiceSettings, token_for: Any) -> None:
    admin = token_for(Role.ADMIN, "admin")
    host = await start_service(SPEC, settings_override=routing_settings(settings))
    async with grpc.aio.insecure_channel(host.address) as channel:
        stub = routing_pb2_grpc.RoutingServiceStub(channel)
        await stub.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
            id="general", groups=["general"])), metadata=admin)
        for i in range(100):
            await stub.EnqueueWork(routing_pb2.EnqueueWorkRequest(work=routing_pb2.WorkItem(
                id=f"W-{i:03}", queue_id="general", channel=PHONE, vip=i % 17 == 0)), metadata=admin)
        ids = await _waiting(stub, admin)
        before = await _positions(stub, ids, admin)
    assert len(ids) == 100 and before[0] == "W-000" and before[1] == "W-017"  # VIPs first
    await host.stop()

    again = await start_service(SPEC, settings_override=routing_settings(settings))
    async with grpc.aio.insecure_channel(again.address) as channel:
        stub = routing_pb2_grpc.RoutingServiceStub(channel)
        after_ids = await _waiting(stub, admin)
        assert sorted(after_ids) == sorted(ids)
        assert await _positions(stub, after_ids, admin) == before
        stats = await stub.GetQueueStats(routing_pb2.GetQueueStatsRequest(queue_id="general"), metadata=admin)
        assert stats.waiting == 100 and stats.offered == 100


def _interaction(session_id: str, interaction_id: str, **fields: Any) -> events_pb2.InteractionReceived:
    fields.setdefault("direction", common_pb2.DIRECTION_INBOUND)
    fields.setdefault("channel", CHAT)
    fields.setdefault("queue", "general")
    return events_pb2.InteractionReceived(interaction=common_pb2.Interaction(
        id=interaction_id, session_id=session_id, **fields))


async def test_inbound_contacts_become_one_work_item_per_session(
        routing: RoutingClient, settings: ServiceSettings) -> None:
    await routing.queue("general")
    bus = await EventBus.connect(settings.nats_url, "sessions")
    try:
        identity = common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_PHONE, value="+8613800000001")
        for n, text in enumerate(["hello", "still there?", "hello?"]):
            await bus.publish("sessions", "interaction_received", "sessions/S-1", _interaction(
                "S-1", f"I-{n}", text=text, language="zh", emotion_score=9,
                customer=common_pb2.CustomerRef(identities=[identity])), event_id=f"I-{n}")
        await bus.publish("sessions", "interaction_received", "sessions/S-2", _interaction(
            "S-2", "I-out", direction=common_pb2.DIRECTION_OUTBOUND, agent_id="A-1"), event_id="I-out")
        await bus.publish("sessions", "interaction_received", "sessions/S-3", _interaction(
            "S-3", "I-3", queue="no-such-queue"), event_id="I-3")

        # Routing's one consumer of these events handles them in the order they were published:
        # once S-3 (published last) is in line, the repeats for S-1 and the agent's outbound
        # reply on S-2 were handled before it.
        listed = await eventually(
            lambda: routing.stub.ListWorkItems(routing_pb2.ListWorkItemsRequest(), metadata=routing.admin),
            lambda page: "S-3" in [w.id for w in page.work_items], what="S-3, the last contact published, as work")
        assert sorted(w.id for w in listed.work_items) == ["S-1", "S-3"]
        work = await routing.work("S-1")
        assert work.interaction_id == "I-0" and work.text == "hello" and work.emotion_score == 9
        assert "angry" in [r.code for r in work.reasons]
        # No tickets service configured: routed anyway, and the reason says why VIP/affinity are unknown.
        assert "customer_context_unavailable" in [r.code for r in work.reasons]
        assert "unknown_queue" in [r.code for r in (await routing.work("S-3")).reasons]

        abandoned = events_pb2.SessionStateChanged(session=sessions_pb2.Session(
            id="S-1", state=sessions_pb2.SESSION_STATE_ABANDONED), previous_state=sessions_pb2.SESSION_STATE_QUEUED,
            reason="caller hung up")
        await bus.publish("sessions", "session_state_changed", "sessions/S-1", abandoned, event_id="S-1:abandoned")

        await eventually(lambda: routing.work("S-1"), lambda w: w.state == routing_pb2.WORK_STATE_ABANDONED,
                         what="S-1 abandoned after the caller hung up")
        stats = await routing.stub.GetQueueStats(routing_pb2.GetQueueStatsRequest(queue_id="general"),
                                                 metadata=routing.admin)
        assert stats.abandoned == 1 and stats.waiting == 1

        # A chat that ended (e.g. while a bot was handing it back) leaves no one in line to offer.
        ended = events_pb2.SessionStateChanged(session=sessions_pb2.Session(
            id="S-3", state=sessions_pb2.SESSION_STATE_ENDED), previous_state=sessions_pb2.SESSION_STATE_QUEUED,
            reason="customer left during self-service")
        await bus.publish("sessions", "session_state_changed", "sessions/S-3", ended, event_id="S-3:ended")

        await eventually(lambda: routing.work("S-3"), lambda w: w.state == routing_pb2.WORK_STATE_ABANDONED,
                         what="S-3 out of line after its chat ended")
    finally:
        await bus.close()


async def test_work_events_carry_the_session_for_sessions_and_tickets(
        routing: RoutingClient, settings: ServiceSettings) -> None:
    async with await EventRecorder.start(settings.nats_url, "routing") as published:
        await routing.queue("general")
        await routing.agent("A-1")
        await routing.enqueue("S-9")
        await routing.stub.TransferWork(routing_pb2.TransferWorkRequest(
            work_id="S-9", reason="needs a specialist", target_queue_id="general"), metadata=routing.admin)
        await published.wait("work_offered", WorkEvent, count=2)
        work_events = [(e.type, unpack(e, WorkEvent)) for e in published.of() if e.type != "agent_state_changed"]
        assert [(kind, event.work.session_id, event.agent_id) for kind, event in work_events] == [
            ("work_queued", "S-9", ""), ("work_offered", "S-9", "A-1"),
            ("work_transferred", "S-9", "A-1"), ("work_offered", "S-9", "A-1")]

