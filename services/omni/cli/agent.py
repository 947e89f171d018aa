"""`omni agent`: the terminal agent desktop on routing's AgentSession stream.

Log in, set your state, see offers with the screen pop, accept or reject them, reply on chat
and email through the sessions service, add ticket notes, transfer and wrap up. One command
per line on stdin; events are printed as they arrive.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import shlex
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc

from omni.cli.terminal_text import plain
from omni.runtime.auth import Role, bearer
from omni.runtime.clients import channel, fed, following_stream
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc
from omnichannel.tickets.v1 import tickets_pb2, tickets_pb2_grpc

HELP = """commands:
  state available|break|wrap_up|offline [reason]   set your state
  accept [offer]                 accept an offer (default: the latest)
  reject [offer] [reason]        reject an offer (counts as a miss)
  reply <work> <text…>           answer the customer on chat / email
  note <ticket> <text…>          add an internal note to a ticket
  transfer <work> <queue> <reason…>   hand the work to another queue
  wrap <work> <disposition> [note…]   finish the work
  work                           list the work you hold
  help | quit"""
STATES = {"available": routing_pb2.AGENT_STATUS_AVAILABLE, "break": routing_pb2.AGENT_STATUS_BREAK,
          "wrap_up": routing_pb2.AGENT_STATUS_WRAP_UP, "offline": routing_pb2.AGENT_STATUS_OFFLINE}


T = TypeVar("T")


class ServiceFailed(Exception):
    """A call to another service failed; the message names the service, so the agent knows which."""


async def on(service: str, call: Awaitable[T]) -> T:
    try:
        return await call
    except grpc.aio.AioRpcError as exc:
        raise ServiceFailed(f"{service} {exc.code().name}: {exc.details()}") from None


@dataclasses.dataclass(frozen=True)
class ConsoleConfig:
    agent_id: str
    token: str
    routing: str
    sessions: str = ""
    tickets: str = ""


class AgentConsole:
    def __init__(self, config: ConsoleConfig, write: Callable[[str], None]) -> None:
        self.config = config
        self.write = write
        self.offers: dict[str, routing_pb2.Offer] = {}
        self.held: dict[str, routing_pb2.WorkItem] = {}
        self._commands: asyncio.Queue[routing_pb2.AgentCommand | None] = asyncio.Queue()

    async def run(self, lines: AsyncIterator[str]) -> int:
        token = self.config.token
        async with contextlib.AsyncExitStack() as stack:
            routing = await stack.enter_async_context(channel(self.config.routing, token))
            self.routing = routing_pb2_grpc.RoutingServiceStub(routing)
            self.sessions = sessions_pb2_grpc.SessionServiceStub(
                await stack.enter_async_context(channel(self.config.sessions, token))) if self.config.sessions else None
            self.tickets = tickets_pb2_grpc.TicketServiceStub(
                await stack.enter_async_context(channel(self.config.tickets, token))) if self.config.tickets else None

            def open_session(chan: grpc.aio.Channel) -> grpc.aio.StreamStreamCall[Any, routing_pb2.AgentEvent]:
                # Explicit metadata: the channel's token interceptor does not reach bidi-streaming calls.
                call = routing_pb2_grpc.RoutingServiceStub(chan).AgentSession(metadata=bearer(token))
                return fed(call, routing_pb2.AgentCommand(login=routing_pb2.AgentLogin(agent_id=self.config.agent_id)),
                           self._commands)

            # Opened again on the replica serving the agent (redirects, a partition moving).
            reader = asyncio.create_task(self._read(following_stream(routing, open_session)))
            self.write(f"logged in as {self.config.agent_id}; type 'help' for commands")
            try:
                async for line in lines:
                    if reader.done():
                        break
                    if not await self.handle(line.strip()):
                        break
            finally:
                await self._commands.put(None)
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                    await reader
        return 1 if reader.done() and not reader.cancelled() and reader.exception() else 0

    async def _read(self, events: AsyncIterator[routing_pb2.AgentEvent]) -> None:
        try:
            async for event in events:
                self.show(event)
        except grpc.aio.AioRpcError as exc:
            self.write(f"ERROR stream closed: {exc.code().name}: {plain(exc.details() or '')}")
            raise

    def show(self, event: routing_pb2.AgentEvent) -> None:
        """Print one event. Every value in it may come from a customer (a name, a message, an
        article title), so each is printed through `plain`: text, never terminal controls."""
        kind = event.WhichOneof("event")
        if kind == "agent":
            state = routing_pb2.AgentStatus.Name(event.agent.status).removeprefix("AGENT_STATUS_").lower()
            reason = event.agent.status_reason
            self.write(f"STATE {state}" + (f" ({plain(reason)})" if reason else ""))
        elif kind == "offer":
            offer = event.offer
            self.offers[offer.id] = offer
            work, pop = offer.work, offer.screen_pop
            channel_name = common_pb2.Channel.Name(work.channel).removeprefix("CHANNEL_").lower()
            self.write(f"OFFER {plain(offer.id)} {channel_name} queue={plain(work.queue_id)} "
                       f"priority={work.priority:g} reasons={plain(','.join(r.code for r in work.reasons))}")
            self.write(f"  customer={plain(pop.customer_id) or '?'} {plain(pop.display_name)} "
                       f"tier={plain(pop.tier) or '-'} last_agent={plain(pop.last_agent_id) or '-'} "
                       f"open_tickets={plain(','.join(pop.open_ticket_ids)) or '-'}")
            if work.text:
                self.write(f"  says: {plain(work.text[:200])}")
            for article in pop.suggestions:
                self.write(f"  suggest: {plain(article.article_id)} {plain(article.title)}")
            if pop.degraded:
                self.write(f"  degraded: {plain('; '.join(pop.degraded))}")
        elif kind == "offer_revoked":
            self.offers.pop(event.offer_revoked, None)
            self.write(f"REVOKED {plain(event.offer_revoked)}")
        elif kind == "assigned":
            self.held[event.assigned.id] = event.assigned
            self.offers = {k: v for k, v in self.offers.items() if v.work.id != event.assigned.id}
            self.write(f"ASSIGNED {plain(event.assigned.id)} session={plain(event.assigned.session_id)} "
                       f"ticket={plain(event.assigned.ticket_id) or '-'}")
        elif kind == "error":
            self.write(f"ERROR {plain(event.error)}")

    async def handle(self, line: str) -> bool:
        """Run one command line; False to quit."""
        if not line:
            return True
        try:
            words = shlex.split(line)
        except ValueError as exc:
            self.write(f"ERROR {exc}")
            return True
        verb, args = words[0].lower(), words[1:]
        try:
            if verb in ("quit", "exit"):
                return False
            await self._dispatch(verb, args)
        except ServiceFailed as exc:
            self.write(f"ERROR {plain(str(exc))}")
        except (IndexError, KeyError) as exc:
            self.write(f"ERROR missing or unknown argument ({exc}); type 'help'")
        return True

    async def _dispatch(self, verb: str, args: list[str]) -> None:
        agent_id = self.config.agent_id
        if verb == "help":
            self.write(HELP)
        elif verb == "state":
            if args[0] not in STATES:
                self.write(f"ERROR state is one of {', '.join(STATES)}")
                return
            await self._send(set_state=routing_pb2.SetAgentStateRequest(
                agent_id=agent_id, status=STATES[args[0]], reason=" ".join(args[1:])))
        elif verb in ("accept", "reject"):
            offer = args[0] if args else (list(self.offers)[-1] if self.offers else "")
            if not offer:
                self.write("ERROR no open offer")
                return
            if verb == "accept":
                await self._send(accept=routing_pb2.AcceptOffer(offer_id=offer))
            else:
                await self._send(reject=routing_pb2.RejectOffer(offer_id=offer, reason=" ".join(args[1:])))
        elif verb == "reply":
            if self.sessions is None:
                self.write("ERROR no sessions service address (--sessions)")
                return
            work = self.held.get(args[0])
            session = work.session_id if work else args[0]
            sent = await on("sessions", self.sessions.SendReply(sessions_pb2.SendReplyRequest(
                session_id=session, text=" ".join(args[1:]), request_id=uuid.uuid4().hex), timeout=10))
            self.write(f"SENT {plain(sent.message.id or sent.message_id)}")
        elif verb == "note":
            if self.tickets is None:
                self.write("ERROR no tickets service address (--tickets)")
                return
            await on("tickets", self.tickets.AddNote(tickets_pb2.AddNoteRequest(
                ticket_id=args[0], text=" ".join(args[1:]), request_id=uuid.uuid4().hex), timeout=10))
            self.write(f"NOTED {args[0]}")
        elif verb == "transfer":
            moved = await on("routing", self.routing.TransferWork(routing_pb2.TransferWorkRequest(
                work_id=args[0], target_queue_id=args[1], reason=" ".join(args[2:])), timeout=10))
            self.held.pop(moved.id, None)
            self.write(f"TRANSFERRED {plain(moved.id)} to {plain(moved.queue_id)}")
        elif verb == "wrap":
            await self._send(wrap_up=routing_pb2.WrapUp(work_id=args[0], disposition=args[1],
                                                        note=" ".join(args[2:])))
            self.held.pop(args[0], None)
            self.write(f"WRAPPED {args[0]} {args[1]}")
        elif verb == "work":
            for work in self.held.values():
                self.write(f"  {plain(work.id)} queue={plain(work.queue_id)} session={plain(work.session_id)}")
            if not self.held:
                self.write("  (no work)")
        else:
            self.write(f"ERROR unknown command {verb!r}; type 'help'")

    async def _send(self, **command: object) -> None:
        await self._commands.put(routing_pb2.AgentCommand(**command))  # type: ignore[arg-type]


async def _stdin_lines() -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        yield line


def stack_addresses(data_dir: Path) -> dict[str, str]:
    path = data_dir / "stack.json"
    if not path.exists():
        return {}
    addresses: dict[str, str] = json.loads(path.read_text()).get("addresses", {})
    return addresses


def cmd_agent(args: argparse.Namespace) -> int:
    from omni.cli.main import local_issuer

    known = stack_addresses(args.data_dir)
    routing = args.routing or os.environ.get("OMNI_ROUTING_ADDR") or known.get("routing", "")
    if not routing:
        raise SystemExit("no routing address: pass --routing, set OMNI_ROUTING_ADDR or start the stack (`make run`)")
    token = args.token or local_issuer(args.data_dir).mint(
        args.agent, Role(args.role), groups=[g for g in args.groups.split(",") if g])
    config = ConsoleConfig(
        agent_id=args.agent, token=token, routing=routing,
        sessions=args.sessions or os.environ.get("OMNI_SESSIONS_ADDR") or known.get("sessions", ""),
        tickets=args.tickets or os.environ.get("OMNI_TICKETS_ADDR") or known.get("tickets", ""))
    console = AgentConsole(config, lambda text: print(text, flush=True))
    try:
        return asyncio.run(console.run(_stdin_lines()))
    except KeyboardInterrupt:
        return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    agent = commands.add_parser("agent", help="terminal agent desktop: offers, accept/reject, reply, wrap up")
    agent.add_argument("--agent", default="A-1001", help="your agent id")
    agent.add_argument("--groups", default="general,billing,complaints", help="groups in the minted token")
    agent.add_argument("--role", choices=[Role.AGENT.value, Role.SUPERVISOR.value], default=Role.AGENT.value)
    agent.add_argument("--token", default="", help="bearer token (default: minted with the stack's issuer key)")
    agent.add_argument("--routing", default="", help="routing host:port (default: from the stack)")
    agent.add_argument("--sessions", default="", help="sessions host:port, for replies")
    agent.add_argument("--tickets", default="", help="tickets host:port, for notes")
    agent.set_defaults(func=cmd_agent)
