"""Follow-up tasks on the real stack: tickets, sessions, routing and supervision in-process on real
NATS and MongoDB-protocol servers, agents on real desk streams. An agent who handled a call
schedules a follow-up; when due it is offered to them, done, and on the caller's ticket; one whose
agent is away falls to the group after the grace period and, done late, raises the overdue alert;
a cancelled one is on the ticket too; bad requests are refused."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from omni.cli import main as cli
from omni.devstack.local_issuer import LocalIssuer
from omni.kpis import follow_ups as follow_up_kpis
from omni.reports.domain import document
from omni.reports.domain.periods import PeriodKind, containing
from omni.reports.sources import RoutingFollowUps
from omni.routing.service import SPEC as ROUTING
from omni.runtime.auth import Role, bearer
from omni.runtime.config import ServiceSettings
from omni.sessions.service import SPEC as SESSIONS
from omni.sessions.settings import SessionSettings
from omni.supervision.service import SPEC as SUPERVISION
from omni.supervision.settings import SupervisionSettings
from omni.tickets.service import SPEC as TICKETS
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc
from omnichannel.supervision.v1 import supervision_pb2, supervision_pb2_grpc
from omnichannel.tickets.v1 import tickets_pb2, tickets_pb2_grpc
from tests.conftest import StartService
from tests.outbound.conftest import BILLING, Desk, work_item
from tests.support.polling import eventually
from tests.support.settings import routing_settings, settings_for

# Seconds: the grace period for the agent a follow-up is for, and how long after it is due it is on time.
GRACE = 1.5
ON_TIME = 2.0


@dataclasses.dataclass
class FollowUpStack:
    authority: LocalIssuer
    telephony: sessions_pb2_grpc.TelephonyServiceStub
    sessions: sessions_pb2_grpc.SessionServiceStub
    routing: routing_pb2_grpc.RoutingServiceStub
    tickets: tickets_pb2_grpc.TicketServiceStub
    supervision: supervision_pb2_grpc.SupervisionServiceStub
    routing_address: str

    def token(self, role: Role, subject: str, groups: tuple[str, ...] = ("billing",)) -> Any:
        return bearer(self.authority.mint(subject, role, groups=groups))

    def desk(self, agent_id: str) -> Desk:
        return Desk(self.routing, agent_id, self.token(Role.AGENT, agent_id))

    async def handled_call(self, desk: Desk, call_id: str, ani: str) -> routing_pb2.WorkItem:
        """A caller of billing answered and wrapped up by the agent at `desk`, threaded onto a ticket."""
        pbx = self.token(Role.SERVICE, "pbx")
        await self.telephony.StartCall(sessions_pb2.StartCallRequest(call_id=call_id, ani=ani, dnis="10086"),
                                       metadata=pbx)
        await self.telephony.SubmitIvrInput(sessions_pb2.SubmitIvrInputRequest(call_id=call_id, digits=BILLING),
                                            metadata=pbx)
        offer = await desk.next("offer")
        desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
        await self.telephony.EndCall(sessions_pb2.EndCallRequest(call_id=call_id), metadata=pbx)
        desk.send(wrap_up=routing_pb2.WrapUp(work_id=offer.work.id, disposition="resolved"))
        return await self.work(offer.work.id, lambda w: w.state == routing_pb2.WORK_STATE_COMPLETED, "wrapped up")

    async def work(self, work_id: str, until: Callable[[routing_pb2.WorkItem], bool],
                   what: str) -> routing_pb2.WorkItem:
        return await work_item(self.routing, self.token(Role.SUPERVISOR, "S-1"), work_id, until, what)

    async def schedule(self, agent_id: str, work_id: str, due_in: float, *, group: str = "",
                       channel: int = common_pb2.CHANNEL_PHONE, note: str = "", request_id: str = "",
                       groups: tuple[str, ...] = ("billing",)) -> routing_pb2.WorkItem:
        due = Timestamp()
        due.FromNanoseconds(int((time.time() + due_in) * 1e9))
        return await self.routing.ScheduleFollowUp(routing_pb2.ScheduleFollowUpRequest(
            work_id=work_id, channel=channel, due_time=due, group=group, note=note,  # type: ignore[arg-type]
            request_id=request_id), metadata=self.token(Role.AGENT, agent_id, groups))

    async def ticket_notes(self, session_id: str, *prefixes: str) -> list[str]:
        """The texts of the notes on the session's ticket, once one starts with each of `prefixes`."""
        staff = self.token(Role.SUPERVISOR, "S-1")

        async def read() -> list[str]:
            session = await self.sessions.GetSession(sessions_pb2.GetSessionRequest(id=session_id), metadata=staff)
            if not session.ticket_id:
                return []
            ticket = await self.tickets.GetTicket(tickets_pb2.GetTicketRequest(id=session.ticket_id), metadata=staff)
            return [note.text for note in ticket.notes]

        return await eventually(read, lambda notes: all(any(n.startswith(p) for n in notes) for p in prefixes),
                                what=f"notes {prefixes} on the ticket of {session_id}")


