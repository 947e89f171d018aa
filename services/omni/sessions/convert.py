"""Domain objects ↔ protobuf messages (the only place that knows both)."""

from __future__ import annotations

from omni.runtime.proto_values import channel_to_proto, timestamp
from omni.sessions.domain.model import (
    Attachment,
    Direction,
    EmailFacts,
    Identity,
    Message,
    Note,
    NoteKind,
    Session,
    State,
)
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
IDENTITY_KINDS = {
    "phone": common_pb2.IDENTITY_KIND_PHONE,
    "email": common_pb2.IDENTITY_KIND_EMAIL,
    "chat_handle": common_pb2.IDENTITY_KIND_CHAT_HANDLE,
    "external": common_pb2.IDENTITY_KIND_EXTERNAL,
}
IDENTITY_KINDS_BACK = {v: k for k, v in IDENTITY_KINDS.items()}
NOTE_KINDS = {NoteKind.STAFF: sessions_pb2.SESSION_NOTE_KIND_STAFF,
              NoteKind.BOT_HANDOFF: sessions_pb2.SESSION_NOTE_KIND_BOT_HANDOFF}


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
    )


def message_to_proto(message: Message) -> sessions_pb2.Message:
    return sessions_pb2.Message(
        id=message.id,
        direction=DIRECTIONS[message.direction],
        sender=message.sender,
        text=message.text,
        time=timestamp(message.time),
        attachments=[attachment_to_proto(a) for a in message.attachments],
    )


def note_to_proto(note: Note) -> sessions_pb2.SessionNote:
    return sessions_pb2.SessionNote(id=note.id, kind=NOTE_KINDS[note.kind], author_id=note.author_id, text=note.text,
                                    create_time=timestamp(note.create_time))


def session_to_proto(session: Session, *, staff: bool = True) -> sessions_pb2.Session:
    """`staff=False` for the customer's own view: internal notes and claimed identities are for
    staff only."""
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
        notes=[note_to_proto(n) for n in session.notes] if staff else [],
        claimed_identities=[identity_to_proto(i) for i in session.claimed_identities] if staff else [],
        agent_id=session.agent_id,
        ticket_id=session.ticket_id,
        previous_session_id=session.previous_session_id,
        create_time=timestamp(session.create_time),
        update_time=timestamp(session.update_time),
        attributes=session.attributes,
        version=session.version,
    )


def customer_view(update: sessions_pb2.SessionUpdate) -> sessions_pb2.SessionUpdate | None:
    """A live update (built for staff) as the session's customer may see it: without internal
    notes or claimed identities; None for a note."""
    if update.kind == "note":
        return None
    visible = sessions_pb2.SessionUpdate()
    visible.CopyFrom(update)
    if visible.HasField("session"):
        visible.session.ClearField("notes")
        visible.session.ClearField("claimed_identities")
    return visible


def interaction(session: Session, message: Message, *, interaction_id: str = "") -> common_pb2.Interaction:
    """The Interaction tickets and routing consume, for one message of `session`."""
    return common_pb2.Interaction(
        id=interaction_id or message.id,
        channel=channel_to_proto(session.channel),
        direction=DIRECTIONS[message.direction],
        session_id=session.id,
        occurred_at=timestamp(message.time),
        customer=customer_ref(session),
        queue=session.queue,
        intent=session.intent,
        language=session.language,
        emotion_score=session.emotion_score,
        urgent=session.urgent,
        text=message.text,
        email=email_to_proto(message.email) if message.email else None,
        attachments=[attachment_to_proto(a) for a in message.attachments],
        agent_id=message.sender if message.direction is Direction.OUTBOUND else session.agent_id,
        previous_session_id=session.previous_session_id,
        ticket_id=session.ticket_id,
        attributes=session.attributes,
    )
