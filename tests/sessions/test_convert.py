"""Live updates cross replicas as protobuf and are read back into domain objects: nothing a
watcher is sent may be lost on the way."""

from __future__ import annotations

import datetime as dt

from omni.runtime.channels import Channel
from omni.sessions import convert
from omni.sessions.domain.model import (
    Attachment,
    Direction,
    Identity,
    Message,
    Note,
    NoteKind,
    Session,
    State,
    TranscriptLimits,
)
from omni.sessions.domain.updates import Update, UpdateKind
from omnichannel.sessions.v1 import sessions_pb2


def test_a_live_update_reads_back_as_it_was_published() -> None:
    at = dt.datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
    session = Session.open(Channel.EMAIL, [Identity("email", "w@f.cn"), Identity("phone", "+8613800138000")], at,
                           display_name="Wang Fang")
    session.move(State.QUEUED, at + dt.timedelta(seconds=1), "email received")
    session.queue, session.intent, session.language, session.emotion_score, session.urgent = (
        "billing", "refund", "zh", 7, True)
    session.agent_id, session.ticket_id, session.customer_id = "A-1", "T-9", "C-3"
    session.attributes = {"ani": "138", "ivr_path": "2>1"}
    session.claimed_identities = [Identity("email", "typed@example.com")]
    message = Message("I-1", Direction.INBOUND, "w@f.cn", "退款", at,
                      attachments=[Attachment("A-1", "bill.pdf", "application/pdf", 1234, "ab" * 32, True)])
    session.add_message(message, TranscriptLimits(max_messages=10, max_bytes=10_000))
    note = session.add_note(Note("N-1", NoteKind.BOT_HANDOFF, "bot-1", "handed over", at), max_notes=10)
    session.version = 4

    for update in (Update(UpdateKind.MESSAGE, session=session, message=message),
                   Update(UpdateKind.NOTE, session=session, note=note),
                   Update(UpdateKind.STATE, session=session),
                   Update(UpdateKind.TYPING, message=Message("", Direction.OUTBOUND, "", "", at))):
        sent = convert.update_to_proto(update)
        received = convert.update_from_proto(sessions_pb2.SessionUpdate.FromString(sent.SerializeToString()))
        assert convert.update_to_proto(received) == sent, update.kind
