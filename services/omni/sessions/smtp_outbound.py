"""Agent replies by email: threading headers, the ticket token, and the relay that sends them."""

from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from omni.runtime.clock import utcnow
from omni.runtime.errors import Unavailable

_REPLY_PREFIX = re.compile(r"^\s*((re|aw|fw|fwd|回复|答复)\s*[:：]\s*)+", re.IGNORECASE)
# References longer than this are trimmed from the middle, keeping the thread root (RFC 5322 §3.6.4).
MAX_REFERENCES = 20


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
) -> EmailMessage:
    """`reply_key` (session and request id) fixes the Message-ID: if we crash after the relay took
    the mail but before it was recorded, the retried call sends the same message again, and mail
    clients and our own threading see one message, not two."""
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = to_address
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


class RelayMailer:
    """Sends through the configured relay (OMNI_SMTP_RELAY host:port)."""

    def __init__(self, relay: str, timeout: float) -> None:
        host, _, port = relay.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"OMNI_SMTP_RELAY={relay!r} must be host:port")
        self._host, self._port, self._timeout = host, int(port), timeout

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(message, hostname=self._host, port=self._port, timeout=self._timeout)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise Unavailable(
                f"the SMTP relay {self._host}:{self._port} did not take the reply ({exc}); "
                "it was not sent, try again"
            ) from exc
