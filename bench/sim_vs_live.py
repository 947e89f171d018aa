"""Does the simulator tell the truth about the live stack? The same chats, agents and configuration
through both, KPIs side by side.

Starts the local stack as `make run` does (nats-server, SecantusDB, the four services and the web
gateway, each its own process; no demo data, no bot) and creates one chat queue and a few agents
through routing's API. `--contacts` contacts then arrive over `--minutes` (a seeded Poisson
process): a web chat (each visitor opens a chat on sessions' WebSocket endpoint, writes, waits
for an agent for as long as their drawn patience and leaves, `end`, when none came) or, for the
share `EMAIL` of them, a mail sent to the stack's SMTP port (it never gives up). The agents take
two chats and one e-mail at once, side by side, as routing's per-channel capacity has it. Scripted agents hold
routing's desk stream (AgentSession over gRPC, as `omni agent` does): each offer is left to time
out with probability `NO_ANSWER` (RONA; an agent the engine benches for it comes back after
`BACK_AFTER_BREAK`), else accepted after a drawn delay; a chat is wrapped up after its drawn
handle time, or, for the share `TRANSFER` of the chats (drawn beforehand), transferred back to
the queue with a reason code 30 % into it (`TransferWork`, the desk's transfer), for another
agent to handle in full (routing never offers it to the first one again). The time scale is
short on purpose: handle times of ~20 s instead of minutes.

Then the simulator's fast mode replays the same arrivals (time, patience, handle time of each
chat, and whether its first agent transfers it) on the same configuration — the queue and agent
messages given to routing, read by `omni.simulator.live_config` — with the same offer
behaviour, and both runs' records go through the same KPI code (`omni.kpis.figures`). Target:
each rate within 5 points, ASA within 20 %.

    .venv/bin/python bench/sim_vs_live.py [--contacts 160] [--minutes 4] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import platform
import random
import re
import smtplib
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from websockets.asyncio.client import connect

from omni.devstack.stack import DevStack, stop_on_signals
from omni.kpis import figures as kpis
from omni.kpis.records import ContactRecord, Outcome
from omni.runtime.auth import Role, bearer
from omni.simulator import fast, live_config, scenario
from omni.simulator.routing_policy import RoutingPolicyStrategy
from omni.simulator.traffic import Contact, SimAgent, draw
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc

QUEUE_ID = "chat"  # where the sessions service puts web chats
EMAIL_QUEUE_ID = "email"  # and mail to an address no mailbox rule names
SL_SECONDS = 30.0
EMAIL_SL_SECONDS = 120.0
EMAIL = 0.25
OFFER_TIMEOUT = 8
HANDLE = scenario.Distribution(mean=20.0, cv=0.6)
PATIENCE = scenario.Distribution(mean=40.0, cv=1.0)
ANSWER = scenario.Distribution(mean=1.5, cv=0.5)
NO_ANSWER = 0.05
BACK_AFTER_BREAK = 15.0
WRAP_UP = 0.5  # the scripted agent's wrap-up: the command's own round trip, about
TRANSFER = 0.15
# How far into a chat its first agent finds someone else must take it (the simulator's rule).
TRANSFER_AT = 0.3

# The one configuration both sides run: routing's API messages.
QUEUE = routing_pb2.Queue(
    id=QUEUE_ID, display_name="Web chat", groups=["general"], service_level_percent=80,
    service_level_seconds=int(SL_SECONDS), overflow_threshold=1_000_000,  # no bot in this run
    policy=routing_pb2.RoutingPolicy(offer_timeout=Duration(seconds=OFFER_TIMEOUT), max_missed_offers=2))
EMAIL_QUEUE = routing_pb2.Queue(
    id=EMAIL_QUEUE_ID, display_name="E-mail", groups=["general"], service_level_percent=80,
    service_level_seconds=int(EMAIL_SL_SECONDS), overflow_threshold=1_000_000,
    policy=routing_pb2.RoutingPolicy(offer_timeout=Duration(seconds=OFFER_TIMEOUT), max_missed_offers=2))
QUEUES = (QUEUE, EMAIL_QUEUE)


def agents(count: int) -> list[routing_pb2.Agent]:
    return [routing_pb2.Agent(
        id=f"V-{n + 1:02d}", display_name=f"scripted {n + 1}", groups=["general"], languages=["en"],
        skills=[routing_pb2.Skill(name="general", proficiency=5)],
        capacities=[routing_pb2.ChannelCapacity(channel=common_pb2.CHANNEL_CHAT, max_concurrent=2),
                    routing_pb2.ChannelCapacity(channel=common_pb2.CHANNEL_EMAIL, max_concurrent=1)])
        for n in range(count)]


@dataclasses.dataclass
class Chat:
    n: int
    arrival: float  # seconds after the start
    patience: float
    handle: float
    transfer: bool = False
    channel: str = "chat"
    session_id: str = ""
    transfers: int = 0
    answered: float | None = None
    ended: float | None = None
    outcome: Outcome = "unanswered"
    agent_id: str = ""


def plan(count: int, minutes: float, seed: int) -> list[Chat]:
    rng, transfers, channels = random.Random(seed), random.Random(seed + 2), random.Random(seed + 3)
    rate = count / (minutes * 60.0)
    chats, at = [], 0.0
    for n in range(count):
        at += rng.expovariate(rate)
        chat = Chat(n, at, draw(rng, PATIENCE), draw(rng, HANDLE), transfers.random() < TRANSFER)
        if channels.random() < EMAIL:
            chat.channel, chat.patience = "email", math.inf
        chats.append(chat)
    return chats


def mail_address(n: int) -> str:
    return f"visitor-{n}@example.org"


def contact_of(work: routing_pb2.WorkItem) -> int | None:
    """The bench's contact number of a mail's work item, from the sender's address."""
    for identity in work.customer.identities:
        match = re.fullmatch(r"visitor-(\d+)@example\.org", identity.value)
        if match:
            return int(match.group(1))
    return None


