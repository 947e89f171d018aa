"""How long does the agent desk take to show an offer and a customer's message, with 50 chats at
once, next to the same paths without the web gateway?

Starts the local stack as `make run` does (nats-server, SecantusDB, the four services and the web
gateway, each its own process; no demo data, no bot), creates the chat queue and one agent per
concurrent chat (chat capacity 1, so each chat goes to a different agent), and measures two paths
in the same run, over the gateway and without it:

- offer: routing's offer (the moment routing decided it: the offer's expiry minus the queue's
  offer timeout, on this machine's clock) → the offer arriving at the agent's desk. It includes
  routing fetching the screen pop from tickets and knowledge, in both measurements;
- view: the assignment arriving at the desk → the agent's live view of the session open (its
  snapshot in). Sessions lets an agent outside the queue's groups see the session once it heard
  of the offer from routing's events; until then both clients ask again (the gateway while
  routing says the work is the agent's), so this shows how far sessions is behind routing;
- message: a customer's message sent on the chat socket → the message arriving on the agent's
  live view of the session (each chat sends its next message once the last one arrived, after a
  short pause; all chats at once).

`gateway`: customers on the gateway's widget socket (/widget/chat), agents signed in at the
gateway with its desk socket (/api/desk) and session view (/api/sessions/<id>/watch): the desk's
own calls, made by WebSocket clients, not Chromium pages (50 browsers do not fit on 2 cores next
to the stack; the desk's rendering is not in the figure). `grpc`, the baseline: customers on the
sessions service's WebSocket chat endpoint, agents on routing's AgentSession and sessions'
WatchSession over gRPC, as `omni agent` does: the same services without the gateway.

    .venv/bin/python bench/web_latency.py [--chats 50] [--messages 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import random
import statistics
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Protocol

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from websockets.asyncio.client import ClientConnection, connect

from omni.devstack.stack import DevStack, StackInfo, stop_on_signals
from omni.runtime.auth import Role, bearer
from omni.web.usecases.live import ASSIGNMENT_RETRY_SECONDS
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc

QUEUE = "chat"  # where the sessions service puts web chats
GROUP = "general"
OFFER_TIMEOUT = 120
# A step that takes longer than this means the stack is stuck, not slow.
STEP_SECONDS = 90.0
Frame = dict[str, Any]


def offered_at(expire_time: str) -> float:
    """When routing made an offer, from its expiry (RFC 3339, as the gateway's JSON carries it)."""
    stamp = Timestamp()
    stamp.FromJsonString(expire_time)
    return stamp.ToNanoseconds() / 1e9 - OFFER_TIMEOUT


def percentiles(samples: list[float]) -> str:
    if len(samples) < 2:
        return f"n={len(samples)}"
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {cuts[49] * 1000:7.1f} ms   p99 {cuts[98] * 1000:7.1f} ms   (n={len(samples)})"


@dataclasses.dataclass
class Figures:
    offers: list[float] = dataclasses.field(default_factory=list)
    views: list[float] = dataclasses.field(default_factory=list)
    messages: list[float] = dataclasses.field(default_factory=list)


class Desk(Protocol):
    """An agent's desk as the benchmark drives it: over the gateway, or over gRPC."""

    agent_id: str

    async def available(self) -> None:
        """Set available and wait until routing says so."""

    async def offer(self) -> tuple[float, float, str]:
        """The next offer: (routing's offer time, when it arrived, offer id)."""

    async def accept(self, offer_id: str) -> tuple[float, str, str]:
        """(when the assignment arrived, work id, session id)."""

    async def watch(self, work_id: str, session_id: str) -> float:
        """Open the session's live view; when its snapshot arrived."""

    async def message(self) -> tuple[float, str]:
        """The next customer message on the live view: (when it arrived, its text)."""

    async def wrap_up(self, work_id: str) -> None: ...

    async def away(self) -> None:
        """Set offline and wait until routing says so: the other path's round gets no offer here."""

    async def close(self) -> None: ...


class Events:
    """What a desk's reader task received: frames filed by kind with their arrival time, for the
    benchmark to await in order, and the agent's latest status."""

    def __init__(self) -> None:
        self.queues: dict[str, asyncio.Queue[tuple[float, Any]]] = {}
        self.status = ""
        self._moved = asyncio.Event()

    def put(self, kind: str, value: Any) -> None:
        self.queues.setdefault(kind, asyncio.Queue()).put_nowait((time.time(), value))

    async def get(self, kind: str) -> tuple[float, Any]:
        async with asyncio.timeout(STEP_SECONDS):
            return await self.queues.setdefault(kind, asyncio.Queue()).get()

    def agent(self, status: str) -> None:
        self.status = status
        self._moved.set()

    async def status_is(self, wanted: str) -> None:
        async with asyncio.timeout(STEP_SECONDS):
            while self.status != wanted:
                self._moved.clear()
                await self._moved.wait()


# ----- over the gateway ----------------------------------------------------------------------

class GatewayDesk:
    def __init__(self, base: str, agent_id: str, token: str) -> None:
        self.base = base
        self.agent_id = agent_id
        self._token = token
        self._events = Events()
        self._tasks: list[asyncio.Task[None]] = []
        self._watch: ClientConnection | None = None

    async def start(self) -> GatewayDesk:
        request = urllib.request.Request(f"{self.base}/api/signin", data=json.dumps({"token": self._token}).encode(),
                                         method="POST", headers={"content-type": "application/json",
                                                                 "origin": self.base})

        def sign_in() -> tuple[str, str]:
            with urllib.request.urlopen(request, timeout=30) as answer:
                jar: SimpleCookie = SimpleCookie(answer.headers["set-cookie"])
                return jar["omni_desk"].value, json.loads(answer.read())["csrf"]

        cookie, self._csrf = await asyncio.to_thread(sign_in)
        self._headers = {"cookie": f"omni_desk={cookie}"}
        self._desk = await self._socket(f"/api/desk?csrf={self._csrf}")
        self._tasks.append(asyncio.create_task(self._read_desk()))
        return self

    async def _socket(self, path: str) -> ClientConnection:
        return await connect(self.base.replace("http", "ws", 1) + path, origin=self.base,  # type: ignore[arg-type]
                             additional_headers=self._headers, max_size=2**22)

    async def _read_desk(self) -> None:
        async for raw in self._desk:
            frame = json.loads(raw)
            if "agent" in frame:
                self._events.agent(frame["agent"]["status"])
            elif "offer" in frame:
                self._events.put("offer", (offered_at(frame["offer"]["expire_time"]), frame["offer"]["id"]))
            elif "assigned" in frame:
                self._events.put("assigned", (frame["assigned"]["id"], frame["assigned"]["session_id"]))

    async def available(self) -> None:
        await self._desk.send(json.dumps({"set_state": {"status": "available", "reason": ""}}))
        await self._events.status_is("AGENT_STATUS_AVAILABLE")

    async def offer(self) -> tuple[float, float, str]:
        seen, (made, offer_id) = await self._events.get("offer")
        return made, seen, offer_id

    async def accept(self, offer_id: str) -> tuple[float, str, str]:
        await self._desk.send(json.dumps({"accept": {"offer_id": offer_id}}))
        seen, (work_id, session_id) = await self._events.get("assigned")
        return seen, work_id, session_id

    async def watch(self, work_id: str, session_id: str) -> float:
        self._watch = await self._socket(f"/api/sessions/{session_id}/watch?work={work_id}&csrf={self._csrf}")
        self._tasks.append(asyncio.create_task(self._read_watch(self._watch)))
        seen, refused = await self._events.get("snapshot")
        if refused is not None:
            raise RuntimeError(f"the gateway refused {self.agent_id} the view of session {session_id}: {refused}")
        return seen

    async def _read_watch(self, watch: ClientConnection) -> None:
        with contextlib.suppress(Exception):  # closed at wrap-up
            async for raw in watch:
                frame = json.loads(raw)
                if "error" in frame:
                    self._events.put("snapshot", frame["error"])
                update = frame.get("update")
                if update is None:
                    continue  # suggestions
                if update["kind"] == "snapshot":
                    self._events.put("snapshot", None)
                elif update["kind"] == "message" and update["message"]["direction"] == "DIRECTION_INBOUND":
                    self._events.put("message", update["message"]["text"])

    async def message(self) -> tuple[float, str]:
        return await self._events.get("message")

    async def wrap_up(self, work_id: str) -> None:
        await self._desk.send(json.dumps({"wrap_up": {"work_id": work_id, "disposition": "resolved", "note": ""}}))
        if self._watch is not None:
            await self._watch.close()

    async def away(self) -> None:
        await self._desk.send(json.dumps({"set_state": {"status": "offline", "reason": ""}}))
        await self._events.status_is("AGENT_STATUS_OFFLINE")

    async def close(self) -> None:
        await self._desk.close()
        for task in self._tasks:
            task.cancel()


# ----- over gRPC, without the gateway --------------------------------------------------------

class GrpcDesk:
    def __init__(self, info: StackInfo, agent_id: str, token: str) -> None:
        self.agent_id = agent_id
        self._metadata = bearer(token)
        self._routing_channel = grpc.aio.insecure_channel(info.addresses["routing"])
        self._sessions_channel = grpc.aio.insecure_channel(info.addresses["sessions"])
        self._commands: asyncio.Queue[routing_pb2.AgentCommand] = asyncio.Queue()
        self._events = Events()
        self._tasks: list[asyncio.Task[None]] = []
        self._watch: grpc.aio.UnaryStreamCall[Any, Any] | None = None

    async def start(self) -> GrpcDesk:
        await self._commands.put(routing_pb2.AgentCommand(login=routing_pb2.AgentLogin(agent_id=self.agent_id)))
        stream = routing_pb2_grpc.RoutingServiceStub(self._routing_channel).AgentSession(
            self._outgoing(), metadata=self._metadata)
        self._tasks.append(asyncio.create_task(self._read_desk(stream)))
        return self

    async def _outgoing(self) -> AsyncIterator[routing_pb2.AgentCommand]:
        while True:
            yield await self._commands.get()

    async def _read_desk(self, stream: Any) -> None:
        async for event in stream:
            kind = event.WhichOneof("event")
            if kind == "agent":
                self._events.agent(routing_pb2.AgentStatus.Name(event.agent.status))
            elif kind == "offer":
                made = event.offer.expire_time.ToNanoseconds() / 1e9 - OFFER_TIMEOUT
                self._events.put("offer", (made, event.offer.id))
            elif kind == "assigned":
                self._events.put("assigned", (event.assigned.id, event.assigned.session_id))

    async def available(self) -> None:
        await self._commands.put(routing_pb2.AgentCommand(set_state=routing_pb2.SetAgentStateRequest(
            agent_id=self.agent_id, status=routing_pb2.AGENT_STATUS_AVAILABLE)))
        await self._events.status_is("AGENT_STATUS_AVAILABLE")

    async def offer(self) -> tuple[float, float, str]:
        seen, (made, offer_id) = await self._events.get("offer")
        return made, seen, offer_id

    async def accept(self, offer_id: str) -> tuple[float, str, str]:
        await self._commands.put(routing_pb2.AgentCommand(accept=routing_pb2.AcceptOffer(offer_id=offer_id)))
        seen, (work_id, session_id) = await self._events.get("assigned")
        return seen, work_id, session_id

    async def watch(self, work_id: str, session_id: str) -> float:
        """As the gateway does (at its pace): sessions hears of the assignment from routing's
        events, after this desk, and refuses the watch until then."""
        stub = sessions_pb2_grpc.SessionServiceStub(self._sessions_channel)
        async with asyncio.timeout(STEP_SECONDS):
            while True:
                self._watch = stub.WatchSession(sessions_pb2.WatchSessionRequest(session_id=session_id),
                                                metadata=self._metadata)
                try:
                    first = await anext(aiter(self._watch))
                    break
                except grpc.aio.AioRpcError as refused:
                    if refused.code() != grpc.StatusCode.PERMISSION_DENIED:
                        raise
                    await asyncio.sleep(ASSIGNMENT_RETRY_SECONDS)
        seen = time.time()
        assert first.kind == "snapshot"
        self._tasks.append(asyncio.create_task(self._read_watch(self._watch)))
        return seen

    async def _read_watch(self, watch: Any) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
            async for update in watch:
                if update.kind == "message" and update.message.direction == common_pb2.DIRECTION_INBOUND:
                    self._events.put("message", update.message.text)

    async def message(self) -> tuple[float, str]:
        return await self._events.get("message")

    async def wrap_up(self, work_id: str) -> None:
        await self._commands.put(routing_pb2.AgentCommand(wrap_up=routing_pb2.WrapUp(work_id=work_id,
                                                                                     disposition="resolved")))
        if self._watch is not None:
            self._watch.cancel()

    async def away(self) -> None:
        await self._commands.put(routing_pb2.AgentCommand(set_state=routing_pb2.SetAgentStateRequest(
            agent_id=self.agent_id, status=routing_pb2.AGENT_STATUS_OFFLINE)))
        await self._events.status_is("AGENT_STATUS_OFFLINE")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self._routing_channel.close()
        await self._sessions_channel.close()


# ----- the customers ---------------------------------------------------------------------------

class Customer:
    """A chat visitor: on the gateway's widget socket (with its demo page's Origin) or on sessions'."""

    def __init__(self, url: str, origin: str | None) -> None:
        self._url = url
        self._origin = origin

    async def start(self, first: str) -> str:
        self._ws = await connect(self._url, origin=self._origin)  # type: ignore[arg-type]
        await self._ws.send(json.dumps({"start": {"handle": f"bench-{uuid.uuid4().hex[:10]}"}}))
        async with asyncio.timeout(STEP_SECONDS):
            while "started" not in (frame := json.loads(await self._ws.recv())):
                pass
        self._reader = asyncio.create_task(self._drain())
        await self.say(first)
        return str(frame["started"]["session_id"])

    async def _drain(self) -> None:
        with contextlib.suppress(Exception):
            async for _ in self._ws:
                pass  # echoes, states, positions: the agent's side is what is timed

    async def say(self, text: str) -> float:
        sent = time.time()
        await self._ws.send(json.dumps({"text": {"text": text, "client_message_id": uuid.uuid4().hex}}))
        return sent

    async def close(self) -> None:
        self._reader.cancel()
        await self._ws.close()


# ----- one measurement -------------------------------------------------------------------------

async def chat(desk: Desk, customers: dict[str, Customer], messages: int, figures: Figures, rng: random.Random) -> None:
    """One agent's part of a round: the offer, then the customer's messages as they arrive."""
    made, seen, offer_id = await desk.offer()
    figures.offers.append(seen - made)
    assigned, work_id, session_id = await desk.accept(offer_id)
    figures.views.append(await desk.watch(work_id, session_id) - assigned)
    customer = customers[session_id]
    for n in range(messages):
        await asyncio.sleep(rng.uniform(0.3, 0.7))
        text = f"follow-up {n} ({uuid.uuid4().hex[:8]})"
        sent = await customer.say(text)
        while (arrived := await desk.message())[1] != text:
            pass
        figures.messages.append(arrived[0] - sent)
    await desk.wrap_up(work_id)
    await customer.close()


async def measure(desks: list[Desk], customer: tuple[str, str | None], messages: int, figures: Figures,
                  rng: random.Random) -> None:
    """One round: every agent available, one chat per agent at once, then every agent away."""
    await asyncio.gather(*(desk.available() for desk in desks))
    visitors = [Customer(*customer) for _ in desks]
    session_ids = await asyncio.gather(*(v.start("hello, is anyone there?") for v in visitors))
    by_session = dict(zip(session_ids, visitors, strict=True))
    await asyncio.gather(*(chat(desk, by_session, messages, figures, rng) for desk in desks))
    await asyncio.gather(*(desk.away() for desk in desks))


async def seed(info: StackInfo, admin: tuple[tuple[str, str], ...], agents: list[str]) -> None:
    async with grpc.aio.insecure_channel(info.addresses["routing"]) as channel:
        routing = routing_pb2_grpc.RoutingServiceStub(channel)
        await routing.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
            id=QUEUE, display_name="Chat", groups=[GROUP], overflow_threshold=100_000,
            policy=routing_pb2.RoutingPolicy(offer_timeout=Duration(seconds=OFFER_TIMEOUT)))), metadata=admin)
        for agent_id in agents:
            await routing.CreateAgent(routing_pb2.CreateAgentRequest(agent=routing_pb2.Agent(
                id=agent_id, display_name=agent_id, groups=[GROUP], languages=["en"],
                skills=[routing_pb2.Skill(name=GROUP, proficiency=3)],
                capacities=[routing_pb2.ChannelCapacity(channel=common_pb2.CHANNEL_CHAT, max_concurrent=1)])),
                metadata=admin)


