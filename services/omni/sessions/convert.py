"""Domain objects ↔ protobuf messages (the only place that knows both)."""

from __future__ import annotations

from omni.runtime.errors import InvalidArgument
from omni.runtime.proto_values import channel_to_proto, require_channel, timestamp, timestamp_or_none, to_datetime
from omni.sessions.domain.call_legs import CallLegCommand, CallLegMode
from omni.sessions.domain.model import (
    Attachment,
    Direction,
    EmailFacts,
    Identity,
    Message,
    Note,
    NoteKind,
    Session,
    SessionFilter,
    State,
    Transition,
)
from omni.sessions.domain.outbound_calls import CallResult
from omni.sessions.domain.sender_trust import SenderTrust
from omni.sessions.domain.summary import Summary
from omni.sessions.domain.survey import Delivery, Survey
from omni.sessions.domain.updates import Update, UpdateKind
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1 import sessions_pb2

STATES = {
    State.IVR: sessions_pb2.SESSION_STATE_IVR,
    State.QUEUED: sessions_pb2.SESSION_STATE_QUEUED,
    State.OFFERED: sessions_pb2.SESSION_STATE_OFFERED,
    State.CONNECTED: sessions_pb2.SESSION_STATE_CONNECTED,
    State.WRAP_UP: sessions_pb2.SESSION_STATE_WRAP_UP,
    State.ENDED: sessions_pb2.SESSION_STATE_ENDED,
    State.ABANDONED: sessions_pb2.SESSION_STATE_ABANDONED,
}
STATES_BACK = {v: k for k, v in STATES.items()}
DIRECTIONS = {Direction.INBOUND: common_pb2.DIRECTION_INBOUND, Direction.OUTBOUND: common_pb2.DIRECTION_OUTBOUND}
DIRECTIONS_BACK = {v: k for k, v in DIRECTIONS.items()}
CALL_RESULTS = {result: sessions_pb2.OutboundCallResult.Value(f"OUTBOUND_CALL_RESULT_{result.name}")
                for result in CallResult}
CALL_RESULTS_BACK = {v: k for k, v in CALL_RESULTS.items()}


def call_result(value: int) -> CallResult:
    try:
        return CALL_RESULTS_BACK[value]  # type: ignore[index]
    except KeyError:
        raise InvalidArgument("result is one of ringing, answered, busy, no_answer, voicemail, failed") from None
IDENTITY_KINDS = {
    "phone": common_pb2.IDENTITY_KIND_PHONE,
    "email": common_pb2.IDENTITY_KIND_EMAIL,
    "chat_handle": common_pb2.IDENTITY_KIND_CHAT_HANDLE,
    "external": common_pb2.IDENTITY_KIND_EXTERNAL,
}
IDENTITY_KINDS_BACK = {v: k for k, v in IDENTITY_KINDS.items()}
TRUST = {SenderTrust.UNKNOWN: common_pb2.SENDER_TRUST_UNSPECIFIED,
         SenderTrust.VERIFIED: common_pb2.SENDER_TRUST_VERIFIED,
         SenderTrust.UNVERIFIED: common_pb2.SENDER_TRUST_UNVERIFIED}
NOTE_KINDS = {NoteKind.STAFF: sessions_pb2.SESSION_NOTE_KIND_STAFF,
              NoteKind.BOT_HANDOFF: sessions_pb2.SESSION_NOTE_KIND_BOT_HANDOFF,
              NoteKind.SUMMARY: sessions_pb2.SESSION_NOTE_KIND_SUMMARY,
              NoteKind.WHISPER: sessions_pb2.SESSION_NOTE_KIND_WHISPER,
              NoteKind.CALL_LEG: sessions_pb2.SESSION_NOTE_KIND_CALL_LEG}
NOTE_KINDS_BACK = {v: k for k, v in NOTE_KINDS.items()}
DELIVERIES = {Delivery.WIDGET: sessions_pb2.SURVEY_DELIVERY_WIDGET,
              Delivery.EMAIL_LINK: sessions_pb2.SURVEY_DELIVERY_EMAIL_LINK,
              Delivery.SMS_REQUEST: sessions_pb2.SURVEY_DELIVERY_SMS_REQUEST}
DELIVERIES_BACK = {v: k for k, v in DELIVERIES.items()}


