"""The end-to-end tour: one customer calls, chats and emails about the same matter; one agent
answers each through the routing desk; we then ask the tickets service what it made of it.
Then a second customer asks web chat a simple question, which the self-service bot answers.

Everything goes through the public interfaces a real deployment exposes: the WebSocket chat
endpoint and SMTP as the customer, the TelephonyService as the PBX, routing's AgentSession
stream and SessionService.SendReply as the agent, TicketService as a supervisor. Each step
has a deadline; when one fails the tour says which step, against which service, and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import smtplib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from email.message import EmailMessage
from typing import Any

import grpc
import websockets
from google.protobuf.duration_pb2 import Duration

from omni.runtime.auth import Role
from omni.simulator.live import StackAccess
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc
from omnichannel.tickets.v1 import tickets_pb2, tickets_pb2_grpc

TOUR_AGENT = "A-TOUR"
QUEUE = "billing"
CHANNEL_NAMES = {common_pb2.CHANNEL_PHONE: "phone", common_pb2.CHANNEL_CHAT: "chat", common_pb2.CHANNEL_EMAIL: "email"}


class TourFailed(RuntimeError):
    """A step did not happen; the message names the step, the service and the cause."""


@dataclasses.dataclass
class Handled:
    channel: str
    session_id: str
    work_id: str
    wait_seconds: float
    offer_attempts: int
    reasons: list[str]


@dataclasses.dataclass
class TourResult:
    customer_email: str
    handled: list[Handled] = dataclasses.field(default_factory=list)
    customer_id: str = ""
    tickets: list[tickets_pb2.Ticket] = dataclasses.field(default_factory=list)
    # The self-service bot's answer to the second customer ("" when no bot answered) and whether
    # the chat ended with the customer's thanks, without an agent.
    bot_answer: str = ""
    bot_resolved: bool = False

    @property
    def one_ticket_for_all_channels(self) -> bool:
        return any({"phone", "chat", "email"} <= _channels(t) for t in self.tickets)


def _channels(ticket: tickets_pb2.Ticket) -> set[str]:
    return {CHANNEL_NAMES.get(i.channel, "?") for i in ticket.interactions
            if i.direction == common_pb2.DIRECTION_INBOUND}


@contextlib.asynccontextmanager
async def step(name: str, service: str) -> AsyncIterator[None]:
    try:
        yield
    except TourFailed:
        raise
    except grpc.aio.AioRpcError as exc:
        raise TourFailed(f"{name}: {service} answered {exc.code().name}: {exc.details()}") from exc
    except TimeoutError as exc:
        raise TourFailed(f"{name}: nothing from {service} in time ({exc or 'timed out'})") from exc
    except (OSError, websockets.exceptions.WebSocketException, smtplib.SMTPException) as exc:
        raise TourFailed(f"{name}: cannot talk to {service}: {exc}") from exc


class AgentDesk:
    """The tour agent's desktop: one AgentSession stream; offers are matched to what we expect."""

    def __init__(self, access: StackAccess, timeout: float) -> None:
        self._token = access.token(Role.AGENT, TOUR_AGENT, groups=(QUEUE,))
        self._channel = access.channel("routing", self._token)
        self._commands: asyncio.Queue[routing_pb2.AgentCommand | None] = asyncio.Queue()
        self._offers: asyncio.Queue[tuple[float, routing_pb2.Offer]] = asyncio.Queue()
        self._assigned: asyncio.Queue[routing_pb2.WorkItem] = asyncio.Queue()
        self._errors: list[str] = []
        self._timeout = timeout
        self._reader: asyncio.Task[None] | None = None

    async def _outgoing(self) -> AsyncIterator[routing_pb2.AgentCommand]:
        while (command := await self._commands.get()) is not None:
            yield command

    async def start(self) -> None:
        stub = routing_pb2_grpc.RoutingServiceStub(self._channel)
        self._call = stub.AgentSession(self._outgoing())
        await self.send(routing_pb2.AgentCommand(login=routing_pb2.AgentLogin(agent_id=TOUR_AGENT)))
        await self.send(routing_pb2.AgentCommand(set_state=routing_pb2.SetAgentStateRequest(
            agent_id=TOUR_AGENT, status=routing_pb2.AGENT_STATUS_AVAILABLE, reason="tour")))
        self._reader = asyncio.create_task(self._read())

    async def send(self, command: routing_pb2.AgentCommand) -> None:
        await self._commands.put(command)

    async def _read(self) -> None:
        async for event in self._call:
            kind = event.WhichOneof("event")
            if kind == "offer":
                await self._offers.put((time.time(), event.offer))
            elif kind == "assigned":
                await self._assigned.put(event.assigned)
            elif kind == "error":
                self._errors.append(event.error)

    async def take(self, wanted: Callable[[routing_pb2.WorkItem], bool], what: str) -> tuple[float, routing_pb2.Offer]:
        """Wait for the offer of `what`, accept it, and wait until routing confirms the assignment."""
        deadline = time.monotonic() + self._timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self._reader is not None and self._reader.done()):
                problem = f"no offer for {what} within {self._timeout:.0f}s"
                if self._reader is not None and self._reader.done() and self._reader.exception():
                    problem = f"the AgentSession stream failed: {self._reader.exception()}"
                raise TourFailed(problem + (f"; desk errors: {self._errors}" if self._errors else ""))
            try:
                offered_at, offer = await asyncio.wait_for(self._offers.get(), min(remaining, 1.0))
            except TimeoutError:
                continue
            if not wanted(offer.work):
                await self.send(routing_pb2.AgentCommand(reject=routing_pb2.RejectOffer(
                    offer_id=offer.id, reason="the tour agent only takes the tour's customer")))
                continue
            await self.send(routing_pb2.AgentCommand(accept=routing_pb2.AcceptOffer(offer_id=offer.id)))
            while True:
                assigned = await asyncio.wait_for(self._assigned.get(), self._timeout)
                if assigned.id == offer.work.id:
                    return offered_at, offer

    async def wrap_up(self, work_id: str) -> None:
        await self.send(routing_pb2.AgentCommand(wrap_up=routing_pb2.WrapUp(
            work_id=work_id, disposition="resolved", note="handled in the omni tour")))

    async def close(self) -> None:
        await self._commands.put(None)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                await self._reader
        await self._channel.close()


