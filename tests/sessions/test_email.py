"""Email in over real SMTP (smtplib → aiosmtpd) and agent replies out through a relay sink."""

from __future__ import annotations

import asyncio
import email
import smtplib
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import grpc
import pytest

from omni.runtime import storage
from omni.runtime.auth import Role
from omni.sessions.repository import SessionRepository
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1 import events_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb
from omnichannel.tickets.v1.events_pb2 import InteractionThreaded
from tests.support.polling import eventually

PDF = b"%PDF-1.4 invoice " * 100


def _send(port: int, raw: bytes | EmailMessage, to: str = "support@example.com",
          sender: str = "li.wei@customer.cn") -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        if isinstance(raw, EmailMessage):
            return client.send_message(raw, from_addr=sender, to_addrs=[to])
        return client.sendmail(sender, [to], raw)


def _customer_mail() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Li Wei <li.wei@customer.cn>"
    mail["To"] = "support@example.com"
    mail["Subject"] = "Invoice charged twice"
    mail["Message-ID"] = "<first-1@customer.cn>"
    mail["References"] = "<older-0@customer.cn>"
    mail.set_content("Hello, my invoice was charged twice. Please refund.")
    mail.add_alternative("<p>Hello, my <b>invoice</b> was charged twice.</p>", subtype="html")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    return mail


async def test_multipart_email_with_attachment_becomes_an_interaction(stack, published) -> None:
    await asyncio.to_thread(_send, stack.smtp_port, _customer_mail())

    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived)
    interaction = received.interaction
    assert interaction.channel == common_pb2.CHANNEL_EMAIL
    assert interaction.direction == common_pb2.DIRECTION_INBOUND
    assert [(i.kind, i.value) for i in interaction.customer.identities] == [
        (common_pb2.IDENTITY_KIND_EMAIL, "li.wei@customer.cn")]
    assert interaction.email.message_id == "<first-1@customer.cn>"
    assert list(interaction.email.references) == ["<older-0@customer.cn>"]
    assert interaction.email.subject == "Invoice charged twice"
    assert "charged twice" in interaction.text
    assert interaction.intent == "refund" and interaction.queue == "billing"
    [attachment] = interaction.attachments
    assert (attachment.filename, attachment.content_type, attachment.size_bytes) == (
        "invoice.pdf", "application/pdf", len(PDF))
    assert not attachment.truncated

    staff = stack.token(Role.SUPERVISOR, "S-1")
    stored = await stack.sessions.GetAttachment(
        pb.GetAttachmentRequest(session_id=interaction.session_id, attachment_id=attachment.attachment_id),
        metadata=staff)
    assert stored.content == PDF
    session = await stack.sessions.GetSession(pb.GetSessionRequest(id=interaction.session_id), metadata=staff)
    assert session.state == pb.SESSION_STATE_QUEUED


async def test_resent_email_is_not_a_second_interaction(stack, published) -> None:
    await asyncio.to_thread(_send, stack.smtp_port, _customer_mail())
    await asyncio.to_thread(_send, stack.smtp_port, _customer_mail())
    # Another customer's mail after it: sessions announces a mail before accepting it, so once
    # this one is announced, whatever the resent copy caused has been published before it.
    other = EmailMessage()
    other["From"] = "zhao@customer.cn"
    other["To"] = "support@example.com"
    other["Subject"] = "Delivery"
    other["Message-ID"] = "<other-1@customer.cn>"
    other.set_content("Where is my parcel?")
    await asyncio.to_thread(_send, stack.smtp_port, other, sender="zhao@customer.cn")
    await published.wait("interaction_received", events_pb2.InteractionReceived,
                         where=lambda e: e.interaction.email.message_id == "<other-1@customer.cn>")
    # Same Message-ID → same interaction id → JetStream dedup; the core subscriber sees both
    # publishes, so compare ids: one for the mail sent twice, one for the other customer's.
    assert len({e.id for e in published.of("interaction_received")}) == 2


