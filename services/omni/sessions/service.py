"""Wiring of the sessions service: servicers, listeners (SMTP, WebSocket), consumers, access rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import grpc

from omni.runtime.auth import ADMINS, BOTS, EVERYONE, MANAGERS, STAFF, Role
from omni.runtime.config import ConfigError, env_name
from omni.runtime.outbox import Outbox
from omni.runtime.server import Runtime, ServiceSpec
from omni.runtime.token_issuer import TokenIssuer
from omni.runtime.token_verifier import CHAT_ISSUER, KeySet, chat_trust
from omni.sessions import publishing, repository
from omni.sessions.consumers import SESSION_EVENTS, TICKET_EVENTS, SessionConsumers, session_keys
from omni.sessions.customers import CallerNeeds
from omni.sessions.domain.assignment import CALLBACK_SMS, ROUTING_EVENTS
from omni.sessions.domain.chat_identity import ChatVisitors, IdentityVerifier
from omni.sessions.domain.classifier import load_classifier
from omni.sessions.domain.flood import Flood, FloodLimits
from omni.sessions.domain.ivr import ContactFlow, load_flow
from omni.sessions.domain.mime import MailLimits
from omni.sessions.domain.model import TextLimit, TranscriptLimits
from omni.sessions.domain.sms import SmsLimits
from omni.sessions.mail_parsing import MailParser
from omni.sessions.publishing import LiveUpdates, SessionEvents
from omni.sessions.servicer import SessionServicer
from omni.sessions.servicer_chat import ChatServicer
from omni.sessions.servicer_telephony import TelephonyServicer
from omni.sessions.settings import SessionSettings
from omni.sessions.smpp_link import SmppLink
from omni.sessions.smtp_inbound import InboundMailHandler, start_smtp, starttls_context
from omni.sessions.smtp_outbound import RelayMailer
from omni.sessions.usecases.assignment import Assignment
from omni.sessions.usecases.calls import Calls
from omni.sessions.usecases.chat import ChatDesk
from omni.sessions.usecases.conversations import Conversations
from omni.sessions.usecases.mail import Mailbox
from omni.sessions.usecases.notes import Notes
from omni.sessions.usecases.outbound_calls import OutboundCalls
from omni.sessions.usecases.replies import Replies
from omni.sessions.usecases.sessions import Sessions
from omni.sessions.usecases.sms import SmsChannel
from omni.sessions.usecases.surveys import Surveys
from omni.sessions.websocket_chat import start_websocket
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc

# Room a GetAttachment response needs besides the attachment's bytes (its metadata, framing).
_ATTACHMENT_RESPONSE_ROOM = 64 * 1024


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    settings = SessionSettings.extending(runtime.settings)
    mail_limits = _mail_limits(settings)
    flow = load_flow(settings.contact_flow_file)
    classifier = load_classifier(settings.classifier, flow.intent_keywords)
    limit = TextLimit(settings.max_text_chars)
    repo = repository.SessionRepository(runtime.db, settings.default_region, cache_bytes=settings.session_cache_bytes)
    outbox = Outbox(runtime.db[repository.SESSIONS], runtime.bus, publishing.DOMAIN, publishing.PAYLOADS)
    events, live = SessionEvents(outbox), LiveUpdates(runtime.bus)
    conversations = Conversations(
        repo, events, live, classifier, link_window=dt.timedelta(hours=settings.link_window_hours),
        transcript=TranscriptLimits(settings.session_max_messages, settings.session_max_transcript_bytes))
    runtime.background(outbox.relay(interval=settings.outbox_relay_seconds, grace=settings.outbox_grace_seconds),
                       "sessions outbox relay")
    notes = Notes(repo, live, limit, max_notes=settings.session_max_notes)
    mailer = RelayMailer(settings.smtp_relay, settings.smtp_relay_timeout)
    outbound = OutboundCalls(conversations, repo, events, default_region=settings.default_region)
    sms = _start_sms(runtime, settings, conversations, repo, outbound, flow) if settings.sms_smsc else None
    replies = Replies(conversations, repo, mailer, sms,
                      limit=limit, mail_from=settings.mail_from, accepted_domains=settings.smtp_accepted_domains)
    visitors = ChatVisitors(IdentityVerifier(settings.chat_identity_secret, settings.default_region),
                            settings.default_region, trust_claimed=settings.chat_trust_claimed_identities)
    chat_tokens = TokenIssuer.from_files(CHAT_ISSUER, settings.chat_token_key_files) \
        if settings.chat_token_key_files else None
    surveys = Surveys(repo, repository.SurveyAsks(runtime.db), events, mailer, issuer=chat_tokens,
                      link_base=settings.survey_link_base, mail_from=settings.mail_from,
                      min_interval=dt.timedelta(days=settings.survey_min_interval_days),
                      answer_window=dt.timedelta(days=settings.survey_answer_days), sms=sms)
    sessions_pb2_grpc.add_SessionServiceServicer_to_server(
        SessionServicer(Sessions(conversations, repo, live, list_max_bytes=settings.session_list_max_bytes),
                        replies, notes, surveys, runtime.page_tokens), server)
    if chat_tokens is not None:
        # Its own chat tokens: checked with the keys it holds, not read back from another service.
        runtime.verifier.trust(chat_trust(KeySet.of(chat_tokens.jwks(), "the chat token keys")))
    desk = ChatDesk(conversations, repo, live, outbound, visitors=visitors, flow=flow, limit=limit, issuer=chat_tokens,
                    verifier=runtime.verifier, token_ttl_seconds=settings.chat_token_ttl_seconds,
                    flood=Flood(_flood_limits(settings)), max_waiting_per_queue=settings.chat_max_waiting_per_queue)
    sessions_pb2_grpc.add_ChatServiceServicer_to_server(ChatServicer(desk), server)
    tagged = CallerNeeds(settings.tickets_addr, runtime.service_token, settings.caller_lookup_timeout,
                         tls_ca_file=settings.grpc_tls_ca_file)
    calls = Calls(conversations, repo, events, flow=flow, classifier=classifier, limit=limit, outbound=outbound,
                  callback_digit=settings.ivr_callback_digit, max_notes=settings.session_max_notes,
                  tagged_needs=tagged)
    sessions_pb2_grpc.add_TelephonyServiceServicer_to_server(TelephonyServicer(calls, outbound, sms), server)

    consumers = SessionConsumers(conversations, Assignment(conversations, repo, notes, outbound), outbound, surveys,
                                 sms)
    runtime.consumer("tickets", consumers.on_ticket_event, event_types=TICKET_EVENTS, key=session_keys)
    # Its own facts: a contact that ended gets its survey.
    runtime.consumer("sessions", consumers.on_session_event, event_types=SESSION_EVENTS)
    runtime.consumer("routing", consumers.on_work_event,
                     event_types=[*ROUTING_EVENTS, *((CALLBACK_SMS,) if sms is not None else ())], key=session_keys)

    if settings.smtp_listen:
        parser = MailParser(mail_limits, workers=settings.smtp_parse_workers)
        mailbox = Mailbox(conversations, repo, parser, flow=flow, classifier=classifier)
        tls = starttls_context(settings.smtp_tls_cert_file, settings.smtp_tls_key_file,
                               require=settings.smtp_require_starttls)
        handler = InboundMailHandler(mailbox, settings.smtp_accepted_domains,
                                     max_recipients=settings.mail_max_recipients)
        smtp = await start_smtp(settings.smtp_listen, handler, max_message_bytes=settings.smtp_max_message_bytes,
                                max_sessions=settings.smtp_max_sessions, tls_context=tls,
                                require_starttls=settings.smtp_require_starttls)

        async def stop_smtp() -> None:
            smtp.close()
            await smtp.wait_closed()
            parser.close()

        runtime.on_stop.append(stop_smtp)
    if settings.websocket_listen:
        websocket = await start_websocket(settings.websocket_listen, desk,
                                          chat_tokens.jwks() if chat_tokens is not None else {"keys": []},
                                          trusted_proxies=settings.chat_trusted_proxies)

        async def stop_websocket() -> None:
            websocket.close()
            await websocket.wait_closed()

        runtime.on_stop.append(stop_websocket)
    return [sessions_pb2.DESCRIPTOR.services_by_name[name].full_name
            for name in ("SessionService", "ChatService", "TelephonyService")]


def _start_sms(runtime: Runtime, settings: SessionSettings, conversations: Conversations,
               repo: repository.SessionRepository, outbound: OutboundCalls, flow: ContactFlow) -> SmsChannel:
    host, _, port = settings.sms_smsc.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{env_name('sms_smsc')}={settings.sms_smsc!r} must be host:port")
    # SMPP 3.4's field sizes: refused here rather than by the first bind or the first SMS.
    for field, most in (("sms_system_id", 15), ("sms_password", 8), ("sms_source", 20)):
        if len(getattr(settings, field)) > most:
            raise ConfigError(f"{env_name(field)} is longer than SMPP allows ({most} characters)")
    link = SmppLink(host=host, port=int(port), system_id=settings.sms_system_id, password=settings.sms_password,
                    source=settings.sms_source, queue_size=settings.sms_send_queue,
                    reconnect_min_seconds=settings.sms_reconnect_seconds, socket_timeout=settings.sms_socket_timeout)
    limits = SmsLimits(max_chars=settings.sms_max_chars, max_attempts=settings.sms_max_attempts,
                       resend_after=dt.timedelta(seconds=settings.sms_resend_seconds))
    sms = SmsChannel(conversations, repo, link, outbound, flow=flow, limits=limits,
                     default_region=settings.default_region, queue=settings.sms_queue,
                     callback_keyword=settings.sms_callback_keyword,
                     poll_seconds=min(1.0, settings.sms_resend_seconds))
    runtime.background(link.run(sms), "SMPP link")
    runtime.background(sms.run(), "SMS outbox sender")
    return sms


def _mail_limits(settings: SessionSettings) -> MailLimits:
    room = settings.max_message_bytes - _ATTACHMENT_RESPONSE_ROOM
    if settings.attachment_max_bytes > room:
        raise ConfigError(f"{env_name('attachment_max_bytes')}={settings.attachment_max_bytes} is more than "
                          f"GetAttachment can return ({env_name('max_message_bytes')} less 64 KiB: {room})")
    return MailLimits(attachment_bytes=settings.attachment_max_bytes, html_chars=settings.mail_max_html_chars,
                      trusted_authserv_ids=settings.mail_trusted_authserv_ids, text_chars=settings.mail_max_text_chars,
                      stored_html_chars=settings.mail_max_stored_html_chars, references=settings.mail_max_references,
                      recipients=settings.mail_max_recipients, attachments=settings.mail_max_attachments)


def _flood_limits(settings: SessionSettings) -> FloodLimits:
    return FloodLimits(
        burst=settings.chat_burst, messages_per_second=settings.chat_messages_per_second,
        signal_burst=settings.chat_signal_burst, signals_per_second=settings.chat_signals_per_second,
        address_burst=settings.chat_address_burst, address_frames_per_second=settings.chat_address_frames_per_second,
        max_connections=settings.chat_max_connections,
        max_connections_per_session=settings.chat_max_connections_per_session,
        max_connections_per_address=settings.chat_max_connections_per_address)


def _rules() -> dict[str, frozenset[Role]]:
    customers = frozenset({Role.CUSTOMER, Role.SERVICE})
    pbx = ADMINS  # the PBX/CPaaS adapter calls with a service token
    # A bot follows and answers the conversations that are with the bots (domain/access.py); nothing else.
    table = {
        "SessionService": {
            "GetSession": EVERYONE | BOTS, "WatchSession": EVERYONE | BOTS, "ListSessions": STAFF,
            "SendReply": STAFF | BOTS,
            "UpdateSessionState": STAFF, "SendTyping": STAFF, "MarkRead": STAFF, "GetAttachment": STAFF,
            "AddSessionNote": STAFF, "DraftSummary": STAFF,
            # The customer's own survey (the use case holds them to their session); staff read it.
            "GetSurvey": EVERYONE, "AnswerSurvey": frozenset({Role.CUSTOMER}),
        },
        "ChatService": {"Chat": customers},
        "TelephonyService": {
            **{name: pbx for name in ("StartCall", "SubmitIvrInput", "AnswerCall", "TransferCall", "EndCall",
                                      "AttachRecording", "RequestCallback", "ReportOutboundCall",
                                      "SendWaitSms")},
            # A supervisor (through the web gateway, with their own token) asks for a leg on a call.
            "SuperviseCall": MANAGERS,
        },
    }
    return {f"/omnichannel.sessions.v1.{svc}/{method}": roles
            for svc, methods in table.items() for method, roles in methods.items()}


ACCESS = _rules()
SPEC = ServiceSpec(name="sessions", register=register, access_rules=ACCESS, indexes=repository.INDEXES)