async def ensure_routing_setup(access: StackAccess) -> None:
    """The tour's agent (and the billing queue, when the demo data did not create it)."""
    async with access.channel("routing", access.token(Role.ADMIN, "omni-tour")) as channel:
        stub = routing_pb2_grpc.RoutingServiceStub(channel)
        try:
            await stub.GetQueue(routing_pb2.GetQueueRequest(id=QUEUE), timeout=10)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            await stub.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
                id=QUEUE, display_name="Billing", intents=["billing", "refund"], groups=[QUEUE],
                service_level_percent=80, service_level_seconds=20,
                policy=routing_pb2.RoutingPolicy(offer_timeout=Duration(seconds=30)))), timeout=10)
        agent = routing_pb2.Agent(
            id=TOUR_AGENT, display_name="Tour Agent", groups=[QUEUE],
            skills=[routing_pb2.Skill(name="billing", proficiency=5), routing_pb2.Skill(name="refund", proficiency=5)],
            languages=["en", "zh"],
            capacities=[routing_pb2.ChannelCapacity(channel=c, max_concurrent=1) for c in CHANNEL_NAMES])
        try:
            await stub.CreateAgent(routing_pb2.CreateAgentRequest(agent=agent), timeout=10)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise


def _handled(channel: str, offered_at: float, offer: routing_pb2.Offer) -> Handled:
    work = offer.work
    enqueued = work.enqueue_time.ToMicroseconds() / 1e6 if work.HasField("enqueue_time") else offered_at
    return Handled(channel=channel, session_id=work.session_id, work_id=work.id,
                   wait_seconds=max(0.0, offered_at - enqueued), offer_attempts=work.offer_attempts,
                   reasons=[r.code for r in work.reasons])


