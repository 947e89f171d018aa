"""`omni agent` as an agent uses it: a subprocess reading commands on stdin."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

from omni.devstack.processes import free_port
from omni.runtime import clients
from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.conftest import StartService
from tests.routing.conftest import CHAT, RoutingClient
from tests.routing.replicas import owners, partition_of, second_replica


class Terminal:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.seen: list[str] = []

    async def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((line + "\n").encode())
        await self.process.stdin.drain()

    async def expect(self, prefix: str) -> str:
        assert self.process.stdout is not None
        while True:
            try:
                raw = await asyncio.wait_for(self.process.stdout.readline(), 15)
            except TimeoutError:
                raise AssertionError(f"omni agent did not print {prefix!r} within 15 s; saw {self.seen}") from None
            assert raw, f"omni agent exited before printing {prefix!r}; saw {self.seen}"
            line = raw.decode().rstrip()
            self.seen.append(line)
            if line.startswith(prefix):
                return line


@contextlib.asynccontextmanager
async def agent_terminal(routing_address: str, token: str, *more: str) -> AsyncIterator[Terminal]:
    """`omni agent` for A-1 against routing at `routing_address`; killed on leaving if still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "omni.cli.main", "agent", "--agent", "A-1", "--routing", routing_address,
        "--token", token, *more, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env={"PATH": "/usr/bin:/bin"})
    try:
        yield Terminal(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_agent_logs_in_takes_an_offer_and_wraps_up(routing: RoutingClient, authority: object) -> None:
    await routing.queue("general")
    await routing.agent("A-1", available=False)
    token = routing.token_for(Role.AGENT, "A-1", groups=("general",))[0][1].removeprefix("Bearer ")
    # Nothing listens at these, whatever else runs on this machine: replies and notes fail visibly.
    async with agent_terminal(routing.host.address, token, "--sessions", f"127.0.0.1:{free_port()}",
                              "--tickets", f"127.0.0.1:{free_port()}") as terminal:
        await terminal.expect("STATE offline")
        await terminal.type("state available")
        await terminal.expect("STATE available")
        await routing.enqueue("S-1", channel=CHAT, text="退款还没到账", language="zh", vip=True)
        offer = await terminal.expect("OFFER S-1#1 chat queue=general")
        assert "reasons=vip,wait_target," in offer
        assert "degraded:" in await terminal.expect("  degraded")
        await terminal.type("accept")
        await terminal.expect("ASSIGNED S-1")
        await terminal.type("reply S-1 hello")
        assert "sessions" in await terminal.expect("ERROR")
        await terminal.type("wrap S-1 refund_explained")
        await terminal.expect("WRAPPED S-1")
        await terminal.expect("STATE available")
        work = await routing.work("S-1")
        assert work.state == routing_pb2.WORK_STATE_COMPLETED and work.disposition == "refund_explained"

        await routing.enqueue("S-2", channel=CHAT)
        await terminal.expect("OFFER S-2#1")
        await terminal.type("reject S-2#1 not my topic")
        await terminal.expect("REVOKED S-2#1")
        await terminal.type("state bogus")
        assert "state is one of" in await terminal.expect("ERROR")
        await terminal.type("quit")
        assert await asyncio.wait_for(terminal.process.wait(), 10) == 0


async def test_agent_is_served_by_the_replica_owning_its_partition_and_follows_it_when_it_moves(
        routing: RoutingClient, start_service: StartService, settings: ServiceSettings) -> None:
    await routing.queue("general")
    await routing.queue("tech")
    await routing.agent("A-1", available=False)
    second = await second_replica(start_service, settings, routing.host.address, ("general", "tech"))
    owner = (await owners(settings.nats_url))[partition_of("general")]
    owning, other = (routing.host, second) if routing.host.address == owner else (second, routing.host)
    token = routing.token_for(Role.AGENT, "A-1", groups=("general",))[0][1].removeprefix("Bearer ")
    async with clients.channel(other.address) as chan:
        stub = routing_pb2_grpc.RoutingServiceStub(chan)

        async def enqueue(work_id: str) -> None:
            await stub.EnqueueWork(routing_pb2.EnqueueWorkRequest(work=routing_pb2.WorkItem(
                id=work_id, queue_id="general", channel=CHAT, session_id=work_id)), metadata=routing.admin)

        # The agent's terminal is pointed at the replica that does not serve them.
        async with agent_terminal(other.address, token) as terminal:
            await terminal.expect("STATE offline")
            await terminal.type("state available")
            await terminal.expect("STATE available")
            await enqueue("S-1")
            await terminal.expect("OFFER S-1#1 chat queue=general")
            await terminal.type("accept")
            await terminal.expect("ASSIGNED S-1")

            # The owner shuts down (a rolling upgrade): the other replica takes the partition and
            # the terminal follows it there, the agent still holding their work.
            await owning.stop()
            await terminal.expect("ASSIGNED S-1")
            await terminal.type("wrap S-1 done")
            await terminal.expect("WRAPPED S-1")
            await enqueue("S-2")
            await terminal.expect("OFFER S-2#1")
            assert not any(line.startswith("ERROR stream closed") for line in terminal.seen)
            await terminal.type("quit")
            assert await asyncio.wait_for(terminal.process.wait(), 10) == 0