def require_state(number: int) -> State:
    state: State | None = STATES_BACK.get(number)  # type: ignore[call-overload]
    if state is None:
        raise InvalidArgument("state is required (e.g. SESSION_STATE_WRAP_UP)")
    return state


def session_filter(request: sessions_pb2.ListSessionsRequest) -> SessionFilter:
    return SessionFilter(
        channel=require_channel(request.channel) if request.channel else None,
        state=require_state(request.state) if request.state else None,
        customer_id=request.customer_id,
        queue=request.queue,
    )


def identity_to_proto(identity: Identity) -> common_pb2.Identity:
    return common_pb2.Identity(kind=IDENTITY_KINDS.get(identity.kind, common_pb2.IDENTITY_KIND_UNSPECIFIED),
                               value=identity.value)


def identity_from_proto(identity: common_pb2.Identity) -> Identity:
    return Identity(kind=IDENTITY_KINDS_BACK.get(identity.kind, "external"), value=identity.value)


def customer_ref(session: Session) -> common_pb2.CustomerRef:
    return common_pb2.CustomerRef(
        customer_id=session.customer_id,
        identities=[identity_to_proto(i) for i in session.identities],
        display_name=session.display_name,
    )


def attachment_from_proto(meta: common_pb2.AttachmentMeta) -> Attachment:
    return Attachment(id=meta.attachment_id, filename=meta.filename, content_type=meta.content_type,
                      size=meta.size_bytes, sha256=meta.sha256, truncated=meta.truncated)


def attachment_to_proto(attachment: Attachment) -> common_pb2.AttachmentMeta:
    return common_pb2.AttachmentMeta(
        attachment_id=attachment.id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size_bytes=attachment.size,
        sha256=attachment.sha256,
        truncated=attachment.truncated,
    )


def email_to_proto(facts: EmailFacts) -> common_pb2.EmailHeaders:
    return common_pb2.EmailHeaders(
        message_id=facts.message_id,
        in_reply_to=facts.in_reply_to,
        references=facts.references,
        subject=facts.subject,
        to=facts.to,
        cc=facts.cc,
        auto_submitted=facts.auto_submitted,
        delivery_status_report=facts.delivery_status_report,
        defects=facts.defects,
        sender=facts.sender,
        sender_name=facts.sender_name,
        report=common_pb2.DeliveryReport(
            original_message_id=facts.report_message_id, status=facts.report_status,
            recipient=facts.report_recipient, diagnostic=facts.report_diagnostic,
        ) if facts.report_message_id or facts.report_status else None,
        attached_message_ids=facts.attached_message_ids,
        sender_trust=TRUST[SenderTrust(facts.sender_trust)],
    )


def message_to_proto(message: Message) -> sessions_pb2.Message:
    return sessions_pb2.Message(
        id=message.id,
        direction=DIRECTIONS[message.direction],
        sender=message.sender,
        text=message.text,
        time=timestamp(message.time),
        attachments=[attachment_to_proto(a) for a in message.attachments],
        sender_name=message.sender_name,
        delivery=message.delivery,
    )


def message_from_proto(message: sessions_pb2.Message) -> Message:
    return Message(id=message.id, direction=DIRECTIONS_BACK[message.direction], sender=message.sender,
                   text=message.text, time=to_datetime(message.time),
                   attachments=[attachment_from_proto(a) for a in message.attachments],
                   sender_name=message.sender_name, delivery=message.delivery)


def note_to_proto(note: Note) -> sessions_pb2.SessionNote:
    return sessions_pb2.SessionNote(id=note.id, kind=NOTE_KINDS[note.kind], author_id=note.author_id, text=note.text,
                                    create_time=timestamp(note.create_time))


def staff_note_kind(number: int) -> NoteKind:
    """The kind of note staff may write: a plain note (the default) or the conversation's summary."""
    if number in (sessions_pb2.SESSION_NOTE_KIND_UNSPECIFIED, sessions_pb2.SESSION_NOTE_KIND_STAFF):
        return NoteKind.STAFF
    if number == sessions_pb2.SESSION_NOTE_KIND_SUMMARY:
        return NoteKind.SUMMARY
    raise InvalidArgument("kind must be SESSION_NOTE_KIND_STAFF or SESSION_NOTE_KIND_SUMMARY; "
                          "other kinds are recorded by sessions itself")