async def test_a_mail_whose_storing_failed_half_way_is_stored_once_when_the_sender_retries(
        stack, published, monkeypatch) -> None:
    # The database fails after the new session and the attachment were written, before the
    # message was: the server answers 451 and the sender's MTA sends the same mail again.
    real = SessionRepository.record
    failures = [RuntimeError("the database went away")]

    async def failing_once(self: SessionRepository, session_id: str, change: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real(self, session_id, change)

    monkeypatch.setattr(SessionRepository, "record", failing_once)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await asyncio.to_thread(_send, stack.smtp_port, _customer_mail())
    assert refused.value.smtp_code == 451
    await asyncio.to_thread(_send, stack.smtp_port, _customer_mail())

    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived)
    staff = stack.token(Role.SUPERVISOR, "S-1")
    listed = await stack.sessions.ListSessions(pb.ListSessionsRequest(channel=common_pb2.CHANNEL_EMAIL),
                                               metadata=staff)
    [session] = listed.sessions  # no empty session left over from the failed try
    assert session.id == received.interaction.session_id and len(session.messages) == 1
    [attachment] = received.interaction.attachments
    stored = await stack.sessions.GetAttachment(
        pb.GetAttachmentRequest(session_id=session.id, attachment_id=attachment.attachment_id), metadata=staff)
    assert stored.content == PDF
    client = storage.connect(stack.settings.mongo_url)
    try:
        kept = await client[stack.settings.database_for("sessions")]["attachments"].count_documents({})
    finally:
        await client.close()
    assert kept == 1  # the retry overwrote the first try's copy


@pytest.mark.slow
async def test_a_30_mb_mail_is_refused_with_552(stack) -> None:
    big = b"Subject: huge\r\nMessage-ID: <huge@customer.cn>\r\n\r\n" + (b"x" * 998 + b"\r\n") * 30_000

    def without_size_extension() -> tuple[int, bytes]:
        # A sender that ignores SIZE and just streams the data.
        with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=60) as client:
            client.helo("sender.example")
            client.mail("a@customer.cn")
            client.rcpt("support@example.com")
            return client.data(big)

    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await asyncio.to_thread(_send, stack.smtp_port, big)
    assert refused.value.smtp_code == 552
    code, _ = await asyncio.to_thread(without_size_extension)
    assert code == 552


async def test_malformed_mime_and_non_utf8_mail_are_ingested_with_defects(stack, published) -> None:
    broken = (b"From: x@customer.cn\r\nSubject: broken\r\nMessage-ID: <broken@customer.cn>\r\n"
              b"Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\n"
              b"the boundary never closes\r\n--zz\r\nContent-Type: application/octet-stream\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!")
    gb2312 = ("From: =?gb2312?b?1cXI/Q==?= <zhang@customer.cn>\r\nSubject: 网络故障\r\n"
              "Message-ID: <gb@customer.cn>\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n").encode() \
        + "宽带断网了，很紧急".encode("gb2312")
    lying = (b"From: y@customer.cn\r\nMessage-ID: <lying@customer.cn>\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n\r\ncaf\xe9 \xff\xfe broken bytes")
    for raw in (broken, gb2312, lying):
        assert await asyncio.to_thread(_send, stack.smtp_port, raw) == {}

    events = await published.wait("interaction_received", events_pb2.InteractionReceived, count=3)
    by_id = {e.interaction.email.message_id: e.interaction for e in events}
    assert "never closes" in by_id["<broken@customer.cn>"].text
    assert any("boundary" in d for d in by_id["<broken@customer.cn>"].email.defects)
    chinese = by_id["<gb@customer.cn>"]
    assert "宽带断网了" in chinese.text and chinese.language == "zh" and chinese.urgent
    assert chinese.customer.display_name == "张三"
    assert "caf" in by_id["<lying@customer.cn>"].text
    assert any("utf-8" in d for d in by_id["<lying@customer.cn>"].email.defects)


async def test_mail_for_a_foreign_domain_is_refused(stack) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await asyncio.to_thread(_send, stack.smtp_port, _customer_mail(), "someone@elsewhere.net")
    code, text = refused.value.recipients["someone@elsewhere.net"]
    assert code == 550 and b"example.com" in text


