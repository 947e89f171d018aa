"""gRPC ↔ domain for SessionService, ChatService and TelephonyService."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from omni.runtime.auth import MANAGERS, Role, current_principal
from omni.runtime.errors import InvalidArgument, NotFound, PermissionDenied
from omni.runtime.interceptors import Context
from omni.runtime.paging import PageRequest, PageTokens, page_size
from omni.runtime.proto_values import require_channel, to_datetime
from omni.runtime.validation import check_length, require
from omni.sessions import convert
from omni.sessions.access import check_agent, check_assignee, check_still_viewable, check_view
from omni.sessions.chat_connection import ChatConnection
from omni.sessions.conversations import Conversations
from omni.sessions.domain.model import TERMINAL, Direction, Note, NoteKind, new_id
from omni.sessions.replies import Replies
from omni.sessions.telephony import Calls, CallStep
from omnichannel.sessions.v1 import sessions_pb2 as pb
from omnichannel.sessions.v1 import sessions_pb2_grpc


class SessionServicer(sessions_pb2_grpc.SessionServiceServicer):
    def __init__(self, conversations: Conversations, replies: Replies, page_tokens: PageTokens) -> None:
        self._c = conversations
        self._repo = conversations.repo
        self._replies = replies
        self._tokens = page_tokens

    async def GetSession(self, request: pb.GetSessionRequest, context: Context) -> pb.Session:
        principal = current_principal()
        session = await self._repo.get(require(request.id, "id"))
        check_view(principal, session)
        return convert.session_to_proto(session, staff=principal.role is not Role.CUSTOMER)

    async def ListSessions(self, request: pb.ListSessionsRequest, context: Context) -> pb.ListSessionsResponse:
        principal = current_principal()
        if principal.role is Role.CUSTOMER:
            raise PermissionDenied("customers cannot list sessions; use GetSession with your own session id")
        filters: dict[str, Any] = {}
        if request.channel:
            filters["channel"] = require_channel(request.channel).value
        if request.state:
            filters["state"] = convert.STATES_BACK[request.state].value
        if request.customer_id:
            filters["customer_id"] = request.customer_id
        if request.queue:
            filters["queue"] = request.queue
        if principal.role not in MANAGERS:
            filters["$or"] = [{"agent_id": principal.subject}, {"queue": {"$in": list(principal.groups)}}]
            if "queue" in filters and filters["queue"] not in principal.groups:
                filters["agent_id"] = principal.subject
        asked = [request.channel, request.state, request.customer_id, request.queue]
        after = self._tokens.read(request.page_token, listing="sessions", filters=asked)
        page = await self._repo.list(filters, PageRequest(page_size(request.page_size), after))
        return pb.ListSessionsResponse(
            sessions=[convert.session_to_proto(s) for s in page.items],
            next_page_token=self._tokens.issue(page.next_after, listing="sessions", filters=asked))

    async def WatchSession(self, request: pb.WatchSessionRequest, context: Context) -> AsyncIterator[pb.SessionUpdate]:
        session_id = require(request.session_id, "session_id")
        principal = current_principal()
        staff = principal.role is not Role.CUSTOMER
        async with self._c.feed.watch(session_id) as updates:
            session = await self._repo.get(session_id)
            check_view(principal, session)
            yield pb.SessionUpdate(session=convert.session_to_proto(session, staff=staff), kind="snapshot")
            if session.terminal:
                return
            while (update := await updates.get()) is not None:
                check_still_viewable(principal, update)
                visible = update if staff else convert.customer_view(update)
                if visible is not None:
                    yield visible
                if update.kind == "state" and convert.STATES_BACK[update.session.state] in TERMINAL:
                    return

    async def SendReply(self, request: pb.SendReplyRequest, context: Context) -> pb.SendReplyResponse:
        sent = await self._replies.send(current_principal(), request.session_id, request.text, request.html,
                                        request.request_id)
        return pb.SendReplyResponse(message=convert.message_to_proto(sent.message),
                                    message_id=sent.message.email.message_id if sent.message.email else "")

    async def AddSessionNote(self, request: pb.AddSessionNoteRequest, context: Context) -> pb.SessionNote:
        principal = current_principal()
        session = await self._repo.get(require(request.session_id, "session_id"))
        check_agent(principal, session)
        text = self._c.check_text(require(request.text, "text"), "text")
        note = Note(id=new_id("N"), kind=NoteKind.STAFF, author_id=principal.subject, text=text,
                    create_time=self._c.clock(), request_id=check_length(request.request_id, "request_id", 200))
        return convert.note_to_proto(await self._c.add_note(session.id, note))

    async def UpdateSessionState(self, request: pb.UpdateSessionStateRequest, context: Context) -> pb.Session:
        if request.state not in convert.STATES_BACK:
            raise InvalidArgument("state is required (e.g. SESSION_STATE_WRAP_UP)")
        session = await self._repo.get(require(request.session_id, "session_id"))
        check_agent(current_principal(), session)
        check_assignee(current_principal(), session, request.agent_id)
        ticket_id = request.ticket_id

        def set_ticket(current: Any) -> None:
            if ticket_id:
                current.ticket_id = ticket_id

        moved = await self._c.move(session.id, convert.STATES_BACK[request.state],
                                   reason=request.reason or "changed by " + current_principal().subject,
                                   agent_id=request.agent_id or None, change=set_ticket)
        return convert.session_to_proto(moved.session)

    async def SendTyping(self, request: pb.SendTypingRequest, context: Context) -> pb.SendTypingResponse:
        session = await self._repo.get(require(request.session_id, "session_id"))
        check_agent(current_principal(), session)
        await self._c.signal(session, "typing", Direction.OUTBOUND)
        return pb.SendTypingResponse()

    async def MarkRead(self, request: pb.MarkReadRequest, context: Context) -> pb.MarkReadResponse:
        session = await self._repo.get(require(request.session_id, "session_id"))
        check_agent(current_principal(), session)
        message_id = require(request.message_id, "message_id")
        if not any(m.id == message_id for m in session.messages):
            raise NotFound(f"message {message_id} is not in session {session.id}")
        await self._c.signal(session, "read", Direction.OUTBOUND, message_id)
        return pb.MarkReadResponse()

    async def GetAttachment(self, request: pb.GetAttachmentRequest, context: Context) -> pb.Attachment:
        session = await self._repo.get(require(request.session_id, "session_id"))
        check_view(current_principal(), session)
        attachment_id = require(request.attachment_id, "attachment_id")
        meta = next((a for m in session.messages for a in m.attachments if a.id == attachment_id), None)
        if meta is None:
            raise NotFound(f"attachment {attachment_id} is not in session {session.id}")
        content = await self._repo.attachment_content(attachment_id)
        return pb.Attachment(meta=convert.attachment_to_proto(meta), content=content or b"")


class ChatServicer(sessions_pb2_grpc.ChatServiceServicer):
    def __init__(self, connection: Callable[[str, bool], ChatConnection]) -> None:
        self._connection = connection

    async def Chat(self, request_iterator: AsyncIterator[pb.ChatClientFrame], context: Context) -> None:  # type: ignore[override]
        # Frames go out through context.write while the client's frames are read: both ways at once.
        principal = current_principal()
        claimed = principal.session_id if principal.role is Role.CUSTOMER else ""
        # A service token is one of the platform's own (a messaging adapter that knows the
        # customer's number, like the PBX's ANI): its identities are trusted. A customer token
        # proves only its session, so a customer follows the web widget's rule.
        trusted = principal.role is Role.SERVICE
        await self._connection(claimed, trusted).run(request_iterator, context.write)


def _call(step: CallStep) -> pb.CallResponse:
    return pb.CallResponse(session=convert.session_to_proto(step.session), prompt=step.prompt)


class TelephonyServicer(sessions_pb2_grpc.TelephonyServiceServicer):
    def __init__(self, calls: Calls) -> None:
        self._calls = calls

    async def StartCall(self, request: pb.StartCallRequest, context: Context) -> pb.CallResponse:
        return _call(await self._calls.start(request.call_id, request.ani, request.dnis, request.language,
                                             request.previous_session_id))

    async def SubmitIvrInput(self, request: pb.SubmitIvrInputRequest, context: Context) -> pb.CallResponse:
        return _call(await self._calls.ivr_input(require(request.call_id, "call_id"), request.digits,
                                                 request.speech_text))

    async def AnswerCall(self, request: pb.AnswerCallRequest, context: Context) -> pb.CallResponse:
        return _call(await self._calls.answer(require(request.call_id, "call_id"), request.agent_id))

    async def TransferCall(self, request: pb.TransferCallRequest, context: Context) -> pb.CallResponse:
        return _call(await self._calls.transfer(require(request.call_id, "call_id"), request.reason,
                                                request.target_queue, request.target_agent_id))

    async def EndCall(self, request: pb.EndCallRequest, context: Context) -> pb.CallResponse:
        return _call(await self._calls.end(require(request.call_id, "call_id"), request.abandoned))

    async def AttachRecording(self, request: pb.AttachRecordingRequest, context: Context) -> pb.CallResponse:
        return _call(await self._calls.attach_recording(require(request.call_id, "call_id"), request.recording_url,
                                                        request.transcript))

    async def RequestCallback(self, request: pb.RequestCallbackRequest, context: Context) -> pb.CallResponse:
        not_before = to_datetime(request.not_before) if request.HasField("not_before") else None
        return _call(await self._calls.request_callback(require(request.call_id, "call_id"), request.number,
                                                        not_before))

