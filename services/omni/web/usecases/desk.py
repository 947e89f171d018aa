"""The desk's calls: sessions (reply, note, typing, read, attachments), routing (transfer,
queues), knowledge (suggestions, articles) and tickets (context, tickets, changes, search).

Every method relays to one service with the caller's own token and returns what it answered
as JSON; no rule of who may do what is repeated here: the services decide.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from omni.runtime.auth import bearer
from omni.runtime.errors import DomainError, InvalidArgument, NotFound, PermissionDenied
from omni.web.convert import to_json
from omni.web.domain.inputs import Json
from omni.web.domain.search import SearchKind, search_kind
from omni.web.domain.work_notes import transfer_note, transfer_request_id
from omni.web.upstream import Upstream, relay
from omni.web.usecases.callers import Caller
from omnichannel.common.v1 import common_pb2
from omnichannel.knowledge.v1 import knowledge_pb2
from omnichannel.routing.v1 import routing_pb2
from omnichannel.sessions.v1 import sessions_pb2
from omnichannel.tickets.v1 import tickets_pb2

log = logging.getLogger("omni.web.desk")
SUGGESTIONS = 3
# A ticket's timeline reads the conversations of its most recent sessions, at most this many.
HISTORY_SESSIONS = 20
# What the timeline needs of each session: its transcript is on the ticket already.
TIMELINE_FIELDS = ("id", "channel", "transitions", "notes")
TRANSFER_REASONS = tuple(n.removeprefix("TRANSFER_REASON_").lower() for n in routing_pb2.TransferReason.keys()[1:])
TICKET_STATUSES = tuple(n.removeprefix("TICKET_STATUS_").lower() for n in tickets_pb2.TicketStatus.keys()[1:])
_IDENTITY_KINDS = {SearchKind.PHONE: common_pb2.IDENTITY_KIND_PHONE, SearchKind.EMAIL: common_pb2.IDENTITY_KIND_EMAIL}
# What a follow-up does (the desk's words) -> routing's channel.
FOLLOW_UP_CHANNELS = {"call": common_pb2.CHANNEL_PHONE, "email": common_pb2.CHANNEL_EMAIL,
                      "sms": common_pb2.CHANNEL_SMS}
TICKET_PRIORITIES = tuple(n.removeprefix("TICKET_PRIORITY_").lower() for n in tickets_pb2.TicketPriority.keys()[1:])


@dataclasses.dataclass(frozen=True)
class Download:
    filename: str
    content: bytes


class Desk:
    def __init__(self, upstream: Upstream) -> None:
        self._up = upstream
        self._timeout = upstream.timeout

    async def profile(self, caller: Caller) -> Json:
        """Who signed in, with their agent record when routing knows them (supervisors may not be agents)."""
        staff = caller.staff
        me: Json = {"subject": staff.subject, "role": staff.role.value, "groups": list(staff.groups),
                    "display_name": staff.subject}
        try:
            agent = await relay(self._up.routing.GetAgent(routing_pb2.GetAgentRequest(id=staff.subject),
                                                          metadata=bearer(caller.token), timeout=self._timeout))
        except NotFound:
            return me
        return {**me, "display_name": agent.display_name or staff.subject, "agent": to_json(agent)}

    # ----- sessions ------------------------------------------------------------------------

    async def session(self, caller: Caller, session_id: str) -> Json:
        return to_json(await relay(self._up.sessions.GetSession(
            sessions_pb2.GetSessionRequest(id=session_id), metadata=bearer(caller.token), timeout=self._timeout)))

    async def reply(self, caller: Caller, session_id: str, text: str, request_id: str,
                    cc: Sequence[str] = ()) -> Json:
        return to_json(await relay(self._up.sessions.SendReply(
            sessions_pb2.SendReplyRequest(session_id=session_id, text=text, request_id=request_id, cc=cc),
            metadata=bearer(caller.token), timeout=self._timeout)))

    async def note(self, caller: Caller, session_id: str, text: str, request_id: str,
                   kind: sessions_pb2.SessionNoteKind.ValueType = sessions_pb2.SESSION_NOTE_KIND_STAFF) -> Json:
        return to_json(await relay(self._up.sessions.AddSessionNote(
            sessions_pb2.AddSessionNoteRequest(session_id=session_id, text=text, request_id=request_id, kind=kind),
            metadata=bearer(caller.token), timeout=self._timeout)))

    async def draft_summary(self, caller: Caller, session_id: str) -> Json:
        return to_json(await relay(self._up.sessions.DraftSummary(
            sessions_pb2.DraftSummaryRequest(session_id=session_id), metadata=bearer(caller.token),
            timeout=self._timeout)))

    async def typing(self, caller: Caller, session_id: str) -> None:
        await relay(self._up.sessions.SendTyping(sessions_pb2.SendTypingRequest(session_id=session_id),
                                                 metadata=bearer(caller.token), timeout=self._timeout))

    async def read(self, caller: Caller, session_id: str, message_id: str) -> None:
        await relay(self._up.sessions.MarkRead(sessions_pb2.MarkReadRequest(session_id=session_id,
                                                                            message_id=message_id),
                                               metadata=bearer(caller.token), timeout=self._timeout))

    async def attachment(self, caller: Caller, session_id: str, attachment_id: str) -> Download:
        found = await relay(self._up.sessions.GetAttachment(
            sessions_pb2.GetAttachmentRequest(session_id=session_id, attachment_id=attachment_id),
            metadata=bearer(caller.token), timeout=self._timeout))
        if found.meta.truncated:
            raise NotFound(f"attachment {found.meta.filename!r} was over the size limit and was not kept")
        return Download(found.meta.filename or attachment_id, found.content)

    # ----- routing -------------------------------------------------------------------------

    async def transfer(self, caller: Caller, work_id: str, code: str, reason: str, queue_id: str,
                       agent_id: str) -> Json:
        """Routing moves the work; the conversation's record says where to and why, for the next
        agent and the ticket. Work that moved without its note is still moved (the answer warns)."""
        if not queue_id and not agent_id:
            raise InvalidArgument("name a queue or an agent to transfer to")
        work = await relay(self._up.routing.TransferWork(
            routing_pb2.TransferWorkRequest(work_id=work_id, reason=reason, target_queue_id=queue_id,
                                            target_agent_id=agent_id,
                                            reason_code=routing_pb2.TransferReason.Value(
                                                f"TRANSFER_REASON_{code.upper()}")),
            metadata=bearer(caller.token), timeout=self._timeout))
        try:
            await self.note(caller, work.session_id or work.id, transfer_note(queue_id or agent_id, reason),
                            transfer_request_id(work.id, work.transfer_count))
        except DomainError as exc:
            log.warning("work %s was transferred but its note was not kept: %s", work.id, exc.message)
            return {**to_json(work), "warning": f"transferred; the transfer note was not kept: {exc.message}"}
        return to_json(work)

    async def follow_up(self, caller: Caller, work_id: str, channel: str, due: dt.datetime, group: str, note: str,
                        request_id: str) -> Json:
        """A follow-up of the work (call, email or SMS) at `due`, for the agent or one of their
        groups; routing checks the time, the group and that the work is the agent's."""
        when = Timestamp()
        when.FromDatetime(due)
        work = await relay(self._up.routing.ScheduleFollowUp(
            routing_pb2.ScheduleFollowUpRequest(work_id=work_id, channel=FOLLOW_UP_CHANNELS[channel], due_time=when,
                                                group=group, note=note, request_id=request_id),
            metadata=bearer(caller.token), timeout=self._timeout))
        return to_json(work)

    async def queues(self, caller: Caller) -> list[Json]:
        found = await relay(self._up.routing.ListQueues(routing_pb2.ListQueuesRequest(page_size=200),
                                                        metadata=bearer(caller.token), timeout=self._timeout))
        return [{"id": q.id, "display_name": q.display_name} for q in found.queues]

    # ----- knowledge -----------------------------------------------------------------------

    async def suggestions(self, caller: Caller, text: str, session_id: str = "", queue: str = "") -> list[Json]:
        found = await relay(self._up.knowledge.Suggest(
            knowledge_pb2.SuggestRequest(text=text, session_id=session_id, queue=queue, limit=SUGGESTIONS),
            metadata=bearer(caller.token), timeout=self._timeout))
        return [{"article_id": h.article.id, "title": h.article.title, "score": h.score} for h in found.hits]

    async def article(self, caller: Caller, article_id: str) -> Json:
        found = await relay(self._up.knowledge.GetArticle(knowledge_pb2.GetArticleRequest(id=article_id),
                                                          metadata=bearer(caller.token), timeout=self._timeout))
        return {"id": found.id, "title": found.title, "body": found.body}

    # ----- tickets -------------------------------------------------------------------------

    async def customer_context(self, caller: Caller, customer_id: str, email: str, phone: str) -> Json:
        """The customer by id, or by the email, then the phone of the contact when routing's screen
        pop could not name them (a chat's handle is the widget's anonymous one): the first that
        tickets knows."""
        if customer_id:
            asked = [tickets_pb2.GetCustomerContextRequest(customer_id=customer_id, interaction_limit=20)]
        else:
            asked = [tickets_pb2.GetCustomerContextRequest(
                identity=common_pb2.Identity(kind=_IDENTITY_KINDS[kind], value=value), interaction_limit=20)
                for kind, value in ((SearchKind.EMAIL, email), (SearchKind.PHONE, phone)) if value]
            if not asked:
                raise InvalidArgument("name the customer: customer_id, email or phone")
        unknown = NotFound("no customer has these identities")
        for request in asked:
            try:
                return to_json(await relay(self._up.tickets.GetCustomerContext(
                    request, metadata=bearer(caller.token), timeout=self._timeout)))
            except NotFound as exc:
                unknown = exc
        raise unknown

    async def tickets(self, caller: Caller, customer_id: str) -> list[Json]:
        found = await relay(self._up.tickets.ListTickets(
            tickets_pb2.ListTicketsRequest(customer_id=customer_id, page_size=50),
            metadata=bearer(caller.token), timeout=self._timeout))
        return [to_json(t) for t in found.tickets]

    async def ticket(self, caller: Caller, ticket_id: str) -> Json:
        return to_json(await relay(self._up.tickets.GetTicket(tickets_pb2.GetTicketRequest(id=ticket_id),
                                                              metadata=bearer(caller.token),
                                                              timeout=self._timeout)))

    async def ticket_timeline(self, caller: Caller, ticket_id: str) -> Json:
        """The ticket (its interactions and notes) with the conversations behind its interactions,
        for its cross-channel timeline: each session's state changes (queued with a transfer's
        reason, connected, ended, a call's steps) and internal notes. Sessions the caller may not
        see are counted, not shown."""
        ticket = await relay(self._up.tickets.GetTicket(tickets_pb2.GetTicketRequest(id=ticket_id),
                                                        metadata=bearer(caller.token), timeout=self._timeout))
        newest_first = sorted(ticket.interactions, key=lambda i: i.occurred_at.ToNanoseconds(), reverse=True)
        session_ids = list(dict.fromkeys(i.session_id for i in newest_first if i.session_id))[:HISTORY_SESSIONS]
        found = await asyncio.gather(*(self._visible_session(caller, s) for s in session_ids))
        sessions = [{key: value for key, value in to_json(s).items() if key in TIMELINE_FIELDS}
                    for s in found if s is not None]
        return {"ticket": to_json(ticket), "sessions": sessions, "hidden": len(session_ids) - len(sessions)}

    async def _visible_session(self, caller: Caller, session_id: str) -> sessions_pb2.Session | None:
        try:
            return await relay(self._up.sessions.GetSession(sessions_pb2.GetSessionRequest(id=session_id),
                                                            metadata=bearer(caller.token), timeout=self._timeout))
        except (NotFound, PermissionDenied):
            return None

    async def change_ticket(self, caller: Caller, ticket_id: str, version: int, status: str, priority: str) -> Json:
        """`version`: the ticket's version the agent saw; a change made meanwhile is refused (409)."""
        ticket = tickets_pb2.Ticket(id=ticket_id, version=version)
        paths = []
        if status:
            ticket.status = tickets_pb2.TicketStatus.Value("TICKET_STATUS_" + status.upper())
            paths.append("status")
        if priority:
            ticket.priority = tickets_pb2.TicketPriority.Value("TICKET_PRIORITY_" + priority.upper())
            paths.append("priority")
        return to_json(await relay(self._up.tickets.UpdateTicket(
            tickets_pb2.UpdateTicketRequest(ticket=ticket, update_mask=FieldMask(paths=paths)),
            metadata=bearer(caller.token), timeout=self._timeout)))

    async def assign_ticket(self, caller: Caller, ticket_id: str, assignee_id: str, group: str) -> Json:
        return to_json(await relay(self._up.tickets.AssignTicket(
            tickets_pb2.AssignTicketRequest(ticket_id=ticket_id, assignee_id=assignee_id, group=group),
            metadata=bearer(caller.token), timeout=self._timeout)))

    async def merge_tickets(self, caller: Caller, source_id: str, target_id: str) -> Json:
        return to_json(await relay(self._up.tickets.MergeTickets(
            tickets_pb2.MergeTicketsRequest(source_ticket_id=source_id, target_ticket_id=target_id),
            metadata=bearer(caller.token), timeout=self._timeout)))

    async def split_ticket(self, caller: Caller, ticket_id: str, interaction_ids: list[str], subject: str) -> Json:
        return to_json(await relay(self._up.tickets.SplitTicket(
            tickets_pb2.SplitTicketRequest(ticket_id=ticket_id, interaction_ids=interaction_ids, subject=subject),
            metadata=bearer(caller.token), timeout=self._timeout)))

    async def search_tickets(self, caller: Caller, query: str) -> list[Json]:
        """A ticket number, or the tickets of the customer with this phone or email."""
        kind, value = search_kind(query)
        if kind is SearchKind.TICKET:
            return [await self.ticket(caller, value)]
        identity = common_pb2.Identity(kind=_IDENTITY_KINDS[kind], value=value)
        customer = await relay(self._up.tickets.LookupCustomer(tickets_pb2.LookupCustomerRequest(identity=identity),
                                                               metadata=bearer(caller.token), timeout=self._timeout))
        return await self.tickets(caller, customer.id)
