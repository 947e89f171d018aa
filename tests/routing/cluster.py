"""Several routing replicas as real processes on one NATS and MongoDB, agents at desks that
reconnect where routing sends them, and contacts arriving as sessions' events.

The desks are what an agent's desktop does: log in, go available, accept every offer, wrap the
work up after a moment, and when the stream ends (the partition moved, the replica died) connect
again with back-off, to the replica the last answer named (`omni-owner`) or to any other.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import nats

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import ManagedProcess, free_port, wait_for_port
from omni.routing.leases import BUCKET, key_part
from omni.runtime import clients
from omni.runtime.auth import Role
from omni.runtime.events import EventBus
from omnichannel.common.v1 import common_pb2
from omnichannel.common.v1.event_pb2 import EventEnvelope
from omnichannel.routing.v1 import events_pb2 as routing_events
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.sessions.v1 import events_pb2 as session_events
from tests.support.settings import TEST_REPLICA_SECRET

LEASE_TTL = 2.0


class Replica:
    def __init__(self, index: int, env: dict[str, str], log: Path) -> None:
        self.index = index
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process = ManagedProcess(f"routing-{index}", [sys.executable, "-m", "omni.routing"],
                                      env={**env, "OMNI_GRPC_LISTEN": self.address}, log_path=log)

    def start(self) -> None:
        self.process.start()
        assert self.process.process is not None
        wait_for_port(self.port, self.process.process, self.process.name)

    def signal(self, sig: signal.Signals) -> None:
        assert self.process.process is not None
        os.kill(self.process.process.pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        assert self.process.process is not None
        self.process.process.wait()


@dataclasses.dataclass
class Seen:
    """A routing event as the observer received it."""

    at: float
    kind: str
    work_id: str
    queue_id: str
    agent_id: str
    partition: str
    epoch: int
    event_id: str


class Cluster:
    def __init__(self, nats_url: str, mongo_url: str, database: str, logs: Path, replicas: int) -> None:
        self.nats_url = nats_url
        issuer = LocalIssuer.create(logs / "tokens")
        env = {**os.environ, "OMNI_NATS_URL": nats_url, "OMNI_MONGO_URL": mongo_url, "OMNI_MONGO_DATABASE": database,
               **issuer.trust_env(), "OMNI_REPLICA_SECRET": TEST_REPLICA_SECRET,
               "OMNI_LEASE_TTL": str(LEASE_TTL), "OMNI_TIMER_RESOLUTION": "0.05",
               "OMNI_DESKTOP_GRACE": "10", "OMNI_SHUTDOWN_DELAY": "0.1", "OMNI_SHUTDOWN_GRACE": "3",
               "OMNI_TICKETS_ADDR": "", "OMNI_KNOWLEDGE_ADDR": "",
               "OMNI_LOG_LEVEL": os.environ.get("TEST_ROUTING_LOG_LEVEL", "INFO")}
        self.replicas = [Replica(i, env, logs / f"routing-{i}.log") for i in range(replicas)]
        self.token = issuer.mint("admin", Role.ADMIN)
        self.admin = (("authorization", f"Bearer {self.token}"),)
        self.events: list[Seen] = []
        # Stopped first when the cluster closes, also when a test fails while they still work.
        self.desks: list[Desk] = []
        self._nc: Any = None
        self._bus: EventBus | None = None
        self.channel: clients.FollowingChannel | None = None

    async def start(self) -> None:
        for replica in self.replicas:
            replica.start()
        self._nc = await nats.connect(self.nats_url, name="test-cluster")
        self._bus = EventBus(self._nc, "sessions")

        async def received(msg: Any) -> None:
            envelope = EventEnvelope.FromString(msg.data)
            if envelope.type == "agent_state_changed":
                return
            event = routing_events.WorkEvent()
            envelope.payload.Unpack(event)
            self.events.append(Seen(time.monotonic(), envelope.type, event.work.id, event.work.queue_id,
                                    event.agent_id, event.partition, event.epoch, envelope.id))

        await self._nc.subscribe("omnichannel.routing.>", cb=received)
        await self._nc.flush()
        channel = clients.channel(self.replicas[0].address, self.token)
        assert isinstance(channel, clients.FollowingChannel)
        self.channel = channel

    async def close(self) -> None:
        for desk in self.desks:
            await desk.stop()
        if self.channel is not None:
            await self.channel.close()
        if self._nc is not None:
            await self._nc.drain()
        for replica in self.replicas:
            replica.process.stop(timeout=5)

    @property
    def stub(self) -> routing_pb2_grpc.RoutingServiceStub:
        assert self.channel is not None
        return routing_pb2_grpc.RoutingServiceStub(self.channel)

    async def owners(self) -> dict[str, str]:
        """Partition -> address of the replica holding its lease now."""
        kv = await self._nc.jetstream().key_value(BUCKET)
        found: dict[str, str] = {}
        with contextlib.suppress(nats.js.errors.NoKeysError):
            for key in await kv.keys():
                if key.startswith("owner."):
                    with contextlib.suppress(nats.js.errors.KeyNotFoundError):
                        entry = await kv.get(key)
                        found[key.removeprefix("owner.")] = json.loads(entry.value)["address"]
        return found

    def replica_at(self, address: str) -> Replica:
        return next(r for r in self.replicas if r.address == address)

    async def contact(self, session_id: str, queue_id: str) -> None:
        """What sessions publishes when a call comes in for a queue."""
        assert self._bus is not None
        interaction = common_pb2.Interaction(id=f"i-{session_id}", session_id=session_id, queue=queue_id,
                                             channel=common_pb2.CHANNEL_PHONE, direction=common_pb2.DIRECTION_INBOUND)
        await self._bus.publish("sessions", "interaction_received", f"sessions/{session_id}",
                                session_events.InteractionReceived(interaction=interaction),
                                event_id=f"i-{session_id}:received")

    def of(self, kind: str) -> list[Seen]:
        return [e for e in self.events if e.kind == kind]

    def complaints(self, limit: int = 40) -> list[str]:
        """The last warnings and errors the replicas logged, for a failing test to show (not the
        access log: clients sent to the owner by UNAVAILABLE are routine here)."""
        lines: list[str] = []
        for replica in self.replicas:
            log = replica.process.log_path
            if log is not None and log.exists():
                lines += [f"routing-{replica.index} {line}" for line in log.read_text(errors="replace").splitlines()
                          if (" WARNING " in line or " ERROR " in line) and " omni.rpc: " not in line]
        return lines[-limit:]


def partition_key(group: str) -> str:
    """The lease key part of the partition named after `group` (its smallest group)."""
    return key_part(f"g:{group}")


class Desk:
    """One agent's desktop: accepts every offer, wraps up after `handle` seconds, reconnects."""

    def __init__(self, cluster: Cluster, agent_id: str, handle: float) -> None:
        self.cluster = cluster
        self.agent_id = agent_id
        self.handle = handle
        self.offers: collections.Counter[str] = collections.Counter()
        self.accepted: list[str] = []
        self.connections = 0
        self._task: asyncio.Task[None] | None = None
        self._address = cluster.replicas[0].address

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"desk {self.agent_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = 0.05
        others = [r.address for r in self.cluster.replicas]
        while True:
            try:
                async for _ in self._session():
                    backoff = 0.05
            except grpc.aio.AioRpcError as exc:
                owner = clients.owner_of(exc)
                if owner:
                    self._address = owner
                    continue
                # Dead replica or no owner yet: try another one after a while.
                self._address = others[(others.index(self._address) + 1) % len(others)]
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    async def _session(self) -> AsyncIterator[None]:
        assert self.cluster.channel is not None
        commands: asyncio.Queue[routing_pb2.AgentCommand] = asyncio.Queue()
        commands.put_nowait(routing_pb2.AgentCommand(login=routing_pb2.AgentLogin(agent_id=self.agent_id)))
        commands.put_nowait(routing_pb2.AgentCommand(set_state=routing_pb2.SetAgentStateRequest(
            agent_id=self.agent_id, status=routing_pb2.AGENT_STATUS_AVAILABLE)))

        async def outgoing() -> AsyncIterator[routing_pb2.AgentCommand]:
            while True:
                yield await commands.get()

        # Work shown as assigned on this connection (again after a reconnect) is wrapped up on it.
        wrapping: dict[str, asyncio.Task[None]] = {}

        async def wrap_up(work_id: str) -> None:
            await asyncio.sleep(self.handle)
            commands.put_nowait(routing_pb2.AgentCommand(wrap_up=routing_pb2.WrapUp(work_id=work_id,
                                                                                     disposition="resolved")))

        stub = routing_pb2_grpc.RoutingServiceStub(self.cluster.channel.to(self._address))
        call = stub.AgentSession(outgoing(), metadata=self.cluster.admin)
        self.connections += 1
        try:
            async for event in call:
                kind = event.WhichOneof("event")
                if kind == "offer":
                    self.offers[event.offer.work.id] += 1
                    commands.put_nowait(routing_pb2.AgentCommand(accept=routing_pb2.AcceptOffer(offer_id=event.offer.id)))
                elif kind == "assigned":
                    if event.assigned.id not in self.accepted:
                        self.accepted.append(event.assigned.id)
                    if event.assigned.id not in wrapping:
                        wrapping[event.assigned.id] = asyncio.create_task(wrap_up(event.assigned.id))
                yield None
        finally:
            call.cancel()
            for task in wrapping.values():
                task.cancel()
