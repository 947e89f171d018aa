"""Issue 13, item 6 under a real outage: the MongoDB-protocol server stopped for a while under a
steady stream of interactions. Tickets cannot thread any of them meanwhile; every one is
retried (a transient failure) until the database is back, and then every one is threaded, once,
and none is dead-lettered. Before, events failing for ~66 s went to the dead letters for good.

The outage lasts OMNI_TEST_MONGO_OUTAGE_SECONDS: 10 by default, to keep the suite short (the
suite's consumers would have dead-lettered after three attempts 0.05 s apart); set 90 for the
issue's full figure (measured: passes, see docs/security.md)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path
from typing import Any

import grpc
import pytest

from omni.devstack.processes import ManagedProcess, free_port, mongo_server, wait_for_port
from omni.runtime.auth import Role, bearer
from omni.runtime.config import ServiceSettings
from omni.runtime.dead_letters import read_dead_letters
from omni.runtime.events import EventBus
from omni.tickets.service import SPEC
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1.events_pb2 import InteractionReceived
from omnichannel.tickets.v1 import events_pb2, tickets_pb2_grpc
from omnichannel.tickets.v1 import tickets_pb2 as pb
from tests.conftest import StartService
from tests.support.events import EventRecorder, all_acknowledged
from tests.support.polling import eventually
from tests.support.settings import ticket_settings
from tests.tickets.conftest import at, interaction, phone

OUTAGE = float(os.environ.get("OMNI_TEST_MONGO_OUTAGE_SECONDS", "10"))
PACE = 0.25  # seconds between two interactions


@pytest.mark.slow
@pytest.mark.soak
async def test_every_interaction_is_threaded_once_after_mongodb_was_down(
        start_service: StartService, settings: ServiceSettings, nats: ManagedProcess, tmp_path: Path,
        authority: Any) -> None:
    mongo = mongo_server(free_port(), tmp_path / "mongo")
    bus = await EventBus.connect(nats.url, "test-sessions")
    recorder = await EventRecorder.start(nats.url, "tickets")
    try:
        own = dataclasses.replace(settings, mongo_url=mongo.url)
        host = await start_service(SPEC, settings_override=ticket_settings(own, event_retry_cap_seconds=5.0))
        sent: list[str] = []

        async def traffic(until: asyncio.Event) -> None:
            n = 0
            while not until.is_set():
                who = phone(f"+86 139 2200 {n % 40:04d}")  # 40 customers, each calling again and again
                msg = interaction(common_pb2.CHANNEL_PHONE, at(n), who, queue=("billing", "delivery")[n % 2])
                await bus.publish("sessions", "interaction_received", f"sessions/{msg.session_id}",
                                  InteractionReceived(interaction=msg), event_id=msg.id)
                sent.append(msg.id)
                n += 1
                await asyncio.sleep(PACE)

        stop_traffic = asyncio.Event()
        sending = asyncio.create_task(traffic(stop_traffic))
        await eventually(lambda: _threaded(recorder), lambda ids: len(ids) >= 5, what="threading under way")

        mongo.stop()
        await asyncio.sleep(OUTAGE)  # the outage itself: nothing to wait for but time
        during = len(sent)
        mongo.start()
        assert mongo.process is not None
        wait_for_port(int(mongo.url.rsplit(":", 1)[1].split("/")[0]), mongo.process, "secantusd-py")
        await eventually(lambda: _count(sent), lambda n: n >= during + 10, what="traffic after the outage")
        stop_traffic.set()
        await sending

        await eventually(lambda: _threaded(recorder), lambda ids: ids >= set(sent),
                         what=f"all {len(sent)} interactions threaded", within=180)
        await all_acknowledged(bus, "sessions", "tickets-sessions", within=60)
        assert await read_dead_letters(bus, "tickets-sessions") == []
        stub = tickets_pb2_grpc.TicketServiceStub(grpc.aio.insecure_channel(host.address))
        metadata = bearer(authority.mint("sup-1", Role.SUPERVISOR))
        stored = 0
        token = ""
        while True:
            page = await stub.ListTickets(pb.ListTicketsRequest(page_size=100, page_token=token), metadata=metadata)
            stored += sum(t.interaction_count for t in page.tickets)
            token = page.next_page_token
            if not token:
                break
        assert stored == len(sent)  # each once
        await host.stop()  # while its database is there to say goodbye to
    finally:
        await recorder.close()
        await bus.close()
        mongo.stop()


async def _threaded(recorder: EventRecorder) -> set[str]:
    return {t.interaction_id for t in recorder.payloads("interaction_threaded", events_pb2.InteractionThreaded)}


async def _count(items: list[str]) -> int:
    return len(items)