def summary_to_proto(session_id: str, summary: Summary) -> sessions_pb2.SessionSummary:
    return sessions_pb2.SessionSummary(session_id=session_id, language=summary.language, issue=summary.issue,
                                       done=summary.done, promised=summary.promised, text=summary.text())


def note_from_proto(note: sessions_pb2.SessionNote) -> Note:
    return Note(id=note.id, kind=NOTE_KINDS_BACK[note.kind], author_id=note.author_id, text=note.text,
                create_time=to_datetime(note.create_time))


def session_to_proto(session: Session) -> sessions_pb2.Session:
    return sessions_pb2.Session(
        id=session.id,
        channel=channel_to_proto(session.channel),
        customer=customer_ref(session),
        state=STATES[session.state],
        transitions=[
            sessions_pb2.StateTransition(state=STATES[t.state], time=timestamp(t.time), reason=t.reason)
            for t in session.transitions
        ],
        language=session.language,
        intent=session.intent,
        queue=session.queue,
        emotion_score=session.emotion_score,
        urgent=session.urgent,
        messages=[message_to_proto(m) for m in session.messages],
        notes=[note_to_proto(n) for n in session.notes],
        claimed_identities=[identity_to_proto(i) for i in session.claimed_identities],
        agent_id=session.agent_id,
        agent_display_name=session.agent_name,
        ticket_id=session.ticket_id,
        previous_session_id=session.previous_session_id,
        create_time=timestamp(session.create_time),
        update_time=timestamp(session.update_time),
        attributes=session.attributes,
        version=session.version,
        earlier_messages=session.earlier_messages,
        mail_participants=session.mail_participants,
        survey=survey_to_proto(session.id, session.survey) if session.survey is not None else None,
    )


def survey_to_proto(session_id: str, survey: Survey) -> sessions_pb2.Survey:
    csat_question, nps_question = survey.questions
    return sessions_pb2.Survey(
        session_id=session_id, language=survey.language, delivery=DELIVERIES[survey.delivery],
        csat_question=csat_question, nps_question=nps_question, ask_time=timestamp(survey.ask_time),
        answer_time=timestamp_or_none(survey.answer_time), csat=survey.csat, nps=survey.nps,
        agent_id=survey.agent_id, ticket_id=survey.ticket_id, address=survey.address)


def survey_from_proto(survey: sessions_pb2.Survey) -> Survey:
    return Survey(language=survey.language, delivery=DELIVERIES_BACK[survey.delivery],
                  ask_time=to_datetime(survey.ask_time), agent_id=survey.agent_id, ticket_id=survey.ticket_id,
                  address=survey.address, csat=survey.csat, nps=survey.nps if survey.HasField("nps") else None,
                  answer_time=to_datetime(survey.answer_time) if survey.HasField("answer_time") else None)


def session_from_proto(session: sessions_pb2.Session) -> Session:
    """A session as a live update carries it: everything `session_to_proto` writes, so the watcher
    that converts it back sends what was published."""
    return Session(
        id=session.id,
        channel=require_channel(session.channel),
        identities=[identity_from_proto(i) for i in session.customer.identities],
        state=STATES_BACK[session.state],
        create_time=to_datetime(session.create_time),
        update_time=to_datetime(session.update_time),
        transitions=[Transition(STATES_BACK[t.state], to_datetime(t.time), t.reason) for t in session.transitions],
        display_name=session.customer.display_name,
        customer_id=session.customer.customer_id,
        language=session.language,
        intent=session.intent,
        queue=session.queue,
        emotion_score=session.emotion_score,
        urgent=session.urgent,
        messages=[message_from_proto(m) for m in session.messages],
        notes=[note_from_proto(n) for n in session.notes],
        agent_id=session.agent_id,
        agent_name=session.agent_display_name,
        ticket_id=session.ticket_id,
        previous_session_id=session.previous_session_id,
        attributes=dict(session.attributes),
        claimed_identities=[identity_from_proto(i) for i in session.claimed_identities],
        earlier_messages=session.earlier_messages,
        survey=survey_from_proto(session.survey) if session.HasField("survey") else None,
        version=session.version,
        mail_participants=list(session.mail_participants),
    )