async def _connected(sessions: sessions_pb2_grpc.SessionServiceAsyncStub, session_id: str, step_seconds: float) -> None:
    """Sessions learns of the assignment from routing's event, a moment after the desk does; a
    customer who ends the chat before that would leave a session that was never answered."""
    deadline = time.monotonic() + step_seconds
    while True:
        session = await sessions.GetSession(sessions_pb2.GetSessionRequest(id=session_id), timeout=step_seconds)
        if session.state == sessions_pb2.SESSION_STATE_CONNECTED:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"session {session_id} is still {sessions_pb2.SessionState.Name(session.state)}")
        await asyncio.sleep(0.1)


async def _ws_next(ws: Any, key: str, step_seconds: float) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), step_seconds))
        if "error" in frame and key != "error":
            raise TourFailed(f"chat endpoint refused a frame: {frame['error']}")
        if key in frame:
            return dict(frame[key])


def _send_mail(host: str, port: int, sender: str, subject: str, body: str) -> None:
    mail = EmailMessage()
    mail["From"] = f"Li Wei <{sender}>"
    mail["To"] = "support@example.com"
    mail["Subject"] = subject
    mail["Message-ID"] = f"<tour-{uuid.uuid4().hex}@customer.example>"
    mail.set_content(body)
    with smtplib.SMTP(host, port, timeout=30) as client:
        client.send_message(mail)


