"""Parsing inbound email with the standard library, defensively.

Mail from the internet is often broken: bad MIME boundaries, unknown charsets, 8-bit bytes in
headers. Nothing here raises on bad input: what can be read is kept, and every problem is
written into `defects` in words an agent understands.
"""

from __future__ import annotations

import dataclasses
import email
import email.utils
import hashlib
import html as html_lib
import re
from email import policy
from email.message import Message as MimeMessage

from omni.sessions.domain.model import EmailFacts

# RFC 5322's line limit: no header field we keep (subject, one message id) is longer in honest mail.
MAX_HEADER_CHARS = 998
# An address (RFC 5321's path limit) and a display name.
MAX_ADDRESS_CHARS = 320
# Defects listed one by one; a hostile message can have a defect per part.
MAX_DEFECTS = 50
_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_TAG = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")
_MSGID = re.compile(r"<[^<>\s]+>")


@dataclasses.dataclass(frozen=True)
class MailLimits:
    """What one inbound mail may bring into a session: the rest is cut or left out, and the cut is
    written into the mail's defects. Each is a setting (OMNI_EMAIL_MAX_*, OMNI_ATTACHMENT_MAX_BYTES):
    a mail is published as one event, which has to fit the event bus's message size."""

    text_chars: int = 100_000
    html_chars: int = 200_000
    references: int = 50
    recipients: int = 50
    attachments: int = 50
    attachment_bytes: int = 7 * 1024 * 1024


@dataclasses.dataclass
class AttachmentPart:
    filename: str
    content_type: str
    size: int
    sha256: str
    # None when the part was larger than the limit (only its metadata is kept).
    content: bytes | None

    @property
    def truncated(self) -> bool:
        return self.content is None


@dataclasses.dataclass
class ParsedEmail:
    facts: EmailFacts
    sender_name: str
    text: str
    html: str
    attachments: list[AttachmentPart]


def _defect_words(defect: Exception) -> str:
    # CloseBoundaryNotFoundDefect -> "close boundary not found"
    name = re.sub(r"(?<!^)(?=[A-Z])", " ", type(defect).__name__).lower().removesuffix(" defect")
    return f"{name} ({defect})" if str(defect) else name


def _header(message: MimeMessage, name: str, defects: list[str]) -> str:
    try:
        value = message.get(name)
        return " ".join(str(value).split()) if value is not None else ""
    except Exception as exc:  # the header parser can choke on hostile input; keep going without it
        defects.append(f"header {name} could not be read: {exc}")
        return ""


def _cut(value: str, limit: int, what: str, defects: list[str]) -> str:
    if len(value) <= limit:
        return value
    defects.append(f"{what} cut at {limit} characters (it had {len(value)})")
    return value[:limit]


def _addresses(message: MimeMessage, name: str, limit: int, defects: list[str]) -> list[str]:
    raw = _header(message, name, defects)
    found = [address[:MAX_ADDRESS_CHARS] for _, address in email.utils.getaddresses([raw]) if "@" in address] \
        if raw else []
    if len(found) > limit:
        defects.append(f"{name}: {len(found)} addresses; only the first {limit} were kept")
    return found[:limit]


def _references(ids: list[str], limit: int, defects: list[str]) -> list[str]:
    """At most `limit` ids, trimmed from the middle: the thread's root and its latest messages
    are what threading needs (RFC 5322 §3.6.4)."""
    ids = [i for i in ids if len(i) <= MAX_HEADER_CHARS]
    if len(ids) <= limit:
        return ids
    defects.append(f"References: {len(ids)} message ids; the first and the last {limit - 1} were kept")
    return ids[:1] + ids[len(ids) - (limit - 1):] if limit > 1 else ids[:limit]


def _decode(part: MimeMessage, where: str, defects: list[str]) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset)
    except (LookupError, UnicodeDecodeError):
        defects.append(f"{where}: not valid {charset}; undecodable bytes were replaced")
        return data.decode("utf-8", errors="replace")


