"""Routing across replicas: decisions per second with 1, 2 and 3 replicas, and the added latency
of a call that reaches a replica not owning its partition (redirected to the owner).

Each run starts nats-server, the MongoDB-protocol server and N routing processes on this
machine, with 6 partitions (6 groups, 3 queues and 8 agents each) and 1,200 calls waiting.
Every agent's desk (a gRPC AgentSession) accepts each offer at once and wraps the call up at
once, so routing decides as fast as it can: one decision = offer + accept + wrap-up, each a
stored change. Decisions per second are counted over the run's `--seconds` after a warm-up.
The baseline is the same run with one replica.

    .venv/bin/python bench/routing_scale.py [--seconds 10] [--replicas 1,2,3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import nats

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import ManagedProcess, free_port, mongo_server, nats_server, wait_for_port
from omni.devstack.stack import stop_on_signals
from omni.routing.leases import BUCKET, key_part
from omni.runtime import clients
from omni.runtime.auth import Role
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc

SECRET = "bench-secret-for-routing-scale-0123456789"
GROUPS = [f"g{i}" for i in range(6)]
QUEUES_PER_GROUP, AGENTS_PER_GROUP, WAITING = 3, 8, 1200


class Stack:
    def __init__(self, replicas: int, workdir: Path) -> None:
        self.nats = nats_server(free_port(), workdir / "nats")
        self.mongo = mongo_server(free_port(), workdir / "mongo")
        issuer = LocalIssuer.create(workdir / "tokens")
        env = {**os.environ, "OMNI_NATS_URL": self.nats.url, "OMNI_MONGO_URL": self.mongo.url,
               "OMNI_MONGO_DATABASE": "bench", **issuer.trust_env(), "OMNI_REPLICA_SECRET": SECRET,
               "OMNI_LOG_LEVEL": "WARNING",
               "OMNI_TICKETS_ADDR": "", "OMNI_KNOWLEDGE_ADDR": "", "OMNI_SHUTDOWN_DELAY": "0"}
        self.addresses: list[str] = []
        self.replicas: list[ManagedProcess] = []
        for i in range(replicas):
            port = free_port()
            self.addresses.append(f"127.0.0.1:{port}")
            process = ManagedProcess(f"routing-{i}", [sys.executable, "-m", "omni.routing"],
                                     env={**env, "OMNI_GRPC_LISTEN": f"127.0.0.1:{port}"},
                                     log_path=workdir / f"routing-{i}.log").start()
            assert process.process is not None
            wait_for_port(port, process.process, process.name)
            self.replicas.append(process)
        self.token = issuer.mint("bench", Role.ADMIN)
        self.metadata = (("authorization", f"Bearer {self.token}"),)

    def stop(self) -> None:
        for process in (*self.replicas, self.nats, self.mongo):
            process.stop(timeout=5)

    async def owners(self) -> dict[str, str]:
        nc = await nats.connect(self.nats.url)
        try:
            kv = await nc.jetstream().key_value(BUCKET)
            found = {}
            for key in await kv.keys():
                if key.startswith("owner."):
                    found[key.removeprefix("owner.")] = json.loads((await kv.get(key)).value or b"{}")["address"]
            return found
        finally:
            await nc.close()


async def desk(channel: clients.FollowingChannel, metadata: tuple[tuple[str, str], ...], agent_id: str,
               decisions: list[float]) -> None:
    """Accept every offer and wrap it up at once; reconnect where routing says."""
    address = channel.home
    while True:
        commands: asyncio.Queue[routing_pb2.AgentCommand] = asyncio.Queue()
        commands.put_nowait(routing_pb2.AgentCommand(login=routing_pb2.AgentLogin(agent_id=agent_id)))
        commands.put_nowait(routing_pb2.AgentCommand(set_state=routing_pb2.SetAgentStateRequest(
            agent_id=agent_id, status=routing_pb2.AGENT_STATUS_AVAILABLE)))

        async def outgoing(queue: asyncio.Queue[routing_pb2.AgentCommand] = commands) -> \
                AsyncIterator[routing_pb2.AgentCommand]:
            while True:
                yield await queue.get()

        call = routing_pb2_grpc.RoutingServiceStub(channel.to(address)).AgentSession(outgoing(), metadata=metadata)
        try:
            async for event in call:
                if event.WhichOneof("event") == "offer":
                    commands.put_nowait(routing_pb2.AgentCommand(accept=routing_pb2.AcceptOffer(offer_id=event.offer.id)))
                elif event.WhichOneof("event") == "assigned":
                    commands.put_nowait(routing_pb2.AgentCommand(wrap_up=routing_pb2.WrapUp(work_id=event.assigned.id)))
                    decisions.append(time.monotonic())
        except grpc.aio.AioRpcError as exc:
            address = clients.owner_of(exc) or address
            await asyncio.sleep(0.05)
        finally:
            call.cancel()


async def run(replicas: int, seconds: float) -> tuple[float, float, float]:
    """Decisions per second; mean latency (ms) of GetQueue at its owner and through another replica."""
    with tempfile.TemporaryDirectory() as workdir:
        stack = Stack(replicas, Path(workdir))
        channel = clients.channel(stack.addresses[0], stack.token)
        assert isinstance(channel, clients.FollowingChannel)
        tasks: list[asyncio.Task[None]] = []
        try:
            stub = routing_pb2_grpc.RoutingServiceStub(channel)
            for group in GROUPS:
                for q in range(QUEUES_PER_GROUP):
                    await stub.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
                        id=f"{group}-q{q}", groups=[group])), metadata=stack.metadata)
                for a in range(AGENTS_PER_GROUP):
                    await stub.CreateAgent(routing_pb2.CreateAgentRequest(agent=routing_pb2.Agent(
                        id=f"{group}-a{a}", groups=[group])), metadata=stack.metadata)
            for n in range(WAITING):
                queue = f"{GROUPS[n % len(GROUPS)]}-q{n // len(GROUPS) % QUEUES_PER_GROUP}"
                await stub.EnqueueWork(routing_pb2.EnqueueWorkRequest(work=routing_pb2.WorkItem(
                    id=f"W-{n}", queue_id=queue, channel=common_pb2.CHANNEL_PHONE, session_id=f"W-{n}")),
                    metadata=stack.metadata)
            decisions: list[float] = []
            tasks = [asyncio.create_task(desk(channel, stack.metadata, f"{g}-a{a}", decisions))
                     for g in GROUPS for a in range(AGENTS_PER_GROUP)]
            await asyncio.sleep(2.0)  # warm-up: desks connected and routed to their owners
            started, counted = time.monotonic(), len(decisions)
            await asyncio.sleep(seconds)
            rate = (len(decisions) - counted) / (time.monotonic() - started)
            for task in tasks:
                task.cancel()
            owners = await stack.owners()
            owner = owners[key_part("g:g0")]
            other = next((a for a in stack.addresses if a != owner), owner)
            direct, redirected = await latency(stack, owner), await latency(stack, other)
            return rate, direct, redirected
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                await channel.close()
            stack.stop()


async def latency(stack: Stack, home: str, calls: int = 200) -> float:
    channel = clients.channel(home, stack.token)
    stub = routing_pb2_grpc.RoutingServiceStub(channel)
    try:
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            await stub.GetQueue(routing_pb2.GetQueueRequest(id="g0-q0"), metadata=stack.metadata)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)
    finally:
        await channel.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--replicas", default="1,2,3")
    args = parser.parse_args()
    stop_on_signals()  # a killed run stops the servers it started
    print(f"machine: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs (routing replicas, nats-server and the MongoDB-protocol server share them)")
    print(f"{len(GROUPS)} partitions, {len(GROUPS) * QUEUES_PER_GROUP} queues, {len(GROUPS) * AGENTS_PER_GROUP} "
          f"agents, {WAITING} calls waiting; {args.seconds:g} s measured per run")
    baseline = None
    for replicas in (int(r) for r in args.replicas.split(",")):
        rate, direct, redirected = await run(replicas, args.seconds)
        baseline = baseline or rate
        line = f"{replicas} replica(s): {rate:7.1f} decisions/s ({rate / baseline:.2f}x the first run)"
        if replicas > 1:
            line += (f"; GetQueue p50 {direct:.2f} ms at the owner, {redirected:.2f} ms through another replica "
                     f"(+{redirected - direct:.2f} ms for the redirect)")
        print(line, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