# ----- the live run ----------------------------------------------------------------------------

class Visitor:
    def __init__(self, url: str, chat: Chat, start: float) -> None:
        self._url = url
        self.chat = chat
        self._start = start
        self.connected = asyncio.Event()

    async def visit(self, by_session: dict[str, Chat]) -> None:
        chat = self.chat
        await asyncio.sleep(max(0.0, self._start + chat.arrival - time.monotonic()))
        async with connect(self._url, additional_headers={"X-Forwarded-For": f"192.0.2.{chat.n % 250 + 1}"}) as ws:
            await ws.send(json.dumps({"start": {"handle": f"sim-vs-live-{chat.n}"}}))
            while "started" not in (frame := json.loads(await ws.recv())):
                pass
            chat.session_id = frame["started"]["session_id"]
            by_session[chat.session_id] = chat
            await ws.send(json.dumps({"text": {"text": "hello, is anyone there?"}}))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(chat.patience):
                    await self.connected.wait()
            if chat.answered is None:
                chat.outcome, chat.ended = "abandoned", time.monotonic() - self._start
                await ws.send(json.dumps({"end": {}}))
                return
            # Stay until the agent wrapped up (the connection's state frames), within reason.
            with contextlib.suppress(TimeoutError, Exception):
                async with asyncio.timeout((1 + TRANSFER_AT) * chat.handle + 60):
                    async for raw in ws:
                        if json.loads(raw).get("state") in ("SESSION_STATE_WRAP_UP", "SESSION_STATE_ENDED"):
                            return


class Mailer:
    """A customer who writes one mail at their arrival time, to the stack's SMTP port."""

    def __init__(self, port: int, chat: Chat, start: float) -> None:
        self._port = port
        self.chat = chat
        self._start = start
        self.connected = asyncio.Event()  # nobody waits on it: a mail never gives up

    async def visit(self, by_session: dict[str, Chat]) -> None:
        await asyncio.sleep(max(0.0, self._start + self.chat.arrival - time.monotonic()))
        message = EmailMessage()
        message["From"], message["To"] = mail_address(self.chat.n), "help@example.com"
        message["Subject"] = f"A question, reference {self.chat.n}"
        message.set_content("Hello, I have a question and would like someone to write back.")
        await asyncio.to_thread(self._send, message)
        # Here until the agent wrapped it up (or the run is over), as the chat visitors are.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(300):
                await self.connected.wait()
                await asyncio.sleep((1 + TRANSFER_AT) * self.chat.handle + 5)

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP("127.0.0.1", self._port, timeout=30) as smtp:
            smtp.send_message(message)