async def run(chats: int, messages: int, rounds: int, work: Path) -> None:
    load_before = os.getloadavg()[0]
    stack = DevStack(work, ephemeral=True)
    try:
        info = await asyncio.to_thread(stack.start)
        grpc_agents = [f"G-{n:03d}" for n in range(chats)]
        web_agents = [f"W-{n:03d}" for n in range(chats)]
        await seed(info, bearer(stack.token_for("bench", Role.ADMIN)), grpc_agents + web_agents)
        paths: dict[str, tuple[list[Desk], tuple[str, str | None]]] = {
            "grpc": ([await GrpcDesk(info, a, stack.token_for(a, Role.AGENT, (GROUP,))).start() for a in grpc_agents],
                     (f"ws://127.0.0.1:{info.ports['websocket']}/chat", None)),
            "gateway": ([await GatewayDesk(info.web_url, a, stack.token_for(a, Role.AGENT, (GROUP,))).start()
                         for a in web_agents],
                        (info.web_url.replace("http", "ws", 1) + "/widget/chat", info.web_url)),
        }
        results = {name: Figures() for name in paths}
        rng = random.Random(7)
        # A first round of each, not counted (connections, caches, the database's first writes);
        # then the two paths take turns, so that neither gets the quieter half of the run.
        for desks, customer in paths.values():
            await measure(desks, customer, 1, Figures(), rng)
        for _ in range(rounds):
            for name, (desks, customer) in paths.items():
                await measure(desks, customer, messages, results[name], rng)
        for desks, _ in paths.values():
            for desk in desks:
                await desk.close()
    finally:
        await asyncio.to_thread(stack.stop)

    print(f"machine: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cpus (the stack's 8 processes and this client share them); load average "
          f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{chats} concurrent chats, {rounds} round(s), {messages} customer messages per chat; "
          "clients: WebSocket (gateway) and gRPC (baseline), not Chromium pages")
    for path, label in (("offers", "routing's offer → offer at the desk"),
                        ("views", "assignment at the desk → the session's view open (its snapshot in)"),
                        ("messages", "customer's message → on the agent's view")):
        print(f"{label}:")
        for name in ("grpc", "gateway"):
            print(f"  {name:<8} {percentiles(getattr(results[name], path))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    stop_on_signals()  # a killed run stops the servers it started
    if min(args.chats, args.messages, args.rounds) < 1:
        parser.error("--chats, --messages and --rounds must be at least 1")
    with tempfile.TemporaryDirectory(prefix="web-latency-") as work:
        asyncio.run(run(args.chats, args.messages, args.rounds, Path(work)))


if __name__ == "__main__":
    main()