def update_to_proto(update: Update) -> sessions_pb2.SessionUpdate:
    return sessions_pb2.SessionUpdate(
        kind=update.kind.value,
        session=session_to_proto(update.session) if update.session is not None else None,
        message=message_to_proto(update.message) if update.message is not None else None,
        note=note_to_proto(update.note) if update.note is not None else None,
    )


def update_from_proto(update: sessions_pb2.SessionUpdate) -> Update:
    return Update(
        UpdateKind(update.kind),
        session=session_from_proto(update.session) if update.HasField("session") else None,
        message=message_from_proto(update.message) if update.HasField("message") else None,
        note=note_from_proto(update.note) if update.HasField("note") else None,
    )


def chat_frame(update: Update) -> sessions_pb2.ChatServerFrame:
    """A live update the chat customer receives (see `Update.reaches_chat`) as their frame."""
    if update.kind is UpdateKind.MESSAGE and update.message is not None:
        return sessions_pb2.ChatServerFrame(message=message_to_proto(update.message))
    if update.kind is UpdateKind.TYPING:
        return sessions_pb2.ChatServerFrame(agent_typing=sessions_pb2.ChatTyping())
    if update.kind is UpdateKind.READ and update.message is not None:
        return sessions_pb2.ChatServerFrame(read=sessions_pb2.ChatRead(message_id=update.message.id))
    if update.kind is UpdateKind.STATE and update.session is not None:
        return sessions_pb2.ChatServerFrame(state=STATES[update.session.state])
    raise ValueError(f"a {update.kind.value} update is not for the chat customer")


def chat_frames(update: Update) -> list[sessions_pb2.ChatServerFrame]:
    """The frames of a live update for the chat customer: a connection to an agent first says
    who the agent is."""
    session = update.session
    if update.kind is UpdateKind.STATE and session is not None and session.state is State.CONNECTED \
            and session.agent_id:
        return [sessions_pb2.ChatServerFrame(agent=sessions_pb2.ChatAgent(display_name=session.agent_name)),
                chat_frame(update)]
    return [chat_frame(update)]


def interaction(session: Session, message: Message) -> common_pb2.Interaction:
    """The Interaction tickets and routing consume, for one message of `session`."""
    return common_pb2.Interaction(
        id=message.id,
        channel=channel_to_proto(session.channel),
        direction=DIRECTIONS[message.direction],
        session_id=session.id,
        occurred_at=timestamp(message.time),
        customer=customer_ref(session),
        # Automated mail is recorded, never routed: without a queue no work is made of it.
        queue="" if message.email is not None and message.email.automatic else session.queue,
        intent=session.intent,
        language=session.language,
        emotion_score=session.emotion_score,
        turn_emotion_score=message.emotion_score,
        urgent=session.urgent,
        text=message.text,
        email=email_to_proto(message.email) if message.email else None,
        attachments=[attachment_to_proto(a) for a in message.attachments],
        agent_id=message.sender if message.direction is Direction.OUTBOUND else session.agent_id,
        previous_session_id=session.previous_session_id,
        ticket_id=session.ticket_id,
        attributes=session.attributes,
        abandoned_in_ivr=message.abandoned_in_ivr,
    )


CALL_LEG_MODES = {CallLegMode.MONITOR: sessions_pb2.CALL_LEG_MODE_MONITOR,
                  CallLegMode.WHISPER: sessions_pb2.CALL_LEG_MODE_WHISPER,
                  CallLegMode.BARGE: sessions_pb2.CALL_LEG_MODE_BARGE}
_CALL_LEG_MODES_BACK = {number: mode for mode, number in CALL_LEG_MODES.items()}


def require_call_leg_mode(number: int) -> CallLegMode:
    mode = _CALL_LEG_MODES_BACK.get(number)  # type: ignore[call-overload]
    if mode is None:
        raise InvalidArgument("mode must be CALL_LEG_MODE_MONITOR, CALL_LEG_MODE_WHISPER or CALL_LEG_MODE_BARGE")
    return mode  # type: ignore[no-any-return]


def call_leg_to_proto(command: CallLegCommand) -> sessions_pb2.CallLegCommand:
    return sessions_pb2.CallLegCommand(id=command.id, session_id=command.session_id, call_id=command.call_id,
                                       mode=CALL_LEG_MODES[command.mode], supervisor_id=command.supervisor_id,
                                       agent_id=command.agent_id, create_time=timestamp(command.create_time))