class ScriptedAgent:
    """One agent on routing's desk stream, answering as the offer behaviour says."""

    def __init__(self, stub: Any, agent_id: str, token: str, rng: random.Random,
                 start: float, chats: dict[str, Chat], visitors: dict[int, Visitor | Mailer]) -> None:
        self._stub = stub
        self.agent_id = agent_id
        self._metadata = bearer(token)
        self._rng = rng
        self._start = start
        self._chats = chats
        self._visitors = visitors
        self._mails = {n: v.chat for n, v in visitors.items() if isinstance(v, Mailer)}
        self._commands: asyncio.Queue[routing_pb2.AgentCommand] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()

    async def _outgoing(self) -> AsyncIterator[routing_pb2.AgentCommand]:
        while True:
            yield await self._commands.get()

    def _later(self, delay: float, command: routing_pb2.AgentCommand) -> None:
        self._soon(delay, self._commands.put(command))

    def _soon(self, delay: float, action: Awaitable[object]) -> None:
        async def act() -> None:
            await asyncio.sleep(delay)
            await action
        task = asyncio.create_task(act())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _transfer(self, work_id: str, queue_id: str) -> None:
        await self._stub.TransferWork(routing_pb2.TransferWorkRequest(
            work_id=work_id, reason_code=routing_pb2.TRANSFER_REASON_NEEDS_SKILL, reason="a colleague knows this",
            target_queue_id=queue_id), metadata=self._metadata)

    def _available(self, delay: float = 0.0) -> None:
        self._later(delay, routing_pb2.AgentCommand(set_state=routing_pb2.SetAgentStateRequest(
            agent_id=self.agent_id, status=routing_pb2.AGENT_STATUS_AVAILABLE)))

    async def work(self) -> None:
        await self._commands.put(routing_pb2.AgentCommand(login=routing_pb2.AgentLogin(agent_id=self.agent_id)))
        self._available()
        stream = self._stub.AgentSession(self._outgoing(), metadata=self._metadata)
        async for event in stream:
            kind = event.WhichOneof("event")
            if kind == "offer":
                if self._rng.random() >= NO_ANSWER:
                    self._later(draw(self._rng, ANSWER), routing_pb2.AgentCommand(
                        accept=routing_pb2.AcceptOffer(offer_id=event.offer.id)))
            elif kind == "assigned":
                chat = self._chats.get(event.assigned.session_id)
                if chat is None and (n := contact_of(event.assigned)) is not None:
                    chat = self._mails[n]
                if chat is None or chat.outcome == "abandoned":
                    self._later(WRAP_UP, self._wrap_up(event.assigned.id))
                    continue
                now = time.monotonic() - self._start
                if chat.answered is None:
                    chat.answered, chat.outcome = now, "answered"
                chat.agent_id, chat.ended = self.agent_id, now + chat.handle
                self._visitors[chat.n].connected.set()
                if chat.transfer and not chat.transfers:
                    chat.transfers = 1
                    self._soon(TRANSFER_AT * chat.handle, self._transfer(event.assigned.id, event.assigned.queue_id))
                else:
                    self._later(chat.handle + WRAP_UP, self._wrap_up(event.assigned.id))
            elif kind == "agent" and event.agent.status == routing_pb2.AGENT_STATUS_BREAK:
                self._available(BACK_AFTER_BREAK)  # RONA benched this agent

    def _wrap_up(self, work_id: str) -> routing_pb2.AgentCommand:
        return routing_pb2.AgentCommand(wrap_up=routing_pb2.WrapUp(work_id=work_id, disposition="resolved"))


async def live(chats: list[Chat], agent_messages: list[routing_pb2.Agent], seed: int, work: Path) -> None:
    # Above what the bench sends: every chat may wait in the queue.
    os.environ["OMNI_CHAT_MAX_WAITING_PER_QUEUE"] = str(len(chats) + 10)
    stack = DevStack(work, ephemeral=True)
    try:
        info = await asyncio.to_thread(stack.start)
        admin = bearer(stack.token_for("bench", Role.ADMIN))
        async with grpc.aio.insecure_channel(info.addresses["routing"]) as channel:
            stub = routing_pb2_grpc.RoutingServiceStub(channel)
            for queue in QUEUES:
                await stub.CreateQueue(routing_pb2.CreateQueueRequest(queue=queue), metadata=admin)
            for agent in agent_messages:
                await stub.CreateAgent(routing_pb2.CreateAgentRequest(agent=agent), metadata=admin)
            start = time.monotonic() + 2.0
            url = f"ws://127.0.0.1:{info.ports['websocket']}/chat"
            visitors: dict[int, Visitor | Mailer] = {
                c.n: Visitor(url, c, start) if c.channel == "chat" else Mailer(info.ports["smtp"], c, start)
                for c in chats}
            by_session: dict[str, Chat] = {}
            rng = random.Random(seed + 1)
            desk = [ScriptedAgent(stub, a.id, stack.token_for(a.id, Role.AGENT, ("general",)), rng, start,
                                  by_session, visitors) for a in agent_messages]
            working = [asyncio.create_task(a.work()) for a in desk]
            await asyncio.gather(*(v.visit(by_session) for v in visitors.values()))
            for task in working:
                task.cancel()
    finally:
        await asyncio.to_thread(stack.stop)