@pytest.fixture
async def stack(start_service: StartService, settings: ServiceSettings, authority: LocalIssuer,
                client_settings: Callable[[str], dict[str, str]]) -> AsyncIterator[FollowUpStack]:
    tickets = await start_service(TICKETS, settings_override=settings_for(settings, ServiceSettings,
                                                                          database="tickets"))
    sessions = await start_service(SESSIONS, settings_override=settings_for(settings, SessionSettings,
                                                                            database="sessions"))
    routing = await start_service(ROUTING, settings_override=routing_settings(
        settings, database="routing", tickets_addr=tickets.address, context_timeout=2.0,
        follow_up_grace_seconds=GRACE, follow_up_on_time_seconds=ON_TIME,
        follow_up_max_ahead_seconds=7 * 86400.0, **client_settings("routing")))
    supervision = await start_service(SUPERVISION, settings_override=settings_for(
        settings, SupervisionSettings, database="supervision", routing_addr=routing.address, sweep_seconds=0.2,
        **client_settings("supervision")))
    admin = bearer(authority.mint("seed", Role.ADMIN))
    channels = [grpc.aio.insecure_channel(host.address) for host in (tickets, sessions, routing, supervision)]
    routing_stub = routing_pb2_grpc.RoutingServiceStub(channels[2])
    for queue_id in ("billing", "care"):
        await routing_stub.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
            id=queue_id, display_name=queue_id.title(), groups=[queue_id], overflow_threshold=1000,
            policy=routing_pb2.RoutingPolicy(offer_timeout=Duration(seconds=60)))), metadata=admin)
    for agent_id in ("A-1", "A-2"):
        await routing_stub.CreateAgent(routing_pb2.CreateAgentRequest(agent=routing_pb2.Agent(
            id=agent_id, display_name=agent_id, groups=["billing"], languages=["en", "zh"],
            capacities=[routing_pb2.ChannelCapacity(channel=common_pb2.CHANNEL_PHONE, max_concurrent=1)])),
            metadata=admin)
    yield FollowUpStack(authority, sessions_pb2_grpc.TelephonyServiceStub(channels[1]),
                        sessions_pb2_grpc.SessionServiceStub(channels[1]), routing_stub,
                        tickets_pb2_grpc.TicketServiceStub(channels[0]),
                        supervision_pb2_grpc.SupervisionServiceStub(channels[3]), routing.address)
    for channel in channels:
        await channel.close()