async def run(access: StackAccess, say: Callable[[str], None] = print, *, step_seconds: float = 30.0) -> TourResult:
    """Run the tour; raises TourFailed naming the step that did not happen."""
    tag = uuid.uuid4().hex[:6]
    email = f"li.wei.{tag}@customer.example"
    phone = f"+86138{int(tag, 16) % 10**8:08d}"
    result = TourResult(customer_email=email)
    async with step("setting up the tour agent and the billing queue", "routing"):
        await ensure_routing_setup(access)
    desk = AgentDesk(access, step_seconds)
    staff = access.token(Role.AGENT, TOUR_AGENT, groups=(QUEUE,))
    pbx = access.token(Role.SERVICE, "omni-tour-pbx")
    try:
        async with step("agent login on the AgentSession stream", "routing"):
            await desk.start()
        say(f"agent {TOUR_AGENT} logged in to the routing desk (queue {QUEUE})")
        async with access.channel("sessions", staff) as sessions_channel, \
                access.channel("sessions", pbx) as pbx_channel:
            sessions = sessions_pb2_grpc.SessionServiceStub(sessions_channel)
            telephony = sessions_pb2_grpc.TelephonyServiceStub(pbx_channel)

            # 1. Chat on the web widget (WebSocket), signed in on the company's site: the site
            # signs email and phone (typed ones would stay unverified and find no customer).
            identity_token = access.identity_token(email=email, phone=phone, name="Li Wei")
            async with step("customer chat over WebSocket", "sessions (WebSocket)"), \
                    websockets.connect(access.websocket_url) as ws:
                await ws.send(json.dumps({"start": {"handle": f"web-{tag}", "display_name": "Li Wei",
                                                    "identity_token": identity_token}}))
                chat_session = (await _ws_next(ws, "started", step_seconds))["session_id"]
                await ws.send(json.dumps({"text": {"text": "Hello, my invoice was charged twice this month."}}))
                say(f"customer Li Wei <{email}> started chat {chat_session}: 'my invoice was charged twice'")
                async with step("offer of the chat", "routing"):
                    offered_at, offer = await desk.take(lambda w: w.session_id == chat_session, "the chat")
                result.handled.append(_handled("chat", offered_at, offer))
                async with step("chat connected to the agent", "sessions"):
                    await _connected(sessions, chat_session, step_seconds)
                await sessions.SendReply(sessions_pb2.SendReplyRequest(
                    session_id=chat_session, text="Sorry about that — I am checking the invoice now.",
                    request_id=f"tour-{tag}-chat"), timeout=step_seconds)
                reply = await _ws_next(ws, "message", step_seconds)
                while reply.get("direction") != "DIRECTION_OUTBOUND":
                    reply = await _ws_next(ws, "message", step_seconds)
                say(f"  agent answered the chat after {result.handled[-1].wait_seconds:.1f}s: {reply['text']!r}")
                await desk.wrap_up(offer.work.id)
                await ws.send(json.dumps({"end": {}}))

            # 2. The same customer calls about it (the PBX reports the call; IVR 1 = billing).
            call_id = f"tour-call-{tag}"
            async with step("customer call through the TelephonyService", "sessions (telephony)"):
                await telephony.StartCall(sessions_pb2.StartCallRequest(
                    call_id=call_id, ani=phone, dnis="10086", language="en", previous_session_id=chat_session),
                    timeout=step_seconds)
                queued = await telephony.SubmitIvrInput(sessions_pb2.SubmitIvrInputRequest(
                    call_id=call_id, digits="1"), timeout=step_seconds)
            call_session = queued.session.id
            say(f"customer called from {phone} (call {call_id}), IVR 1 -> queue {queued.session.queue}")
            async with step("offer of the call", "routing"):
                offered_at, offer = await desk.take(lambda w: w.session_id == call_session, "the call")
            result.handled.append(_handled("phone", offered_at, offer))
            async with step("answering and ending the call", "sessions (telephony)"):
                await telephony.AnswerCall(sessions_pb2.AnswerCallRequest(call_id=call_id, agent_id=TOUR_AGENT),
                                           timeout=step_seconds)
                await telephony.EndCall(sessions_pb2.EndCallRequest(call_id=call_id), timeout=step_seconds)
            say(f"  agent took the call after {result.handled[-1].wait_seconds:.1f}s")
            await desk.wrap_up(offer.work.id)

            # 3. And emails, naming the ticket number the agent gave on the phone: a mail that names
            # no ticket and answers none is a new matter (docs/tickets.md, "Threading rules").
            async with step("the ticket number of the call", "tickets"):
                ticket_id = await _ticket_of_session(sessions, call_session, step_seconds)
            async with step("customer email over SMTP", "sessions (SMTP)"):
                host, port = access.smtp
                await asyncio.to_thread(_send_mail, host, port, email, f"Invoice charged twice [#{ticket_id}]",
                                        f"Hello, as discussed on the phone: my invoice was charged twice (ref {tag}). "
                                        "Please confirm the correction in writing.")
            say(f"customer emailed support@example.com from {email}")
            async with step("offer of the email", "routing"):
                offered_at, offer = await desk.take(
                    lambda w: w.channel == common_pb2.CHANNEL_EMAIL and (
                        tag in w.text or any(i.value == email for i in w.customer.identities)), "the email")
            result.handled.append(_handled("email", offered_at, offer))
            async with step("agent email reply", "sessions"):
                await sessions.SendReply(sessions_pb2.SendReplyRequest(
                    session_id=offer.work.session_id, text="The duplicate charge is refunded. Sorry!",
                    request_id=f"tour-{tag}-email"), timeout=step_seconds)
            say(f"  agent answered the email after {result.handled[-1].wait_seconds:.1f}s")
            await desk.wrap_up(offer.work.id)
    finally:
        await desk.close()

    # 4. Another customer asks web chat where their parcel is: bot first for that intent.
    async with step("self-service chat over WebSocket", "sessions (WebSocket)"):
        await _self_service(access, tag, result, say, step_seconds)

    async with step("reading the customer's tickets", "tickets"):
        await _collect_tickets(access, result, step_seconds)
    _summarise(result, say)
    return result


