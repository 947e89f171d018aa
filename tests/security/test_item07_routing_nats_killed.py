"""Issue 13, item 7 under a crash: NATS killed with SIGKILL in the middle of a stream of contacts
that routing is queueing. Routing writes each decision's events with the decision (its outbox)
and publishes them once the bus takes them again, so every contact it accepted has its
`work_queued` on the stream afterwards, once."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import grpc
import pytest

from omni.devstack.processes import ManagedProcess, wait_for_port
from omni.runtime.config import ServiceSettings
from tests.routing.conftest import CHAT, RoutingClient
from tests.routing.test_event_safety import stored_events
from tests.support.polling import eventually

CONTACTS = 60


@pytest.mark.slow
@pytest.mark.soak
async def test_every_contact_routing_accepted_has_its_event_after_nats_was_killed_mid_stream(
        routing: RoutingClient, settings: ServiceSettings, nats: ManagedProcess) -> None:
    await routing.queue("general")
    accepted: list[str] = []

    async def contacts() -> None:
        for n in range(CONTACTS):
            work_id = f"S-{n}"
            while True:  # as a client does: again after UNAVAILABLE, with the same id
                try:
                    await routing.enqueue(work_id, channel=CHAT)
                    break
                except grpc.aio.AioRpcError as exc:
                    if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                        raise
                    await asyncio.sleep(0.2)
            accepted.append(work_id)
            await asyncio.sleep(0.05)

    stream = asyncio.create_task(contacts())
    try:
        await eventually(lambda: _count(accepted), lambda n: n >= CONTACTS // 3, what="a third of the contacts in")
        assert nats.process is not None
        nats.process.send_signal(signal.SIGKILL)
        nats.process.wait()
        await eventually(lambda: _count(accepted), lambda n: n >= CONTACTS // 2,
                         what="routing taking contacts while NATS is dead", within=30)
        nats.start()
        assert nats.process is not None
        wait_for_port(int(nats.url.rsplit(":", 1)[1]), nats.process, "nats-server")
        await asyncio.wait_for(stream, 120)
    finally:
        stream.cancel()

    found = await eventually(lambda: stored_events(settings.nats_url),
                             lambda seen: {("work_queued", f"work/{w}") for w in accepted} <= set(seen),
                             what="every accepted contact's work_queued on the stream", within=60)
    queued = Counter(subject for kind, subject in found if kind == "work_queued")
    assert sorted(queued) == sorted(f"work/{w}" for w in accepted)
    assert set(queued.values()) == {1}


async def _count(items: list[str]) -> int:
    return len(items)
