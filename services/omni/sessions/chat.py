"""Customer chat: start, resume with a session token, messages, typing, read markers, end.

Transport-neutral: the gRPC stream and the WebSocket endpoint both drive a `ChatDesk` through
`chat_connection.ChatConnection`.

Who the visitor is: the chat handle (the widget's own anonymous id) and the identities of a
signed identity token are the session's identities; identities merely typed into the start
frame are kept as `claimed_identities` for staff and find no customer, so a stranger cannot
land on someone else's customer record, ticket and history by typing their email.
"""

from __future__ import annotations

import dataclasses
import logging

from omni.runtime.auth import Role, TokenAuthority
from omni.runtime.channels import Channel
from omni.runtime.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from omni.runtime.validation import check_length, require
from omni.sessions.conversations import Conversations, require_open
from omni.sessions.domain.chat_identity import IdentityVerifier
from omni.sessions.domain.identities import match_keys
from omni.sessions.domain.model import Direction, Identity, Message, Session, State

log = logging.getLogger("omni.sessions.chat")


@dataclasses.dataclass(frozen=True)
class ChatOpened:
    session: Session
    # Customer-role bearer token bound to this session: resumes the chat, sees only it.
    token: str


class ChatDesk:
    def __init__(
        self,
        conversations: Conversations,
        authority: TokenAuthority,
        token_ttl_seconds: int,
        verifier: IdentityVerifier,
        *,
        trust_claimed_identities: bool = False,
    ) -> None:
        self._c = conversations
        self._authority = authority
        self._ttl = token_ttl_seconds
        self._verifier = verifier
        self._trust_claimed = trust_claimed_identities

    def _token(self, session: Session) -> str:
        subject = session.first_identity("chat_handle") or session.id
        return self._authority.mint(subject, Role.CUSTOMER, session_id=session.id, ttl_seconds=self._ttl)

    async def start(
        self,
        handle: str,
        display_name: str,
        language: str,
        identities: list[Identity],
        previous_session_id: str,
        identity_token: str = "",
        *,
        trusted: bool = False,
    ) -> ChatOpened:
        """A new chat. `trusted`: the caller vouches for the typed identities (a service)."""
        handle = check_length(require(handle, "start.handle"), "start.handle", 200)
        check_length(display_name, "start.display_name", 200)
        check_length(previous_session_id, "start.previous_session_id", 200)
        for identity in identities:
            require(identity.value, "start.identities[].value")
            check_length(identity.value, "start.identities[].value", 320)
        verified = [Identity("chat_handle", handle)]
        if identity_token:
            visitor = self._verifier.verify(identity_token)
            verified += visitor.identities
            display_name = visitor.name or display_name
        claimed = list(identities)
        if trusted or self._trust_claimed:
            verified, claimed = verified + claimed, []
        region = self._c.repo.region
        known = set(match_keys(verified, region))
        claimed = [i for i in claimed if not set(match_keys([i], region)) <= known]
        previous = await self._previous(previous_session_id, verified, honour_any=trusted or self._trust_claimed)
        session = await self._c.open(
            Channel.CHAT, verified, display_name=display_name, language=language, previous=previous,
            claimed_identities=claimed,
        )
        return ChatOpened(session, self._token(session))

    async def _previous(
        self, previous_session_id: str, verified: list[Identity], *, honour_any: bool
    ) -> Session | None:
        """The session a chat asks to continue, if it may: one sharing the chat handle or a
        verified identity. Anyone else's is ignored (and no error tells a stranger whether it
        exists); the chat then links by its own identities like any other."""
        if not previous_session_id:
            return None
        if honour_any:
            return await self._c.repo.get(previous_session_id)
        try:
            previous = await self._c.repo.get(previous_session_id)
        except NotFound:
            return None
        region = self._c.repo.region
        if set(match_keys(previous.identities, region)) & set(match_keys(verified, region)):
            return previous
        log.info("chat start: previous_session_id %s shares no verified identity; not linked", previous_session_id)
        return None

    async def resume(self, token: str) -> ChatOpened:
        if not token:
            raise InvalidArgument("resume.session_token is required; it was given in the 'started' frame")
        principal = self._authority.verify(token)
        if principal.role is not Role.CUSTOMER or not principal.session_id:
            raise Unauthenticated("this is not a chat session token")
        session = await self._c.repo.get(principal.session_id)
        require_open(session)
        return ChatOpened(session, token)

    async def say(self, session_id: str, text: str, client_message_id: str) -> Message:
        """A customer message; the first one puts the chat in the queue."""
        text = self._c.check_text(require(text, "text.text"), "text.text")
        check_length(client_message_id, "text.client_message_id", 200)
        session = await self._c.repo.get(session_id)
        require_open(session)
        repeated = session.message_for_request(client_message_id)
        if repeated is None:

            def add(current: Session) -> Message:
                require_open(current)
                known = current.message_for_request(client_message_id)
                if known is not None:
                    return known
                message = self._c.inbound(current, text, request_id=client_message_id)
                current.add_message(message)
                if current.state is State.IVR:
                    current.queue = self._c.flow.queue_for_intent(current.intent, self._c.flow.chat_queue)
                    current.move(State.QUEUED, message.time, "first customer message")
                return message

            previous_state = session.state
            session, message = await self._c.repo.mutate(session_id, add)
        else:
            # A client retry after a lost ack: publish again (same event id, deduplicated).
            previous_state, message = session.state, repeated
        await self._c.announce(session, message)
        if previous_state is State.IVR and session.state is State.QUEUED:
            await self._c.publish_state(session, previous_state, "first customer message")
        return message

    async def typing(self, session_id: str) -> None:
        await self._c.signal(await self._c.repo.get(session_id), "typing", Direction.INBOUND)

    async def read(self, session_id: str, message_id: str) -> None:
        require(message_id, "read.message_id")
        await self._c.signal(await self._c.repo.get(session_id), "read", Direction.INBOUND, message_id)

    async def end(self, session_id: str) -> Session:
        session = await self._c.repo.get(session_id)
        if session.terminal:
            return session
        if session.state in (State.CONNECTED, State.WRAP_UP):
            state, reason = State.WRAP_UP, "customer left the chat"
        elif session.state is State.IVR:
            state, reason = State.ENDED, "customer left before writing"
        elif session.self_service:
            state, reason = State.ENDED, "customer left during self-service"
        else:
            state, reason = State.ABANDONED, "customer left before an agent answered"
        return (await self._c.move(session_id, state, reason=reason)).session


def check_session_claim(claimed: str, session_id: str) -> None:
    """A bearer token bound to one session may not open or resume another."""
    if claimed and claimed != session_id:
        raise PermissionDenied(f"your token is for session {claimed}, not {session_id}")
