"""Agent replies on the customer's channel: chat messages live, email through the relay, SMS
through the SMS outbox.

Every reply is published as an OUTBOUND interaction (agent, ticket, and for email the outbound
Message-ID) so tickets records it and threads the customer's answer to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from omni.runtime.auth import Principal
from omni.runtime.channels import Channel
from omni.runtime.clock import utcnow
from omni.runtime.errors import FailedPrecondition, InvalidArgument
from omni.runtime.validation import check_length, require
from omni.sessions.domain.access import check_agent
from omni.sessions.domain.model import Direction, EmailFacts, Message, Session, TextLimit, new_id
from omni.sessions.domain.reply_mail import build_reply, copied, reply_facts
from omni.sessions.repository import SessionRepository
from omni.sessions.smtp_outbound import RelayMailer
from omni.sessions.usecases.conversations import Conversations
from omni.sessions.usecases.sms import SmsChannel


@dataclasses.dataclass(frozen=True)
class SentReply:
    session: Session
    message: Message


class Replies:
    def __init__(self, conversations: Conversations, repo: SessionRepository, mailer: RelayMailer,
                 sms: SmsChannel | None, *,
                 limit: TextLimit, mail_from: str, accepted_domains: tuple[str, ...]) -> None:
        self._c = conversations
        self._repo = repo
        self._mailer = mailer
        self._sms = sms
        self._limit = limit
        self._mail_from = mail_from
        self._domains = {d.casefold() for d in accepted_domains}

    async def send(self, principal: Principal, session_id: str, text: str, html: str, request_id: str,
                   cc: Sequence[str] = ()) -> SentReply:
        """`cc`: participants the agent chose to copy on an email reply (`reply_mail.copied`)."""
        session = await self._repo.get(require(session_id, "session_id"))
        check_agent(principal, session)
        check_length(request_id, "request_id", 200)
        earlier = session.message_for_request(request_id)
        if earlier is not None:
            # A retried call: the reply went out already; publish what is pending, send nothing.
            await self._c.replay(session, earlier)
            return SentReply(session, earlier)
        text = self._limit.check(require(text, "text"), "text")
        check_length(html, "html", self._limit.max_chars * 4)
        message = Message(id=new_id("I"), direction=Direction.OUTBOUND, sender=principal.subject, text=text,
                          time=utcnow(), html=html, request_id=request_id,
                          sender_name=session.agent_name if principal.subject == session.agent_id else "")
        if session.channel is Channel.PHONE:
            raise FailedPrecondition(f"session {session.id} is a phone call; answer the caller on the call")
        if cc and session.channel is not Channel.EMAIL:
            raise InvalidArgument("cc is for email replies; a chat or an SMS has no one to copy")
        if session.channel is Channel.SMS:
            return SentReply(session, await self._sms_reply(session, principal, text, request_id))
        if session.channel is Channel.CHAT:
            session.check_open()
        else:
            message.email = await self._email(session, text, html, request_id,
                                              copied(session.mail_participants, cc))
        session, _ = await self._c.record(session.id, lambda current: self._c.add(current, message))
        return SentReply(session, message)

    async def _sms_reply(self, session: Session, principal: Principal, text: str, request_id: str) -> Message:
        if self._sms is None:
            raise FailedPrecondition("the SMS channel is not configured (OMNI_SMS_SMSC)")
        number = session.first_identity("phone")
        if not number:
            raise FailedPrecondition(f"session {session.id} has no customer phone number to text")
        return await self._sms.send(number, text, sender=principal.subject, session_id=session.id,
                                    request_id=request_id)

    async def _email(self, session: Session, text: str, html: str, request_id: str,
                     cc: Sequence[str]) -> EmailFacts:
        last = session.last_inbound_email()
        if last is None or last.email is None:
            raise FailedPrecondition(f"session {session.id} has no customer email to reply to")
        ours = next((a for a in last.email.to if a.rpartition("@")[2].casefold() in self._domains), "")
        mail = build_reply(
            from_address=ours or self._mail_from,
            # The customer the conversation belongs to, not whoever wrote last: a third party who
            # threaded a mail in (a forwarder, or someone with a guessed Message-ID) gets nothing.
            to_address=session.first_identity("email") or last.email.sender or last.sender,
            subject=last.email.subject,
            in_reply_to=last.email.message_id,
            references=last.email.references,
            ticket_id=session.ticket_id,
            text=text,
            html=html,
            reply_key=f"{session.id}/{request_id}" if request_id else "",
            cc=cc,
        )
        await self._mailer.send(mail)
        return reply_facts(mail)