def live_records(chats: list[Chat]) -> list[ContactRecord]:
    return [ContactRecord(contact_id=str(c.n), customer_id=str(c.n), matter_id=str(c.n), channel=c.channel,
                          queue=QUEUE_ID if c.channel == "chat" else EMAIL_QUEUE_ID,
                          intent="question" if c.channel == "chat" else "mail", arrived=c.arrival,
                          answered=c.answered, ended=c.ended,
                          outcome=c.outcome, agent_id=c.agent_id, transfers=c.transfers,
                          handle_seconds=(1 + TRANSFER_AT * c.transfers) * c.handle if c.answered is not None else 0.0)
            for c in chats]


# ----- the simulator on the same chats ---------------------------------------------------------

class SameHandleTime(fast.ServiceModel):
    """The scripted agents: each chat takes its drawn handle time, its first agent transfers it when
    the live one did (30 % into it, as the simulator's own rule), every matter done."""

    def __init__(self, transferred: set[str]) -> None:
        self._transferred = transferred

    def transfer_probability(self, contact: Contact, agent: SimAgent) -> float:
        return 1.0 if contact.id in self._transferred and not contact.transfers else 0.0

    def handle_factor(self, contact: Contact, agent: SimAgent) -> float:
        return 1.0

    def resolution_probability(self, contact: Contact, agent: SimAgent) -> float:
        return 1.0


def simulated(chats: list[Chat], agent_messages: list[routing_pb2.Agent], seed: int) -> list[ContactRecord]:
    end = max(c.arrival for c in chats) + 600.0
    day = scenario.parse({
        "name": "sim-vs-live", "seed": seed, "hours": {"open": "00:00", "close": "23:59"},
        "intents": [{"name": "question", "queue": QUEUE_ID, "skill": "general", "volume": {"chat": 1},
                     "handle": {"chat": HANDLE.mean}},
                    {"name": "mail", "queue": EMAIL_QUEUE_ID, "skill": "general", "volume": {"email": 1},
                     "handle": {"email": HANDLE.mean}}],
        "customers": {"population": len(chats), "languages": {"en": 1.0}},
        "agents": [{"team": "placeholder", "count": 1, "skills": {"general": 5}, "languages": ["en"],
                    "channels": {"chat": 2, "email": 1}, "shift": "00:00-23:59"}],
        "targets": {"service_level": {"chat": {"percent": 80, "seconds": SL_SECONDS},
                                      "email": {"percent": 80, "seconds": EMAIL_SL_SECONDS}}},
    })
    day = dataclasses.replace(
        day, teams=live_config.teams(agent_messages, shift=(0.0, end), wrap_up=scenario.Distribution(
            mean=WRAP_UP, kind="fixed")),
        offers=scenario.OfferBehaviour(timeout=OFFER_TIMEOUT, answer=ANSWER, no_answer=NO_ANSWER,
                                       back_after_break=BACK_AFTER_BREAK))
    intents = {intent.queue: intent for intent in day.intents}
    # Half a minute after the agents log in, as the live agents are on their desks before the first chat.
    arrivals = [Contact(id=str(c.n), customer_id=str(c.n), matter_id=str(c.n), channel=c.channel,
                        intent=intents[QUEUE_ID if c.channel == "chat" else EMAIL_QUEUE_ID],
                        language="en", vip=False, urgent=False, emotion=0, arrival=30.0 + c.arrival,
                        patience=c.patience, handle=c.handle) for c in chats]
    result = fast.FastSimulation(day, RoutingPolicyStrategy.for_configuration(day, QUEUES, agent_messages),
                                 model=SameHandleTime({str(c.n) for c in chats if c.transfer}),
                                 arrivals=arrivals).run()
    epoch = dt.datetime.combine(day.start_date, dt.time(), tzinfo=dt.UTC).timestamp() + 30.0
    for record in result.contacts:  # back to seconds after the start, as the live records
        record.arrived -= epoch
        record.answered = record.answered - epoch if record.answered is not None else None
        record.ended = record.ended - epoch if record.ended is not None else None
    return result.contacts


