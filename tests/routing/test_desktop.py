"""The agent desktop stream: offers with the screen pop, accept / wrap up, losing the stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from omni.routing.domain.engine import RoutingEngine
from omni.runtime import clients
from omni.runtime.auth import Role
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.routing.conftest import CHAT, RoutingClient
from tests.support.polling import eventually


class Desk:
    """A raw AgentSession stream, as a desktop would hold it."""

    def __init__(self, routing: RoutingClient, agent_id: str,
                 stub: routing_pb2_grpc.RoutingServiceStub | None = None) -> None:
        """With `stub`, the stub's channel carries the token (as `omni.runtime.clients.channel` does)."""
        self.commands: asyncio.Queue[routing_pb2.AgentCommand | None] = asyncio.Queue()
        self.commands.put_nowait(routing_pb2.AgentCommand(login=routing_pb2.AgentLogin(agent_id=agent_id)))
        if stub is None:
            token = routing.token_for(Role.AGENT, agent_id, groups=("general",))
            self.call = routing.stub.AgentSession(self._outgoing(), metadata=token)
        else:
            self.call = stub.AgentSession(self._outgoing())

    async def _outgoing(self) -> AsyncIterator[routing_pb2.AgentCommand]:
        while (command := await self.commands.get()) is not None:
            yield command

    async def next(self, kind: str) -> Any:
        while True:
            event = await asyncio.wait_for(self.call.read(), 10)
            assert event is not grpc.aio.EOF, "stream ended"
            if event.WhichOneof("event") == kind:
                return getattr(event, kind)

    def send(self, **command: Any) -> None:
        self.commands.put_nowait(routing_pb2.AgentCommand(**command))


async def test_offer_accept_and_wrap_up_on_the_stream_with_degraded_screen_pop(routing: RoutingClient) -> None:
    await routing.queue("general")
    await routing.agent("A-1", available=False)
    desk = Desk(routing, "A-1")
    assert (await desk.next("agent")).id == "A-1"
    desk.send(set_state=routing_pb2.SetAgentStateRequest(agent_id="A-1", status=routing_pb2.AGENT_STATUS_AVAILABLE))
    await routing.enqueue("S-1", channel=CHAT, text="my invoice is wrong")
    offer = await desk.next("offer")
    assert offer.work.id == "S-1" and offer.HasField("expire_time")
    # No tickets / knowledge configured: the pop says so instead of failing the offer.
    assert any("tickets" in d for d in offer.screen_pop.degraded)
    assert any("knowledge" in d for d in offer.screen_pop.degraded)
    desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    assigned = await desk.next("assigned")
    assert assigned.state == routing_pb2.WORK_STATE_ASSIGNED and assigned.assigned_agent_id == "A-1"
    desk.send(wrap_up=routing_pb2.WrapUp(work_id="S-1", disposition="resolved"))
    agent = await desk.next("agent")
    while agent.status != routing_pb2.AGENT_STATUS_AVAILABLE:
        agent = await desk.next("agent")
    done = await routing.work("S-1")
    assert done.state == routing_pb2.WORK_STATE_COMPLETED and done.disposition == "resolved"
    desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    assert "no longer open" in await desk.next("error")
    desk.commands.put_nowait(None)


async def test_stream_dropped_mid_offer_reoffers_to_another_agent(routing: RoutingClient) -> None:
    await routing.queue("general")
    await routing.agent("A-1")
    desk = Desk(routing, "A-1")
    await desk.next("agent")
    await routing.enqueue("S-1")
    offer = await desk.next("offer")
    assert offer.work.id == "S-1"
    await routing.agent("A-2")
    desk.call.cancel()  # the desktop crashes; grace is 1 s in tests

    work = await eventually(lambda: routing.work("S-1"), lambda w: w.offered_agent_id == "A-2",
                            what="S-1 offered to A-2 once A-1's desktop is gone")
    assert work.state == routing_pb2.WORK_STATE_OFFERED
    agent = await routing.stub.GetAgent(routing_pb2.GetAgentRequest(id="A-1"), metadata=routing.admin)
    assert agent.status == routing_pb2.AGENT_STATUS_OFFLINE and agent.status_reason == "desktop_disconnected"


async def test_unanswered_offer_times_out_on_the_stream(routing: RoutingClient) -> None:
    from tests.routing.conftest import seconds
    await routing.queue("general", policy=routing_pb2.RoutingPolicy(offer_timeout=seconds(0.5),
                                                                      max_missed_offers=1))
    await routing.agent("A-1")
    desk = Desk(routing, "A-1")
    await desk.next("agent")
    await routing.enqueue("S-1")
    offer = await desk.next("offer")
    assert await desk.next("offer_revoked") == offer.id
    agent = await desk.next("agent")
    assert agent.status == routing_pb2.AGENT_STATUS_BREAK and agent.status_reason.startswith("rona")
    desk.commands.put_nowait(None)


async def test_login_as_someone_else_is_refused(routing: RoutingClient) -> None:
    await routing.queue("general")
    await routing.agent("A-1")
    token = routing.token_for(Role.AGENT, "A-2", groups=("general",))

    async def commands() -> AsyncIterator[routing_pb2.AgentCommand]:
        yield routing_pb2.AgentCommand(login=routing_pb2.AgentLogin(agent_id="A-1"))
        await asyncio.Event().wait()  # the desktop stays connected until routing answers

    call = routing.stub.AgentSession(commands(), metadata=token)
    try:
        await call.read()
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    else:
        raise AssertionError("login as another agent was accepted")


async def test_desktop_on_a_token_carrying_channel_logs_in_and_takes_work(routing: RoutingClient) -> None:
    """The way the tour and every gRPC-backed client connect: the channel adds the bearer token.
    (It used to reach only unary calls, so AgentSession was refused as unauthenticated.)"""
    await routing.queue("general")
    await routing.agent("A-1")
    token = routing.token_for(Role.AGENT, "A-1", groups=("general",))[0][1].removeprefix("Bearer ")
    async with clients.channel(routing.host.address, token) as channel:
        desk = Desk(routing, "A-1", routing_pb2_grpc.RoutingServiceStub(channel))
        assert (await desk.next("agent")).id == "A-1"
        await routing.enqueue("S-1", channel=CHAT)
        offer = await desk.next("offer")
        desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
        assert (await desk.next("assigned")).assigned_agent_id == "A-1"
        desk.commands.put_nowait(None)


async def test_a_command_failing_inside_routing_is_reported_and_the_stream_stays_open(
        routing: RoutingClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    await routing.queue("general")
    await routing.agent("A-1")
    desk = Desk(routing, "A-1")
    await desk.next("agent")
    await routing.enqueue("S-1", channel=CHAT)
    offer = await desk.next("offer")

    def broken(*args: Any) -> None:
        raise RuntimeError("storage hiccup")

    with monkeypatch.context() as patch:
        patch.setattr(RoutingEngine, "accept", broken)
        desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
        error = await desk.next("error")
    assert "accept failed inside routing" in error
    assert any("the accept command failed" in r.getMessage() and r.exc_info for r in caplog.records)
    # The stream is still open and the offer still stands: accepting again works.
    desk.send(heartbeat=routing_pb2.Heartbeat())
    assert (await desk.next("agent")).id == "A-1"
    desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    assert (await desk.next("assigned")).id == "S-1"
    desk.commands.put_nowait(None)
