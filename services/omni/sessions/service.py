"""Wiring of the sessions service: servicers, listeners (SMTP, WebSocket), consumers, access rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import grpc

from omni.runtime.auth import ADMINS, EVERYONE, STAFF, Role
from omni.runtime.live_feed import LiveFeed
from omni.runtime.server import Runtime, ServiceSpec
from omni.sessions import repository
from omni.sessions.chat import ChatDesk
from omni.sessions.chat_connection import ChatConnection
from omni.sessions.consumers import TICKET_EVENTS, WORK_EVENTS, SessionConsumers
from omni.sessions.conversations import Conversations
from omni.sessions.domain.chat_identity import IdentityVerifier
from omni.sessions.domain.classifier import load_classifier
from omni.sessions.domain.flood import TokenBucket
from omni.sessions.domain.ivr import load_flow
from omni.sessions.mailbox import Mailbox
from omni.sessions.publishing import LIVE_SUBJECT_ROOT, SessionEvents
from omni.sessions.replies import Replies
from omni.sessions.servicer import ChatServicer, SessionServicer, TelephonyServicer
from omni.sessions.settings import SessionSettings
from omni.sessions.smtp_inbound import InboundMailHandler, start_smtp
from omni.sessions.smtp_outbound import RelayMailer
from omni.sessions.telephony import Calls
from omni.sessions.websocket_chat import start_websocket
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    settings = SessionSettings.extending(runtime.settings)
    flow = load_flow(settings.contact_flow_file)
    feed = LiveFeed(runtime.bus.nc, LIVE_SUBJECT_ROOT, sessions_pb2.SessionUpdate.FromString)
    conversations = Conversations(
        repository.SessionRepository(runtime.db, settings.default_region),
        SessionEvents(runtime.bus),
        feed,
        load_classifier(settings.classifier, flow.intent_keywords),
        flow,
        link_window=dt.timedelta(hours=settings.link_window_hours),
        max_text_chars=settings.max_text_chars,
    )
    desk = ChatDesk(conversations, runtime.authority, settings.chat_token_ttl_seconds,
                    IdentityVerifier(settings.chat_identity_secret, settings.default_region),
                    trust_claimed_identities=settings.chat_trust_claimed_identities)
    replies = Replies(conversations, RelayMailer(settings.smtp_relay, settings.smtp_relay_timeout),
                      mail_from=settings.mail_from, accepted_domains=settings.smtp_accepted_domains)
    sessions_pb2_grpc.add_SessionServiceServicer_to_server(
        SessionServicer(conversations, replies, runtime.page_tokens), server)

    def chat_connection(claimed_session: str = "", trusted: bool = False) -> ChatConnection:
        flood = TokenBucket(settings.chat_messages_per_second, settings.chat_burst)
        return ChatConnection(desk, feed, flood, claimed_session=claimed_session, trusted=trusted)

    chat_connection()  # refuses a bad flood-control setting at start-up, not at the first chat
    sessions_pb2_grpc.add_ChatServiceServicer_to_server(ChatServicer(chat_connection), server)
    sessions_pb2_grpc.add_TelephonyServiceServicer_to_server(TelephonyServicer(Calls(conversations)), server)

    consumers = SessionConsumers(conversations)
    runtime.consumer("tickets", consumers.on_ticket_event, event_types=TICKET_EVENTS)
    runtime.consumer("routing", consumers.on_work_event, event_types=list(WORK_EVENTS))

    if settings.smtp_listen:
        mailbox = Mailbox(conversations, attachment_limit=settings.attachment_max_bytes)
        smtp = await start_smtp(settings.smtp_listen, InboundMailHandler(mailbox, settings.smtp_accepted_domains),
                                max_message_bytes=settings.smtp_max_message_bytes)

        async def stop_smtp() -> None:
            smtp.close()
            await smtp.wait_closed()

        runtime.on_stop.append(stop_smtp)
    if settings.websocket_listen:
        websocket = await start_websocket(settings.websocket_listen, chat_connection)

        async def stop_websocket() -> None:
            websocket.close()
            await websocket.wait_closed()

        runtime.on_stop.append(stop_websocket)
    return [sessions_pb2.DESCRIPTOR.services_by_name[name].full_name
            for name in ("SessionService", "ChatService", "TelephonyService")]


def _rules() -> dict[str, frozenset[Role]]:
    customers = frozenset({Role.CUSTOMER, Role.SERVICE})
    pbx = ADMINS  # the PBX/CPaaS adapter calls with a service token
    table = {
        "SessionService": {
            "GetSession": EVERYONE, "WatchSession": EVERYONE, "ListSessions": STAFF, "SendReply": STAFF,
            "UpdateSessionState": STAFF, "SendTyping": STAFF, "MarkRead": STAFF, "GetAttachment": STAFF,
            "AddSessionNote": STAFF,
        },
        "ChatService": {"Chat": customers},
        "TelephonyService": {name: pbx for name in (
            "StartCall", "SubmitIvrInput", "AnswerCall", "TransferCall", "EndCall", "AttachRecording",
            "RequestCallback")},
    }
    return {f"/omnichannel.sessions.v1.{svc}/{method}": roles
            for svc, methods in table.items() for method, roles in methods.items()}


ACCESS = _rules()
SPEC = ServiceSpec(name="sessions", register=register, access_rules=ACCESS, indexes=repository.INDEXES)