async def _refused(call: Any, code: grpc.StatusCode, words: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    assert refused.value.code() == code and words in (refused.value.details() or ""), refused.value.details()


async def test_a_follow_up_is_offered_to_its_agent_when_due_done_and_on_the_ticket(
        stack: FollowUpStack, capsys: pytest.CaptureFixture[str]) -> None:
    one = stack.desk("A-1")
    contact = await stack.handled_call(one, "call-f1", "+8613700137001")
    two = stack.desk("A-2")  # available, and idle longer than A-1 by the time it is due

    # Bad requests first: each refused with what to do instead.
    await _refused(stack.schedule("A-1", contact.id, -60), grpc.StatusCode.INVALID_ARGUMENT, "in the past")
    await _refused(stack.schedule("A-1", contact.id, 8 * 86400), grpc.StatusCode.INVALID_ARGUMENT, "7 days ahead")
    await _refused(stack.schedule("A-1", contact.id, 60, channel=common_pb2.CHANNEL_CHAT),
                   grpc.StatusCode.INVALID_ARGUMENT, "a call, an email or an SMS")
    await _refused(stack.schedule("A-1", contact.id, 60, group="nobody", groups=("billing", "nobody")),
                   grpc.StatusCode.NOT_FOUND, "group 'nobody' serves no routing queue")
    await _refused(stack.schedule("A-1", contact.id, 60, group="care"), grpc.StatusCode.PERMISSION_DENIED,
                   "group care is not one of yours")
    await _refused(stack.schedule("A-2", contact.id, 60), grpc.StatusCode.PERMISSION_DENIED,
                   "was handled by A-1, not by you")

    follow_up = await stack.schedule("A-1", contact.id, 1.0, note="confirm the refund arrived", request_id="r-1")
    again = await stack.schedule("A-1", contact.id, 1.0, note="confirm the refund arrived", request_id="r-1")
    assert again.id == follow_up.id  # a retried request adds none
    assert follow_up.follow_up.follows_work_id == contact.id and follow_up.preferred_agent_id == "A-1"
    assert follow_up.channel == common_pb2.CHANNEL_PHONE and follow_up.queue_id == "billing"

    offer = await one.next("offer")
    assert offer.work.id == follow_up.id and offer.work.text == "confirm the refund arrived"
    assert any(r.code == "affinity" for r in offer.work.reasons)
    one.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    one.send(wrap_up=routing_pb2.WrapUp(work_id=follow_up.id, disposition="reached", note="refund confirmed"))
    done = await stack.work(follow_up.id, lambda w: w.state == routing_pb2.WORK_STATE_COMPLETED, "done")
    assert done.assigned_agent_id == "A-1"

    notes = await stack.ticket_notes(contact.session_id, "follow-up scheduled by A-1", "follow-up done by A-1")
    scheduled = next(n for n in notes if n.startswith("follow-up scheduled"))
    assert "call due" in scheduled and "for A-1 (then group billing)" in scheduled
    assert "confirm the refund arrived" in scheduled
    finished = next(n for n in notes if n.startswith("follow-up done"))
    assert "on time" in finished and "reached: refund confirmed" in finished

    # The same from the terminal: `omni followup`, as A-1.
    async def omni(*words: str) -> tuple[int, str]:
        code = await asyncio.to_thread(cli.main, ["followup", *words, "--token",
                                                  stack.authority.mint("A-1", Role.AGENT, groups=("billing",)),
                                                  "--routing", stack.routing_address])
        return code, capsys.readouterr().out

    code, out = await omni("schedule", contact.id, "--in", "2h", "--channel", "email", "--note", "send the invoice")
    assert code == 0 and out.startswith("scheduled FU-") and "email due" in out
    assert "for A-1 (then group billing)" in out
    code, out = await omni("schedule", contact.id, "--in", "40d")
    assert code == 1 and "refused (INVALID_ARGUMENT)" in out and "days ahead" in out
    code, out = await omni("list")
    assert f"{follow_up.id}  call due" in out and "completed on time by A-1" in out and "2 follow-up(s)" in out
    for desk in (one, two):
        desk.close()
        desk.call.cancel()


async def test_an_away_agent_s_follow_up_goes_to_the_group_after_the_grace_and_late_is_alerted(
        stack: FollowUpStack) -> None:
    one = stack.desk("A-1")
    contact = await stack.handled_call(one, "call-f2", "+8613700137002")
    cancelled = await stack.schedule("A-1", contact.id, 600, channel=common_pb2.CHANNEL_SMS, request_id="c-1")
    await stack.routing.CancelFollowUp(routing_pb2.CancelFollowUpRequest(
        work_id=cancelled.id, reason="customer called in"), metadata=stack.token(Role.AGENT, "A-1"))
    await _refused(stack.routing.CancelFollowUp(routing_pb2.CancelFollowUpRequest(work_id=contact.id),
                                                metadata=stack.token(Role.AGENT, "A-1")),
                   grpc.StatusCode.FAILED_PRECONDITION, "is not a follow-up")

    one.send(set_state=routing_pb2.SetAgentStateRequest(agent_id="A-1", status=routing_pb2.AGENT_STATUS_BREAK))
    await stack.work(contact.id, lambda w: True, "read")  # the break is applied before the follow-up is due
    follow_up = await stack.schedule("A-1", contact.id, 0.5, channel=common_pb2.CHANNEL_PHONE, request_id="g-1")
    scheduled_at = time.time()
    two = stack.desk("A-2")
    offer = await two.next("offer")
    assert offer.work.id == follow_up.id
    # Not before the grace period for A-1 was over.
    assert time.time() - scheduled_at >= 0.5 + GRACE - 0.3
    assert any(r.code == "affinity_expired" for r in offer.work.reasons)

    # Nobody took it by its deadline: supervisors are alerted, once, naming it.
    async def overdue() -> list[supervision_pb2.Alert]:
        response = await stack.supervision.ListAlerts(supervision_pb2.ListAlertsRequest(),
                                                      metadata=stack.token(Role.SUPERVISOR, "S-1"))
        return [a for a in response.alerts if a.kind == supervision_pb2.ALERT_KIND_FOLLOW_UP_OVERDUE]

    [alert] = await eventually(overdue, bool, what="the follow-up overdue alert")
    assert alert.work_id == follow_up.id and alert.agent_id == "A-1" and alert.queue_id == "billing"
    two.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    two.send(wrap_up=routing_pb2.WrapUp(work_id=follow_up.id, disposition="reached"))

    notes = await stack.ticket_notes(contact.session_id, "follow-up done by A-2", "follow-up cancelled by A-1")
    assert any("min late" in n for n in notes if n.startswith("follow-up done by A-2"))
    assert any("customer called in" in n and "SMS was due" in n for n in notes)

    # The KPI as the reports service reads it from routing: done late, the cancelled one left out.
    source = RoutingFollowUps(stack.routing_address, stack.authority.mint("reports", Role.SERVICE), 10)
    now = dt.datetime.now(dt.UTC)
    figures = follow_up_kpis.figures(await source.between(now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)),
                                     now.timestamp())
    assert (figures.due, figures.done, figures.late, figures.cancelled, figures.on_time_rate) == (2, 1, 1, 1, 0.0)
    page = document.to_html(containing(PeriodKind.DAY, now), [], [], now, figures)
    assert "<h2>Follow-ups</h2>" in page and "<td>0.0 %</td>" in page
    for desk in (one, two):
        desk.close()
        desk.call.cancel()
