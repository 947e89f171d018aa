"""gRPC ↔ use cases for SessionService (ChatService and TelephonyService: `servicer_chat`,
`servicer_telephony`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from omni.runtime.auth import current_principal
from omni.runtime.interceptors import Context
from omni.runtime.paging import PageRequest, PageTokens, page_size
from omni.runtime.validation import require
from omni.sessions import convert
from omni.sessions.usecases.notes import Notes
from omni.sessions.usecases.replies import Replies
from omni.sessions.usecases.sessions import Sessions
from omnichannel.sessions.v1 import sessions_pb2 as pb
from omnichannel.sessions.v1 import sessions_pb2_grpc


class SessionServicer(sessions_pb2_grpc.SessionServiceServicer):
    def __init__(self, sessions: Sessions, replies: Replies, notes: Notes, page_tokens: PageTokens) -> None:
        self._sessions = sessions
        self._replies = replies
        self._notes = notes
        self._tokens = page_tokens

    async def GetSession(self, request: pb.GetSessionRequest, context: Context) -> pb.Session:
        return convert.session_to_proto(await self._sessions.get(current_principal(), require(request.id, "id")))

    async def ListSessions(self, request: pb.ListSessionsRequest, context: Context) -> pb.ListSessionsResponse:
        principal = current_principal()
        wanted = convert.session_filter(request)
        asked = [request.channel, request.state, request.customer_id, request.queue]
        after = self._tokens.read(request.page_token, listing="sessions", filters=asked)
        page = await self._sessions.list(principal, wanted, PageRequest(page_size(request.page_size), after))
        return pb.ListSessionsResponse(
            sessions=[convert.session_to_proto(s) for s in page.items],
            next_page_token=self._tokens.issue(page.next_after, listing="sessions", filters=asked))

    async def WatchSession(self, request: pb.WatchSessionRequest, context: Context) -> AsyncIterator[pb.SessionUpdate]:
        updates = self._sessions.watch(current_principal(), request.session_id)
        async with contextlib.aclosing(updates):
            async for update in updates:
                yield convert.update_to_proto(update)

    async def SendReply(self, request: pb.SendReplyRequest, context: Context) -> pb.SendReplyResponse:
        sent = await self._replies.send(current_principal(), request.session_id, request.text, request.html,
                                        request.request_id, request.cc)
        return pb.SendReplyResponse(message=convert.message_to_proto(sent.message),
                                    message_id=sent.message.email.message_id if sent.message.email else "")

    async def AddSessionNote(self, request: pb.AddSessionNoteRequest, context: Context) -> pb.SessionNote:
        note = await self._notes.add(current_principal(), request.session_id, request.text, request.request_id)
        return convert.note_to_proto(note)

    async def UpdateSessionState(self, request: pb.UpdateSessionStateRequest, context: Context) -> pb.Session:
        state = convert.require_state(request.state)
        session = await self._sessions.change_state(current_principal(), request.session_id, state,
                                                    reason=request.reason, agent_id=request.agent_id,
                                                    ticket_id=request.ticket_id)
        return convert.session_to_proto(session)

    async def SendTyping(self, request: pb.SendTypingRequest, context: Context) -> pb.SendTypingResponse:
        await self._sessions.typing(current_principal(), request.session_id)
        return pb.SendTypingResponse()

    async def MarkRead(self, request: pb.MarkReadRequest, context: Context) -> pb.MarkReadResponse:
        await self._sessions.mark_read(current_principal(), request.session_id, request.message_id)
        return pb.MarkReadResponse()

    async def GetAttachment(self, request: pb.GetAttachmentRequest, context: Context) -> pb.Attachment:
        meta, content = await self._sessions.attachment(current_principal(), request.session_id,
                                                        request.attachment_id)
        return pb.Attachment(meta=convert.attachment_to_proto(meta), content=content)