async def _self_service(access: StackAccess, tag: str, result: TourResult, say: Callable[[str], None],
                        step_seconds: float) -> None:
    async with websockets.connect(access.websocket_url) as ws:
        await ws.send(json.dumps({"start": {"handle": f"web-parcel-{tag}", "display_name": "Emma Brown"}}))
        session_id = (await _ws_next(ws, "started", step_seconds))["session_id"]
        await ws.send(json.dumps({"text": {"text": "Where is my parcel? I ordered it last week."}}))
        say(f"\ncustomer Emma Brown started chat {session_id}: 'Where is my parcel?'")
        try:
            async with asyncio.timeout(step_seconds):
                while (message := await _ws_next(ws, "message", step_seconds))["direction"] != "DIRECTION_OUTBOUND":
                    pass
        except TimeoutError:
            # A stack without the bot worker, or whose chat queue predates bot-first, still tours.
            say(f"  no self-service answer within {step_seconds:g}s (`make run` starts a bot worker)")
            return
        result.bot_answer = str(message["text"])
        say(f"  the self-service bot ({message['sender']}) answered from the knowledge base: "
            f"{result.bot_answer.splitlines()[0]!r}")
        await ws.send(json.dumps({"text": {"text": "Thanks, that helps!"}}))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(step_seconds):
                while json.loads(await ws.recv()).get("state") != "SESSION_STATE_ENDED":
                    pass
                result.bot_resolved = True
        say("  customer said thanks: " + ("the chat ended, resolved by the bot without an agent"
                                          if result.bot_resolved else "but the chat did not end"))


async def _ticket_of_session(sessions: sessions_pb2_grpc.SessionServiceAsyncStub, session_id: str,
                             step_seconds: float) -> str:
    """The ticket a session's interactions landed on (threading is asynchronous: poll for it)."""
    deadline = time.monotonic() + step_seconds
    while not (session := await sessions.GetSession(sessions_pb2.GetSessionRequest(id=session_id),
                                                    timeout=step_seconds)).ticket_id:
        if time.monotonic() > deadline:
            raise TimeoutError(f"session {session_id} got no ticket within {step_seconds:g} s")
        await asyncio.sleep(0.2)
    return session.ticket_id


async def _collect_tickets(access: StackAccess, result: TourResult, step_seconds: float) -> None:
    """Threading is asynchronous (events): poll until the three contacts are on tickets."""
    async with access.channel("tickets", access.token(Role.SUPERVISOR, "omni-tour")) as channel:
        stub = tickets_pb2_grpc.TicketServiceStub(channel)
        deadline = time.monotonic() + step_seconds
        while True:
            context = await stub.GetCustomerContext(tickets_pb2.GetCustomerContextRequest(
                identity=common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_EMAIL, value=result.customer_email)),
                timeout=step_seconds)
            result.customer_id = context.customer.id
            page = await stub.ListTickets(tickets_pb2.ListTicketsRequest(customer_id=context.customer.id,
                                                                         page_size=50), timeout=step_seconds)
            # Listed tickets carry no timeline; GetTicket has the interactions.
            result.tickets = [await stub.GetTicket(tickets_pb2.GetTicketRequest(id=t.id), timeout=step_seconds)
                              for t in page.tickets]
            if result.one_ticket_for_all_channels or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.5)


def _summarise(result: TourResult, say: Callable[[str], None]) -> None:
    say("")
    say(f"customer {result.customer_id} ({result.customer_email}): {len(result.tickets)} ticket(s)")
    for ticket in result.tickets:
        channels = ", ".join(sorted(_channels(ticket))) or "none"
        links = ", ".join(f"{tickets_pb2.TicketLinkKind.Name(link.kind)} {link.ticket_id}" for link in ticket.links)
        say(f"  {ticket.id} [{tickets_pb2.TicketStatus.Name(ticket.status)}] {ticket.subject!r}: "
            f"{len(ticket.interactions)} interactions, inbound on {channels}" + (f"; links: {links}" if links else ""))
    say("offers and waits:")
    for handled in result.handled:
        reasons = ", ".join(handled.reasons) or "-"
        say(f"  {handled.channel:<6} session {handled.session_id} work {handled.work_id}: waited "
            f"{handled.wait_seconds:.1f}s, offer attempts {handled.offer_attempts}, routing reasons: {reasons}")
    verdict = ("one ticket holds the call, the chat and the email" if result.one_ticket_for_all_channels
               else "the three contacts did NOT end up on one ticket")
    say(f"result: {verdict}")
