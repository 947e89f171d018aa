"""Agent replies by email: the mail itself, with threading headers and the ticket token."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from omni.runtime.clock import utcnow
from omni.runtime.errors import InvalidArgument
from omni.sessions.domain.model import MAX_MAIL_PARTICIPANTS, EmailFacts

_REPLY_PREFIX = re.compile(r"^\s*((re|aw|fw|fwd|回复|答复)\s*[:：]\s*)+", re.IGNORECASE)
# References longer than this are trimmed from the middle, keeping the thread root (RFC 5322 §3.6.4).
MAX_REFERENCES = 20
# Participants one reply may copy: as many as a conversation keeps.
MAX_COPIED = MAX_MAIL_PARTICIPANTS


def copied(participants: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """The participants an agent chose to copy on a reply: only people who wrote into the
    conversation (`Session.mail_participants`), never an address typed in, so a reply can go to
    nobody the conversation did not bring."""
    if len(wanted) > MAX_COPIED:
        raise InvalidArgument(f"a reply copies at most {MAX_COPIED} participants; you named {len(wanted)}")
    known = set(participants)
    chosen = list(dict.fromkeys(w.strip().casefold() for w in wanted if w.strip()))
    strangers = [w for w in chosen if w not in known]
    if strangers:
        offered = ", ".join(participants) or "none"
        raise InvalidArgument(f"{', '.join(strangers)} did not write into this conversation; a reply may copy only "
                              f"its participants ({offered})")
    return chosen


def ticket_token(ticket_id: str) -> str:
    return f"[#{ticket_id}]"


def reply_subject(original: str, ticket_id: str) -> str:
    """ "Re: <original without older Re:>" plus the ticket token if it is not there yet."""
    subject = "Re: " + (_REPLY_PREFIX.sub("", original).strip() or "your message")
    if ticket_id and ticket_token(ticket_id) not in subject:
        subject += " " + ticket_token(ticket_id)
    return subject


def build_reply(
    *,
    from_address: str,
    to_address: str,
    subject: str,
    in_reply_to: str,
    references: list[str],
    ticket_id: str,
    text: str,
    html: str = "",
    reply_key: str = "",
    cc: Sequence[str] = (),
) -> EmailMessage:
    """`reply_key` (session and request id) fixes the Message-ID: if we crash after the relay took
    the mail but before it was recorded, the retried call sends the same message again, and mail
    clients and our own threading see one message, not two."""
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = to_address
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = reply_subject(subject, ticket_id)
    message["Date"] = format_datetime(utcnow())
    domain = from_address.rpartition("@")[2] or "omnichannel.invalid"
    message["Message-ID"] = (f"<{hashlib.sha256(reply_key.encode()).hexdigest()[:32]}.reply@{domain}>" if reply_key
                             else make_msgid(domain=domain))
    message["Auto-Submitted"] = "no"
    if in_reply_to:
        chain = [r for r in references if r != in_reply_to] + [in_reply_to]
        if len(chain) > MAX_REFERENCES:
            chain = [chain[0], *chain[-(MAX_REFERENCES - 1):]]
        message["In-Reply-To"] = in_reply_to
        message["References"] = " ".join(chain)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def reply_facts(mail: EmailMessage) -> EmailFacts:
    """The headers of a sent reply as the session records them (tickets threads on them)."""
    return EmailFacts(
        message_id=str(mail["Message-ID"]),
        in_reply_to=str(mail["In-Reply-To"] or ""),
        references=str(mail["References"] or "").split(),
        subject=str(mail["Subject"]),
        sender=str(mail["From"]),
        to=[str(mail["To"])],
        cc=[a.strip() for a in str(mail["Cc"] or "").split(",") if a.strip()],
    )
