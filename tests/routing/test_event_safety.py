"""Routing loses no event and a former owner cannot overwrite: events are written with the change
(outbox) and published once the bus takes them; a write under an older epoch is refused."""

from __future__ import annotations

import nats
import pytest

from omni.devstack.processes import ManagedProcess
from omni.routing.domain.work import Work
from omni.routing.repository import Fenced, RoutingRepository
from omni.runtime import storage
from omni.runtime.config import ServiceSettings
from omni.runtime.events import stream_name
from omnichannel.common.v1.event_pb2 import EventEnvelope
from omnichannel.routing.v1 import routing_pb2
from tests.routing.conftest import CHAT, RoutingClient
from tests.routing.test_desktop import Desk
from tests.support.polling import eventually


@pytest.mark.slow
@pytest.mark.soak
async def test_events_made_while_nats_is_down_all_arrive_once_it_is_back(
        routing: RoutingClient, settings: ServiceSettings, nats: ManagedProcess) -> None:
    await routing.queue("general")
    await routing.agent("A-1")
    desk = Desk(routing, "A-1")
    await desk.next("agent")
    await routing.enqueue("S-0", channel=CHAT)
    offer = await desk.next("offer")
    desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    await desk.next("assigned")

    nats.stop()
    # While the bus is down routing keeps deciding; its events wait in their documents.
    desk.send(wrap_up=routing_pb2.WrapUp(work_id="S-0", disposition="resolved"))
    for n in range(1, 4):
        await routing.enqueue(f"S-{n}", channel=CHAT)
    offer = await desk.next("offer")
    assert offer.work.id == "S-1"
    nats.start()

    found = await eventually(lambda: stored_events(settings.nats_url), lambda seen: set(seen) >= EXPECTED,
                             what="the events made while NATS was down, on the stream", within=30)
    assert found.count(("work_queued", "work/S-2")) == 1


EXPECTED = {("work_completed", "work/S-0"), ("work_queued", "work/S-1"), ("work_offered", "work/S-1"),
            ("work_queued", "work/S-2"), ("work_queued", "work/S-3")}


async def stored_events(url: str) -> list[tuple[str, str]]:
    """(type, subject) of every event on routing's stream, in order."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream_name("routing"))
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            envelope = EventEnvelope.FromString((await js.get_msg(stream_name("routing"), seq)).data)
            found.append((envelope.type, envelope.subject))
        return found
    finally:
        await nc.close()


async def test_a_write_under_an_older_epoch_is_refused_after_a_new_owner_claimed(
        mongo: ManagedProcess, settings: ServiceSettings) -> None:
    client = storage.connect(mongo.url)
    repository = RoutingRepository(client[settings.mongo_database])
    try:
        work = Work(id="S-1", queue_id="general")
        await repository.save([(work, 5)])
        await repository.claim({"general"}, set(), 9)
        work.state = work.state.OFFERED
        with pytest.raises(Fenced):
            await repository.save([(work, 5)])
        stored = await repository.get_work("S-1")
        assert stored is not None and stored.state is work.state.WAITING
        # A former owner adding work after the claim is found and taken over by the new one.
        await repository.save([(Work(id="S-2", queue_id="general"), 5)])
        assert [w.id for w in await repository.strays({"general"}, 9)] == ["S-2"]
        await repository.save([(work, 9)])
        assert (await repository.get_work("S-1")) is not None
    finally:
        await client.close()
