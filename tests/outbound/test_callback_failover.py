"""Callback due times across routing replicas, as real processes: the owner of the callbacks'
partition is killed with -9 before they fall due and again while their redials are pending; the
next owner fires each attempt once, never before it is due."""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from omni.devstack.processes import ManagedProcess
from omnichannel.routing.v1 import routing_pb2
from omnichannel.sessions.v1 import events_pb2 as session_events
from omnichannel.sessions.v1 import sessions_pb2
from tests.routing.cluster import Cluster, Desk, Seen, partition_key
from tests.support.polling import eventually

pytestmark = [pytest.mark.slow, pytest.mark.soak]
CALLBACKS = 6
DUE_IN = 3.0
REDIAL_AFTER = 2.0


class Adapter:
    """The PBX adapter's side, as routing sees it: every call of an accepted callback goes
    unanswered (sessions' outbound_call_finished), attempt by attempt."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.reported: set[str] = set()
        self.attempts: collections.Counter[str] = collections.Counter()

    async def answer_new_assignments(self) -> None:
        for event in unique(self.cluster.of("work_assigned")):
            if event.event_id in self.reported:
                continue
            self.reported.add(event.event_id)
            self.attempts[event.work_id] += 1
            attempt = self.attempts[event.work_id]
            finished = session_events.OutboundCallFinished(
                call_id=f"{event.work_id}-cb{attempt}", session_id=event.work_id, attempt=attempt,
                result=sessions_pb2.OUTBOUND_CALL_RESULT_NO_ANSWER, agent_id=event.agent_id, queue="callbacks")
            assert self.cluster._bus is not None
            await self.cluster._bus.publish("sessions", "outbound_call_finished", f"sessions/{event.work_id}",
                                            finished, event_id=f"{finished.call_id}:finished")


def unique(events: list[Seen]) -> list[Seen]:
    """The events once each (a relay may publish one again under the same id)."""
    return list({e.event_id: e for e in events}.values())


async def kill_owner(cluster: Cluster, *, restart: bool) -> None:
    owners = await eventually(cluster.owners, lambda found: partition_key("g0") in found, what="the partition owned")
    victim = cluster.replica_at(owners[partition_key("g0")])
    victim.kill()
    await eventually(cluster.owners, lambda found: found.get(partition_key("g0"), victim.address) != victim.address,
                     what="the other replica owning the partition", within=30)
    if restart:
        victim.start()


async def test_kill_9_of_the_owner_fires_every_callback_attempt_once_when_due(
        nats: ManagedProcess, mongo: ManagedProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_CALLBACK_RETRY_SECONDS", str(REDIAL_AFTER))
    monkeypatch.setenv("OMNI_CALLBACK_MAX_ATTEMPTS", "2")
    cluster = Cluster(nats.url, mongo.url, f"callbacks_{tmp_path.name[-20:]}", tmp_path, 2)
    desks: list[Desk] = []
    try:
        await cluster.start()
        stub = cluster.stub
        await stub.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(id="callbacks", groups=["g0"])),
                               metadata=cluster.admin)
        for n in range(3):
            await stub.CreateAgent(routing_pb2.CreateAgentRequest(agent=routing_pb2.Agent(id=f"A-{n}", groups=["g0"])),
                                   metadata=cluster.admin)
            # The agents never wrap up: each attempt ends with its call's result, not a wrap-up.
            desks.append(Desk(cluster, f"A-{n}", handle=600))
        for desk in desks:
            desk.start()
        due = time.time() + DUE_IN
        when = Timestamp()
        when.FromNanoseconds(int(due * 1e9))
        assert cluster._bus is not None
        for n in range(CALLBACKS):
            session_id = f"S-cb-{n}"
            await cluster._bus.publish("sessions", "callback_requested", f"sessions/{session_id}",
                                       session_events.CallbackRequested(session_id=session_id, number="+8613800138000",
                                                                        queue="callbacks", not_before=when,
                                                                        number_verified=True),
                                       event_id=f"{session_id}:callback:1")
        await eventually(lambda: asyncio.sleep(0, len(unique(cluster.of("callback_scheduled")))),
                         lambda n: n >= CALLBACKS, what="every callback booked", within=30)
        # Killed before any falls due: the next owner loads them and fires them when due.
        await kill_owner(cluster, restart=True)

        adapter = Adapter(cluster)

        async def attempts_made() -> int:
            await adapter.answer_new_assignments()
            return sum(adapter.attempts.values())

        await eventually(attempts_made, lambda n: n >= CALLBACKS, what="every first call made", within=60,
                         interval=0.1)
        # Killed again while redials (booked by the new owner) are pending.
        await kill_owner(cluster, restart=False)
        await eventually(attempts_made, lambda n: n >= 2 * CALLBACKS, what="every redial made", within=60,
                         interval=0.1)
        await eventually(lambda: asyncio.sleep(0, {e.work_id for e in unique(cluster.of("work_completed"))}),
                         lambda done: len(done) == CALLBACKS, what="every callback given up", within=30)
    finally:
        for desk in desks:
            await desk.stop()
        await cluster.close()

    assigned = collections.Counter(e.work_id for e in unique(cluster.of("work_assigned")))
    assert assigned == {f"S-cb-{n}": 2 for n in range(CALLBACKS)}
    completed = collections.Counter(e.work_id for e in unique(cluster.of("work_completed")))
    assert completed == {f"S-cb-{n}": 1 for n in range(CALLBACKS)}
    # Never before due: the first calls after the booked time, each redial after its delay.
    first_offer = min(e.at for e in cluster.of("work_offered"))
    booked_at = min(e.at for e in cluster.of("callback_scheduled"))
    assert first_offer - booked_at >= DUE_IN - 1.0
