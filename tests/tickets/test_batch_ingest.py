"""Interactions threaded in batches (one transaction per fetch from the bus): redelivery of a whole
stream changes nothing twice, and one bad event in a batch costs only itself."""

from __future__ import annotations

import random
from typing import Any

import grpc
from google.protobuf.wrappers_pb2 import StringValue
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from omni.devstack.processes import ManagedProcess
from omni.runtime.config import ServiceSettings
from omni.runtime.dead_letters import read_dead_letters
from omni.runtime.events import EventBus
from omni.tickets.service import SPEC
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1.events_pb2 import InteractionReceived
from omnichannel.tickets.v1 import tickets_pb2 as pb
from omnichannel.tickets.v1 import tickets_pb2_grpc
from tests.conftest import StartService
from tests.support.settings import ticket_settings
from tests.tickets.conftest import Harness, at, interaction, make_harness, phone

PHONE, CHAT, EMAIL = common_pb2.CHANNEL_PHONE, common_pb2.CHANNEL_CHAT, common_pb2.CHANNEL_EMAIL
THREADING_DURABLE = "tickets-sessions"


def contacts(customers: int, each: int) -> list[common_pb2.Interaction]:
    """`each` contacts per customer on two topics by phone and chat, in shuffled order (an email that
    references nothing is a new matter, so it would not join its topic's ticket)."""
    plan = []
    for c in range(customers):
        for k in range(each):
            channel = (PHONE, CHAT, PHONE)[k % 3]
            who = [phone(f"+86 139 7000 {c:04d}")]
            plan.append(interaction(channel, at(c + k * 5), *who, queue=("billing", "delivery")[k % 2]))
    random.Random(3).shuffle(plan)
    return plan


async def tickets_of(stub: tickets_pb2_grpc.TicketServiceStub, metadata: Any) -> dict[str, pb.Ticket]:
    page = await stub.ListTickets(pb.ListTicketsRequest(page_size=100), metadata=metadata)
    return {t.id: t for t in page.tickets}


async def timelines(stub: tickets_pb2_grpc.TicketServiceStub, metadata: Any) -> dict[str, list[str]]:
    """Ticket id → the ids of its interactions, in time order."""
    found = {}
    for ticket_id in await tickets_of(stub, metadata):
        ticket = await stub.GetTicket(pb.GetTicketRequest(id=ticket_id), metadata=metadata)
        found[ticket_id] = [i.id for i in ticket.interactions]
    return found


def batch_sizes(spans: InMemorySpanExporter) -> list[int]:
    return [int(s.attributes["messaging.batch.message_count"]) for s in spans.get_finished_spans()
            if s.name == f"consume batch {THREADING_DURABLE}" and s.attributes]


async def test_stream_redelivered_in_batches_after_restart_changes_nothing_twice(
        harness: Harness, start_service: StartService, settings: ServiceSettings, nats: ManagedProcess,
        spans: InMemorySpanExporter) -> None:
    plan = contacts(customers=4, each=10)
    for msg in plan:
        await harness.send(msg)
    creators = {}
    for msg in plan:
        threaded = await harness.threaded(msg.id)
        if threaded.created_ticket:
            creators[threaded.ticket_id] = msg.id
    before = await timelines(harness.stub, harness.metadata)
    assert len(before) == 8 and sorted(len(t) for t in before.values()) == [5] * 8
    created = {e.id for e in harness.published.of("ticket_created")}

    # The consumer forgets everything it acknowledged: the next replica gets the whole stream again.
    await harness.host.stop()
    await harness.bus.js.delete_consumer("SESSIONS", THREADING_DURABLE)
    spans.clear()
    second = await start_service(SPEC, settings_override=ticket_settings(settings))
    stub = tickets_pb2_grpc.TicketServiceStub(grpc.aio.insecure_channel(second.address))
    # A contact published after the redeliveries is threaded after them (one customer's order).
    later = interaction(PHONE, at(1), phone("+86 139 7000 0000"), queue="billing")
    await harness.send(later)
    joined = await harness.threaded(later.id)

    assert not joined.created_ticket
    when = {m.id: m.occurred_at.ToDatetime() for m in [*plan, later]}
    before[joined.ticket_id] = sorted([*before[joined.ticket_id], later.id], key=when.__getitem__)
    assert await timelines(stub, harness.metadata) == before
    counts = {t.id: t.interaction_count for t in (await tickets_of(stub, harness.metadata)).values()}
    assert counts == {ticket_id: len(ids) for ticket_id, ids in before.items()}
    assert {e.id for e in harness.published.of("ticket_created")} == created
    # Each ticket, rewritten whole by every batch that joined it, still answers to what created it.
    assert second.runtime is not None
    origins = {doc["_id"]: doc["origin_key"] async for doc in second.runtime.db["tickets"].find({}, {"origin_key": 1})}
    assert origins == {ticket_id: f"interaction:{creator}" for ticket_id, creator in creators.items()}
    # The redelivered stream did come back in batches, not one by one.
    assert max(batch_sizes(spans), default=0) > 1


async def test_bad_event_in_a_batch_is_dead_lettered_and_the_rest_threaded(
        start_service: StartService, settings: ServiceSettings, nats: ManagedProcess, authority: Any,
        spans: InMemorySpanExporter) -> None:
    # Published before tickets starts, so its first fetch brings them all as one batch.
    bus = await EventBus.connect(nats.url, "test-early")
    plan = contacts(customers=3, each=4)
    try:
        for msg in plan[:6]:
            await bus.publish("sessions", "interaction_received", f"sessions/{msg.session_id}",
                              _received(msg), event_id=msg.id)
        await bus.publish("sessions", "interaction_received", "sessions/junk", StringValue(value="not an interaction"),
                          event_id="junk-1")
        for msg in plan[6:]:
            await bus.publish("sessions", "interaction_received", f"sessions/{msg.session_id}",
                              _received(msg), event_id=msg.id)
    finally:
        await bus.close()
    harness = await make_harness(start_service, settings, nats, authority)
    try:
        for msg in plan:
            await harness.threaded(msg.id)
        [letter] = await read_dead_letters(harness.bus, THREADING_DURABLE)
        assert letter.event.id == "junk-1" and "expected omnichannel.sessions.v1.InteractionReceived" in letter.error
        tickets = await tickets_of(harness.stub, harness.metadata)
        assert len(tickets) == 6 and sum(t.interaction_count for t in tickets.values()) == len(plan)
        assert max(batch_sizes(spans), default=0) == len(plan) + 1
    finally:
        await harness.close()


def _received(msg: common_pb2.Interaction) -> InteractionReceived:
    return InteractionReceived(interaction=msg)
