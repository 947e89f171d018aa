"""Customer chat: start, resume with a session token, messages, typing, read markers, end, and
what the customer's connection is sent meanwhile.

Transport-neutral: the gRPC stream and the WebSocket endpoint both drive a `ChatDesk` through
`chat_connection.ChatConnection`. The caller is the principal of the gRPC stream's token, or None
for a WebSocket visitor. Who the visitor is: see `domain.chat_identity`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Iterator

from omni.runtime.auth import Principal, Role, audience
from omni.runtime.channels import Channel
from omni.runtime.config import env_name
from omni.runtime.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted, Unauthenticated
from omni.runtime.token_issuer import TokenIssuer
from omni.runtime.token_verifier import TokenVerifier
from omni.runtime.validation import check_length, require
from omni.sessions.domain import outbound_calls
from omni.sessions.domain.access import carries_many_customers, check_chat_binding, vouches_for_identities
from omni.sessions.domain.chat_identity import ChatVisitors, Visitor
from omni.sessions.domain.flood import ChatLine, Flood, FrameKind
from omni.sessions.domain.ivr import ContactFlow
from omni.sessions.domain.model import Direction, Identity, Message, Session, State, TextLimit
from omni.sessions.domain.updates import Update, UpdateKind
from omni.sessions.publishing import LiveUpdates
from omni.sessions.repository import SessionRepository
from omni.sessions.usecases.conversations import Conversations
from omni.sessions.usecases.outbound_calls import OutboundCalls

log = logging.getLogger("omni.sessions.chat")
# What a visitor's chat token opens: their session, their place in the queue, public articles.
CHAT_AUDIENCES = tuple(audience(name) for name in ("sessions", "routing", "knowledge"))


@dataclasses.dataclass(frozen=True)
class ChatOpened:
    session: Session
    # Customer-role bearer token bound to this session: resumes the chat, sees only it.
    token: str


# Identities one start frame may claim.
MAX_START_IDENTITIES = 10


class ChatDesk:
    def __init__(self, conversations: Conversations, repo: SessionRepository, live: LiveUpdates,
                 outbound: OutboundCalls, *,
                 visitors: ChatVisitors, flow: ContactFlow, limit: TextLimit, issuer: TokenIssuer | None,
                 verifier: TokenVerifier, token_ttl_seconds: int, flood: Flood, max_waiting_per_queue: int) -> None:
        self._c = conversations
        self._repo = repo
        self._live = live
        self._outbound = outbound
        self._visitors = visitors
        self._flow = flow
        self._limit = limit
        # None: no chat token key configured, so no chat can start.
        self._issuer = issuer
        self._verifier = verifier
        self._ttl = token_ttl_seconds
        self._flood = flood
        self._max_waiting = max_waiting_per_queue
        self._waiting = WaitingChats(repo)

    @contextlib.contextmanager
    def connection(self, caller: Principal | None, address: str) -> Iterator[ChatLine]:
        """One customer connection from `address` for as long as it lasts; ResourceExhausted when
        there are too many already."""
        line = self._flood.connect("" if carries_many_customers(caller) else address)
        try:
            yield line
        finally:
            self._flood.disconnect(line)

    def _token(self, session: Session) -> str:
        subject = session.first_identity("chat_handle") or session.id
        assert self._issuer is not None  # start() refuses a chat without one first
        return self._issuer.mint(subject, Role.CUSTOMER, audiences=CHAT_AUDIENCES, session_id=session.id,
                                 ttl_seconds=self._ttl)

    async def start(self, line: ChatLine, caller: Principal | None, handle: str, display_name: str, language: str,
                    identities: list[Identity], previous_session_id: str, identity_token: str) -> ChatOpened:
        self._flood.check(line, FrameKind.OPEN)
        check_chat_binding(caller, "a new chat")
        if self._issuer is None:
            raise FailedPrecondition(f"chat is off here: {env_name('chat_token_key_files')} names no key to sign "
                                     "the visitor's session token with")
        handle = check_length(require(handle, "start.handle"), "start.handle", 200)
        check_length(display_name, "start.display_name", 200)
        check_length(language, "start.language", 35)
        check_length(previous_session_id, "start.previous_session_id", 200)
        check_length(identity_token, "start.identity_token", 4096)
        if len(identities) > MAX_START_IDENTITIES:
            raise InvalidArgument(f"start.identities has {len(identities)} entries; at most {MAX_START_IDENTITIES}")
        for identity in identities:
            require(identity.value, "start.identities[].value")
            check_length(identity.value, "start.identities[].value", 320)
        visitor = self._visitors.identify(handle, display_name, identities, identity_token,
                                          vouched=vouches_for_identities(caller))
        session = await self._c.open(
            Channel.CHAT, visitor.verified, display_name=visitor.display_name, language=language,
            previous=await self._previous(previous_session_id, visitor), claimed_identities=visitor.claimed,
        )
        self._flood.bind(line, session.id)
        return ChatOpened(session, self._token(session))

    async def _previous(self, previous_session_id: str, visitor: Visitor) -> Session | None:
        """The session a chat asks to continue, if it may. Anyone else's is ignored (and no error
        tells a stranger whether it exists); the chat then links by its own identities like any other."""
        if not previous_session_id:
            return None
        if visitor.vouched:
            return await self._repo.get(previous_session_id)
        try:
            previous = await self._repo.get(previous_session_id)
        except NotFound:
            return None
        if self._visitors.may_continue(visitor, previous):
            return previous
        log.info("chat start: previous_session_id %s shares no verified identity; not linked", previous_session_id)
        return None

    async def resume(self, line: ChatLine, caller: Principal | None, token: str) -> ChatOpened:
        self._flood.check(line, FrameKind.OPEN)
        if not token:
            raise InvalidArgument("resume.session_token is required; it was given in the 'started' frame")
        principal = await self._verifier.verify(token)
        if principal.role is not Role.CUSTOMER or not principal.session_id:
            raise Unauthenticated("this is not a chat session token")
        session = await self._repo.get(principal.session_id)
        session.check_open()
        check_chat_binding(caller, session.id)
        self._flood.bind(line, session.id)
        return ChatOpened(session, token)

    async def say(self, line: ChatLine, text: str, client_message_id: str) -> Message:
        """A customer message; the first one puts the chat in the queue, unless too many wait there."""
        self._flood.check(line, FrameKind.TEXT)
        text = self._limit.check(require(text, "text.text"), "text.text")
        check_length(client_message_id, "text.client_message_id", 200)
        # This replica's last copy will do: `add` checks all of it again on the session it writes.
        session = await self._repo.recent(line.session_id)
        session.check_open()
        repeated = session.message_for_request(client_message_id)
        if repeated is not None:
            # A client retry after a lost ack: publish what is still pending, show it again.
            await self._c.replay(session, repeated)
            return repeated
        queue = session.queue
        joining = session.state is State.IVR
        if joining:
            queue = self._flow.queue_for_intent(session.intent or self._c.intent_of(text), self._flow.chat_queue)
            await self._join(queue)
        queued = False

        def add(current: Session) -> Message:
            nonlocal queued
            queued = False  # run again after a write conflict, on the session as it is then
            current.check_open()
            known = current.message_for_request(client_message_id)
            if known is not None:
                return known
            message = self._c.inbound(current, text, request_id=client_message_id)
            self._c.add(current, message)
            if current.state is State.IVR:
                current.queue = queue
                current.move(State.QUEUED, message.time, "first customer message")
                queued = True
            return message

        try:
            _, message = await self._c.record(line.session_id, add)
        except BaseException:
            if joining:
                self._waiting.left(queue)  # not written (as far as this replica can tell)
            raise
        if joining and not queued:
            self._waiting.left(queue)  # another message of the chat queued it first
        return message

    async def _join(self, queue: str) -> None:
        """Count the chat in `queue`, unless the most allowed wait there already. Counted before its
        write: the customer sees their message as soon as it is stored, before its events are
        published, and the next chat may ask meanwhile."""
        waiting = await self._waiting.count(queue)
        if waiting >= self._max_waiting:
            raise ResourceExhausted(f"all our agents are busy and {waiting} customers are waiting already; "
                                    "your message was not sent: please try again in a few minutes, or write to us")
        self._waiting.joined(queue)

    async def typing(self, line: ChatLine) -> None:
        self._flood.check(line, FrameKind.SIGNAL)
        # No read of the session: the connection is bound to it, and a marker changes nothing stored.
        await self._c.signal(line.session_id, UpdateKind.TYPING, Direction.INBOUND)

    async def read(self, line: ChatLine, message_id: str) -> None:
        self._flood.check(line, FrameKind.SIGNAL)
        message_id = check_length(require(message_id, "read.message_id"), "read.message_id", 200)
        await self._c.signal(line.session_id, UpdateKind.READ, Direction.INBOUND, message_id)

    async def callback(self, line: ChatLine, due: dt.datetime | None = None) -> str:
        """The visitor asks to be called back instead of waiting: to the chat's verified phone
        number only (an anonymous visitor cannot have a stranger called), keeping their place or
        at `due` (a slot routing offered); the number booked."""
        self._flood.check(line, FrameKind.TEXT)
        session = await self._outbound.book(line.session_id, "", due, verified_only=True)
        return session.attributes["callback_number"]

    async def end(self, line: ChatLine) -> Session:
        self._flood.check(line, FrameKind.END)
        session_id = line.session_id
        session = await self._repo.get(session_id)
        if session.terminal or (outbound_calls.awaits_call(session) and session.state in (State.QUEUED, State.OFFERED)):
            # Over, or waiting for the callback the visitor booked: leaving the page keeps it.
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

    @contextlib.asynccontextmanager
    async def follow(self, session_id: str) -> AsyncIterator[AsyncIterator[Update | None]]:
        """What the customer's connection is sent from now on (`Update.reaches_chat`) until the
        conversation ends; a last None when the connection fell too far behind to follow."""
        async with self._live.watch(session_id) as updates:
            yield _for_the_customer(updates)


class WaitingChats:
    """How many chats wait in a queue, for the cap on new ones: counted in the store at most every
    COUNT_SECONDS per queue (a count is a query over the queue's sessions; hundreds of new chats a
    second would each make one), plus the chats this replica queued since. One count per queue at
    a time: the chats asking while it runs wait for it. (Each used to start its own once the last
    one was a second old; under a burst of new chats a count took long enough for a hundred more
    to start, and the store spent half its time counting.)"""

    COUNT_SECONDS = 1.0

    def __init__(self, repo: SessionRepository) -> None:
        self._repo = repo
        self._counted: dict[str, tuple[float, int]] = {}
        self._counting: dict[str, asyncio.Task[int]] = {}

    async def count(self, queue: str) -> int:
        at, waiting = self._counted.get(queue, (-self.COUNT_SECONDS, 0))
        if time.monotonic() - at < self.COUNT_SECONDS:
            return waiting
        counting = self._counting.get(queue)
        if counting is None:
            counting = self._counting[queue] = asyncio.create_task(self._recount(queue))
        # Shielded: a chat that goes away while waiting does not cancel the count for the others.
        await asyncio.shield(counting)
        # What the count found plus who joined since: of the chats that waited for one count, each
        # sees those before it that joined.
        return self._counted[queue][1]

    async def _recount(self, queue: str) -> int:
        started = time.monotonic()
        try:
            waiting = await self._repo.waiting_chats(queue)
        finally:
            del self._counting[queue]
        self._counted[queue] = (started, waiting)
        return waiting

    def joined(self, queue: str) -> None:
        self._add(queue, 1)

    def left(self, queue: str) -> None:
        """A chat counted by `joined` that did not join after all (its write failed, or another
        message of it queued it first)."""
        self._add(queue, -1)

    def _add(self, queue: str, chats: int) -> None:
        if queue in self._counted:
            at, waiting = self._counted[queue]
            self._counted[queue] = (at, max(0, waiting + chats))


async def _for_the_customer(updates: asyncio.Queue[Update | None]) -> AsyncIterator[Update | None]:
    while (update := await updates.get()) is not None:
        if update.reaches_chat:
            yield update
        if update.ends_conversation:
            return
    yield None