async def test_agent_reply_reaches_the_relay_threaded_with_the_ticket_token(stack, published) -> None:
    await asyncio.to_thread(_send, stack.smtp_port, _customer_mail())
    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived)
    session_id = received.interaction.session_id
    bus = await stack.bus()
    await bus.publish("tickets", "interaction_threaded", "tickets/T-1234", InteractionThreaded(
        interaction_id=received.interaction.id, session_id=session_id, ticket_id="T-1234", customer_id="C-9"))
    await bus.close()
    agent = stack.token(Role.AGENT, "A-7", groups=("billing",))
    session = await eventually(lambda: stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=agent),
                               lambda s: s.ticket_id, what=f"session {session_id} filed on its ticket")
    assert (session.ticket_id, session.customer.customer_id) == ("T-1234", "C-9")

    reply = await stack.sessions.SendReply(pb.SendReplyRequest(
        session_id=session_id, text="We refunded the second charge.", request_id="r-1"), metadata=agent)

    [(mail_from, rcpt, raw)] = stack.sink.messages
    sent = email.message_from_bytes(raw, policy=default_policy)
    assert rcpt == ["li.wei@customer.cn"] and mail_from == "support@example.com"
    assert sent["In-Reply-To"] == "<first-1@customer.cn>"
    assert sent["References"] == "<older-0@customer.cn> <first-1@customer.cn>"
    assert sent["Subject"] == "Re: Invoice charged twice [#T-1234]"
    assert sent["Message-ID"] == reply.message_id
    assert "refunded" in sent.get_content()

    outbound = await published.wait("interaction_received", events_pb2.InteractionReceived,
                                    where=lambda e: e.interaction.direction == common_pb2.DIRECTION_OUTBOUND)
    assert outbound[0].interaction.email.message_id == reply.message_id
    assert (outbound[0].interaction.agent_id, outbound[0].interaction.ticket_id) == ("A-7", "T-1234")

    # A retried SendReply (same request_id) sends nothing twice.
    again = await stack.sessions.SendReply(pb.SendReplyRequest(
        session_id=session_id, text="We refunded the second charge.", request_id="r-1"), metadata=agent)
    assert again.message_id == reply.message_id and len(stack.sink.messages) == 1

    # An agent of another group may not answer it.
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stack.sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="hi"),
                                       metadata=stack.token(Role.AGENT, "A-8", groups=("sales",)))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_agent_copies_a_participant_only_when_choosing_one_who_wrote(stack, published) -> None:
    await asyncio.to_thread(_send, stack.smtp_port, _customer_mail())
    colleague = EmailMessage()
    colleague["From"] = "Jens Boss <Jens.Boss@contoso.com>"
    colleague["To"] = "support@example.com"
    colleague["Subject"] = "Re: Invoice charged twice"
    colleague["Message-ID"] = "<jens-1@contoso.com>"
    colleague["In-Reply-To"] = "<first-1@customer.cn>"
    colleague.set_content("I approve the refund for Li Wei.")
    await asyncio.to_thread(_send, stack.smtp_port, colleague, sender="jens.boss@contoso.com")
    events = await published.wait("interaction_received", events_pb2.InteractionReceived, count=2)
    session_id = events[0].interaction.session_id
    agent = stack.token(Role.AGENT, "A-7", groups=("billing",))

    # Someone who never wrote into the conversation cannot be copied: refused, nothing sent.
    with pytest.raises(grpc.aio.AioRpcError) as stranger:
        await stack.sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="Refunded.",
                                                           cc=["eve@evil.example"]), metadata=agent)
    assert stranger.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "jens.boss@contoso.com" in (stranger.value.details() or "") and stack.sink.messages == []

    # By default the reply goes to the customer alone, whoever wrote last; copied when chosen.
    await stack.sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="Refunded."), metadata=agent)
    await stack.sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="Refunded, Jens.",
                                                       cc=["JENS.BOSS@contoso.com"]), metadata=agent)
    (_, alone, _), (_, both, raw) = stack.sink.messages
    assert alone == ["li.wei@customer.cn"] and both == ["li.wei@customer.cn", "jens.boss@contoso.com"]
    assert email.message_from_bytes(raw, policy=default_policy)["Cc"] == "jens.boss@contoso.com"


async def test_customer_reply_joins_the_same_session(stack, published) -> None:
    await asyncio.to_thread(_send, stack.smtp_port, _customer_mail())
    [first] = await published.wait("interaction_received", events_pb2.InteractionReceived)
    follow_up = EmailMessage()
    follow_up["From"] = "li.wei@customer.cn"
    follow_up["To"] = "support@example.com"
    follow_up["Subject"] = "Re: Invoice charged twice"
    follow_up["Message-ID"] = "<second-2@customer.cn>"
    follow_up["In-Reply-To"] = "<first-1@customer.cn>"
    follow_up.set_content("Any news?")
    await asyncio.to_thread(_send, stack.smtp_port, follow_up)
    events = await published.wait("interaction_received", events_pb2.InteractionReceived, count=2)
    assert {e.interaction.session_id for e in events} == {first.interaction.session_id}

