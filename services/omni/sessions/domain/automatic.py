"""Mail no person wrote: auto-replies (RFC 3834 and what mail clients really send) and delivery
status notifications (RFC 3464 bounces). Recognised here; docs/sessions.md lists the signs.

An auto-reply is recorded on the ticket it threads to and nothing more: never queued, never
answered. A bounce is a delivery fact about one of our outbound mails, found by the Message-ID of
the returned original.
"""

from __future__ import annotations

import dataclasses
import email
import re
from collections.abc import Callable
from email import policy
from email.message import Message as MimeMessage

_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
# Subjects of vacation / out-of-office replies as Outlook, Gmail, Apple Mail, Foxmail, QQ Mail and
# Exchange write them (English and Chinese); matched at the start, after any "Re:".
_VACATION_SUBJECT = re.compile(
    r"^\s*(?:(?:re|aw)\s*[:：]\s*)*(?:"
    r"auto(?:matic)?[- ]?(?:reply|response|antwort)|autoreply|out of (?:the )?office|"
    r"(?:on )?vacation|away from (?:the )?office|abwesenheitsnotiz|"
    r"自动回复|自動回覆|自动答复|自動回復|休假|不在办公室|外出"
    r")",
    re.IGNORECASE,
)
_SYSTEM_SENDERS = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailer)@", re.IGNORECASE)
_MSGID = re.compile(r"<[^<>\s]+>")


@dataclasses.dataclass(frozen=True)
class DeliveryReport:
    """What a bounce says about one of our mails."""

    original_message_id: str = ""
    status: str = ""
    action: str = ""
    recipient: str = ""
    diagnostic: str = ""


def is_auto_reply(header: Callable[[str], str], subject: str) -> bool:
    """RFC 3834 `Auto-Submitted`, the vendor flags, `Precedence`, or a vacation subject."""
    auto = header("Auto-Submitted").lower()
    return bool(
        (auto and auto != "no")
        or header("Precedence").lower() in _AUTO_PRECEDENCE
        or header("X-Autoreply") or header("X-Autorespond") or header("X-Autoresponder")
        or _VACATION_SUBJECT.search(subject)
    )


def is_system_sender(address: str) -> bool:
    """MAILER-DAEMON, postmaster: a mail system, never a customer."""
    return bool(_SYSTEM_SENDERS.match(address.strip()))


def is_delivery_report(message: MimeMessage) -> bool:
    return (message.get_content_type() == "multipart/report"
            and str(message.get_param("report-type", "")).lower() == "delivery-status")


def delivery_report(message: MimeMessage) -> DeliveryReport:
    """Status, recipient and diagnostic of the first failed recipient, and the Message-ID of the
    returned original (a `text/rfc822-headers` or `message/rfc822` part)."""
    fields: dict[str, str] = {}
    original = ""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status" and not fields:
            fields = _status_fields(part)
        elif kind in ("text/rfc822-headers", "message/rfc822") and not original:
            original = _returned_message_id(part)
    return DeliveryReport(
        original_message_id=original,
        status=fields.get("status", ""),
        action=fields.get("action", ""),
        recipient=fields.get("final-recipient", "").partition(";")[2].strip() or fields.get("final-recipient", ""),
        diagnostic=fields.get("diagnostic-code", "").partition(";")[2].strip() or fields.get("diagnostic-code", ""),
    )


def _status_fields(part: MimeMessage) -> dict[str, str]:
    """The per-recipient fields (the second and later header blocks of the status part)."""
    blocks: list[str] = []
    for sub in part.get_payload() if part.is_multipart() else ():
        blocks.append(str(sub))
    if not blocks:
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(part.get_payload())
        blocks = re.split(r"\r?\n\s*\r?\n", text)
    found: dict[str, str] = {}
    # The first block describes the reporting MTA; recipients follow. A failed one wins.
    for block in blocks[1:] or blocks:
        fields: dict[str, str] = {}
        for line in re.sub(r"\r?\n[ \t]+", " ", block).splitlines():
            name, colon, value = line.partition(":")
            if colon:
                fields.setdefault(name.strip().lower(), value.strip())
        if "status" in fields and (not found or fields.get("action", "").lower() == "failed"):
            found = fields
            if fields.get("action", "").lower() == "failed":
                break
    return found


def _returned_message_id(part: MimeMessage) -> str:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        returned = inner[0] if isinstance(inner, list) and inner else None
        value = str(returned.get("Message-ID", "")) if isinstance(returned, MimeMessage) else ""
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else str(part.get_payload()).encode("utf-8", "replace")
        value = str(email.message_from_bytes(data, policy=policy.default).get("Message-ID", ""))
    found = _MSGID.search(value)
    return found.group(0) if found else ""