def _html_to_text(markup: str) -> str:
    text = html_lib.unescape(_TAG.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>", "\n", markup)))
    return _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in text.splitlines())).strip()


def _is_auto_submitted(message: MimeMessage, defects: list[str]) -> bool:
    auto = _header(message, "Auto-Submitted", defects).lower()
    precedence = _header(message, "Precedence", defects).lower()
    return bool(
        (auto and auto != "no")
        or precedence in _AUTO_PRECEDENCE
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
    )


def _is_delivery_report(message: MimeMessage) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type", "")).lower() == "delivery-status"
    )


def parse_email(raw: bytes, limits: MailLimits) -> ParsedEmail:
    """Read one RFC 5322 message within `limits`. Attachments larger than `limits.attachment_bytes`
    keep metadata only; attachments beyond `limits.attachments` are left out."""
    defects: list[str] = []
    left_out = 0
    message = email.message_from_bytes(raw, policy=policy.default)
    text, markup = "", ""
    attachments: list[AttachmentPart] = []
    for index, part in enumerate(message.walk()):
        defects.extend(f"part {index}: {_defect_words(d)}" for d in part.defects)
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        try:
            filename = part.get_filename() or ""
        except Exception as exc:
            defects.append(f"part {index}: unreadable filename ({exc})")
            filename = "attachment"
        inline_text = content_type in ("text/plain", "text/html") and not filename \
            and part.get_content_disposition() != "attachment"
        if inline_text and content_type == "text/plain" and not text:
            text = _decode(part, f"part {index} (text)", defects)
        elif inline_text and content_type == "text/html" and not markup:
            markup = _decode(part, f"part {index} (html)", defects)
        elif not inline_text and content_type not in ("message/delivery-status", "text/rfc822-headers"):
            if len(attachments) >= limits.attachments:
                left_out += 1
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            attachments.append(AttachmentPart(
                filename=(filename or f"part-{index}")[:255],
                content_type=content_type[:255],
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                content=data if len(data) <= limits.attachment_bytes else None,
            ))
            if len(data) > limits.attachment_bytes:
                defects.append(f"attachment {filename or index} is {len(data)} bytes, over the "
                               f"{limits.attachment_bytes}-byte limit; only its name and size were kept")
    if left_out:
        defects.append(f"{left_out} more attachment(s) beyond the first {limits.attachments} were not kept")
    if not text and markup:
        text = _html_to_text(markup)
    text = _cut(text, limits.text_chars, "body", defects)
    if len(markup) > limits.html_chars:
        defects.append(f"HTML body of {len(markup)} characters not kept (the limit is {limits.html_chars}); "
                       "its text is")
        markup = ""
    sender_name, sender = email.utils.parseaddr(_header(message, "From", defects))
    facts = EmailFacts(
        message_id=_cut(_header(message, "Message-ID", defects), MAX_HEADER_CHARS, "Message-ID", defects),
        # A malformed In-Reply-To may carry several ids; the first is the parent.
        in_reply_to=next(iter(_MSGID.findall(_header(message, "In-Reply-To", defects))), "")[:MAX_HEADER_CHARS],
        references=_references(_MSGID.findall(_header(message, "References", defects)), limits.references, defects),
        subject=_cut(_header(message, "Subject", defects), MAX_HEADER_CHARS, "Subject", defects),
        sender=sender[:MAX_ADDRESS_CHARS],
        to=_addresses(message, "To", limits.recipients, defects),
        cc=_addresses(message, "Cc", limits.recipients, defects),
        auto_submitted=_is_auto_submitted(message, defects),
        delivery_status_report=_is_delivery_report(message),
        defects=defects,
    )
    if len(defects) > MAX_DEFECTS:
        facts.defects = [*defects[:MAX_DEFECTS], f"... and {len(defects) - MAX_DEFECTS} more defects"]
    return ParsedEmail(facts=facts, sender_name=sender_name[:MAX_ADDRESS_CHARS], text=text.strip(), html=markup,
                       attachments=attachments)