# ----- the comparison --------------------------------------------------------------------------

def rows(live_kpis: kpis.Kpis, sim_kpis: kpis.Kpis,
         *email: tuple[str, tuple[kpis.Kpis, kpis.Kpis]]) -> list[tuple[str, str, str, str, bool]]:
    """Each rate's gap in points, each ASA's in per cent of the live one (`email`: the e-mails'
    own ASA, labelled)."""
    def pct(value: float | None) -> str:
        return "–" if value is None else f"{100 * value:.1f} %"

    found = []
    level = f"service level (chat {SL_SECONDS:.0f} s, e-mail {EMAIL_SL_SECONDS:.0f} s)"
    for label, name in (("answered", "answer_rate"), ("abandoned", "abandon_rate"), (level, "service_level"),
                        ("transferred", "transfer_rate")):
        a, b = getattr(live_kpis, name), getattr(sim_kpis, name)
        gap = abs((a or 0.0) - (b or 0.0)) * 100
        found.append((label, pct(a), pct(b), f"{gap:.1f} points", gap <= 5.0))
    for label, (one, other) in (("ASA", (live_kpis, sim_kpis)), *email):
        a, b = one.asa_seconds, other.asa_seconds
        gap = abs(a - b) / a if a and b is not None else math.inf
        found.append((label, f"{a or 0:.1f} s", f"{b or 0:.1f} s", f"{100 * gap:.0f} %", gap <= 0.2))
    return found


async def run(contacts: int, minutes: float, agent_count: int, seed: int, work: Path) -> None:
    load_before = os.getloadavg()
    chats = plan(contacts, minutes, seed)
    agent_messages = agents(agent_count)
    began = time.monotonic()
    await live(chats, agent_messages, seed, work)
    live_seconds = time.monotonic() - began
    sim_began = time.perf_counter()
    sim = simulated(chats, agent_messages, seed)
    sim_seconds = time.perf_counter() - sim_began
    targets = {"chat": SL_SECONDS, "email": EMAIL_SL_SECONDS}
    seen = live_records(chats)
    live_kpis, sim_kpis = kpis.compute(seen, targets=targets), kpis.compute(sim, targets=targets)
    mails = (kpis.compute([r for r in seen if r.channel == "email"], targets=targets),
             kpis.compute([r for r in sim if r.channel == "email"], targets=targets))

    print(f"machine: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cpus; load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after")
    emails = sum(c.channel == "email" for c in chats)
    print(f"{contacts} contacts ({contacts - emails} chats, {emails} e-mails) over {minutes:g} min (seed {seed}), "
          f"{agent_count} agents taking 2 chats and 1 e-mail at once; handle "
          f"{HANDLE.mean:g} s (cv {HANDLE.cv:g}), patience {PATIENCE.mean:g} s, offers accepted after "
          f"{ANSWER.mean:g} s, {100 * NO_ANSWER:g} % never (timeout {OFFER_TIMEOUT} s); "
          f"{sum(c.transfer for c in chats)} transferred by their first agent if answered")
    print(f"live run {live_seconds:.0f} s, simulator {sim_seconds:.2f} s")
    print("| KPI | live stack | simulator | gap | within target |\n|---|---:|---:|---:|---|")
    found = rows(live_kpis, sim_kpis, ("e-mail ASA", mails))
    for label, a, b, gap, ok in found:
        print(f"| {label} | {a} | {b} | {gap} | {'yes' if ok else 'no'} |")
    worst = max((r for r in found if "ASA" not in r[0]), key=lambda r: float(r[3].split()[0]))
    asa = max((r for r in found if "ASA" in r[0]), key=lambda r: float(r[3].split()[0]))
    print(f"sim vs live: largest rate gap {worst[3]} ({worst[0]}), largest ASA gap {asa[3]} ({asa[0]}); "
          f"target each rate within 5 points, ASA within 20 %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=160)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    stop_on_signals()  # a killed run stops the servers it started
    if args.contacts < 10 or args.minutes <= 0 or args.agents < 1:
        parser.error("--contacts >= 10, --minutes > 0 and --agents >= 1")
    with tempfile.TemporaryDirectory(prefix="sim-vs-live-") as work:
        asyncio.run(run(args.contacts, args.minutes, args.agents, args.seed, Path(work)))


if __name__ == "__main__":
    main()
