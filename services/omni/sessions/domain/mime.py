"""Parsing inbound email with the standard library, defensively.

Mail from the internet is often broken: bad MIME boundaries, lying charsets, 8-bit bytes in
headers. Nothing here raises on bad input: what can be read is kept, and every problem is
written into `defects` in words an agent understands. The body rules (docs/sessions.md):

- every inline text or HTML part of a `multipart/mixed` is kept, in order;
- of a `multipart/alternative` the richer version is kept (a stub plain part loses to the HTML);
- an attached `message/rfc822` (a forward as attachment, the original in a bounce) is an
  attachment of its own, never merged into the body; its Message-ID is offered for threading;
- when the MIME structure is broken (no start boundary, no boundary at all, a body labelled as
  binary), the readable text of the body is still the message text.
"""

from __future__ import annotations

import dataclasses
import email
import email.utils
import hashlib
import re
from collections.abc import Iterator
from email import policy
from email.header import decode_header
from email.message import Message as MimeMessage

from omni.sessions.domain.automatic import delivery_report, is_auto_reply, is_delivery_report, is_system_sender
from omni.sessions.domain.charsets import decode_bytes
from omni.sessions.domain.html_text import html_to_text
from omni.sessions.domain.model import EmailFacts
from omni.sessions.domain.sender_trust import sender_trust

# RFC 5322's line limit: no header field we keep (subject, one message id) is longer in honest mail.
MAX_HEADER_CHARS = 998
# An address (RFC 5321's path limit) and a display name.
MAX_ADDRESS_CHARS = 320
# Defects listed one by one; a hostile message can have a defect per part.
MAX_DEFECTS = 50
# Deeper MIME nesting than this is not read (hostile mail nests thousands of levels).
MAX_DEPTH = 20
_MSGID = re.compile(r"<[^<>\s]+>")
_WORD = re.compile(r"\w+")
_SKIPPED_PARTS = {"message/delivery-status", "text/rfc822-headers"}


@dataclasses.dataclass(frozen=True)
class MailLimits:
    """The configured limits and trust of inbound mail (sessions settings). A mail is published as
    one event, which has to fit the event bus's message size: what is over a limit is cut or left
    out, and the cut is written into the mail's defects."""

    # Largest attachment whose content is kept; larger ones keep metadata only.
    attachment_bytes: int
    # HTML is cut to this many characters before it is parsed into text.
    html_chars: int = 1_000_000
    # authserv-ids of our own receiving MTA (RFC 8601); empty: no sender is ever verified.
    trusted_authserv_ids: tuple[str, ...] = ()
    # The body text kept (a transcript is not an archive).
    text_chars: int = 100_000
    # The HTML alternative is stored only up to this many characters (its text is read anyway).
    stored_html_chars: int = 200_000
    # Message ids of References kept: the thread's root and the newest.
    references: int = 50
    # To and Cc addresses kept, each.
    recipients: int = 100
    # Attachments (attached messages included) kept; the rest are left out.
    attachments: int = 50


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


@dataclasses.dataclass
class _Reading:
    """What the walk over the parts collects."""

    limits: MailLimits
    defects: list[str] = dataclasses.field(default_factory=list)
    attachments: list[AttachmentPart] = dataclasses.field(default_factory=list)
    attached_ids: list[str] = dataclasses.field(default_factory=list)
    html: str = ""
    parts: int = 0
    # Attachments beyond the limit, not kept.
    left_out: int = 0


def _defect_words(defect: Exception) -> str:
    # CloseBoundaryNotFoundDefect -> "close boundary not found"
    name = re.sub(r"(?<!^)(?=[A-Z])", " ", type(defect).__name__).lower().removesuffix(" defect")
    return f"{name} ({defect})" if str(defect) else name


def _raw_header(message: MimeMessage, name: str) -> str:
    """The first such header as sent (8-bit bytes surrogate-escaped), or ''."""
    wanted = name.lower()
    return next((str(value) for key, value in message.raw_items() if key.lower() == wanted), "")


def decode_words(raw: str) -> str:
    """A header's text: RFC 2047 encoded words decoded (adjacent ones joined), raw 8-bit bytes read
    as UTF-8 or GB18030, labelled charsets read as their supersets; malformed words kept as sent."""
    if any("\udc80" <= c <= "\udcff" for c in raw):
        raw = decode_bytes(raw.encode("utf-8", "surrogateescape"), None).text
    try:
        chunks = decode_header(raw)
    except Exception:  # a malformed encoded word: keep what was sent
        return " ".join(raw.split())
    text = "".join(
        chunk if isinstance(chunk, str)
        else decode_bytes(chunk, charset).text if charset and charset != "unknown-8bit"
        else chunk.decode("raw-unicode-escape", "replace")
        for chunk, charset in chunks
    )
    return " ".join(text.split())


def _header(message: MimeMessage, name: str) -> str:
    return decode_words(_raw_header(message, name))


def is_address(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain.strip(".") and not any(c.isspace() or c in "<>()," for c in value))


def _addresses(message: MimeMessage, name: str) -> list[tuple[str, str]]:
    """(display name, address) of each valid address in the first such header."""
    raw = _raw_header(message, name)
    try:
        pairs = email.utils.getaddresses([raw]) if raw else []
    except Exception:  # a header hostile enough to break the address parser: no addresses
        return []
    return [(decode_words(shown)[:MAX_ADDRESS_CHARS], address[:MAX_ADDRESS_CHARS])
            for shown, address in pairs if is_address(address)]


def _recipients(message: MimeMessage, name: str, reading: _Reading) -> list[str]:
    found = [address for _, address in _addresses(message, name)]
    limit = reading.limits.recipients
    if len(found) > limit:
        reading.defects.append(f"{name}: {len(found)} addresses; only the first {limit} were kept")
    return found[:limit]


def _references(ids: list[str], reading: _Reading) -> list[str]:
    """At most the limit of ids, trimmed from the middle: the thread's root and its latest
    messages are what threading needs (RFC 5322 §3.6.4)."""
    ids = [i for i in ids if len(i) <= MAX_HEADER_CHARS]
    limit = reading.limits.references
    if len(ids) <= limit:
        return ids
    reading.defects.append(f"References: {len(ids)} message ids; the first and the last {limit - 1} were kept")
    return ids[:1] + ids[len(ids) - (limit - 1):] if limit > 1 else ids[:limit]


def _payload(part: MimeMessage) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    body = part.get_payload()
    return body.encode("utf-8", "surrogateescape") if isinstance(body, str) else b""


def _decode(part: MimeMessage, where: str, reading: _Reading) -> str:
    decoded = decode_bytes(_payload(part), part.get_content_charset())
    if decoded.problem:
        reading.defects.append(f"{where}: {decoded.problem}")
    return decoded.text


def _text_of(part: MimeMessage, where: str, reading: _Reading) -> str:
    text = _decode(part, where, reading)
    if part.get_content_type() != "text/html":
        return text
    reading.html = reading.html or text
    plain, cut = html_to_text(text, max_chars=reading.limits.html_chars)
    if cut:
        reading.defects.append(f"{where}: HTML cut at {reading.limits.html_chars} characters before reading it")
    return plain


def _filename(part: MimeMessage, where: str, reading: _Reading) -> str:
    try:
        return decode_words(part.get_filename() or "")
    except Exception as exc:
        reading.defects.append(f"{where}: unreadable filename ({exc})")
        return "attachment"


def _attach(part: MimeMessage, filename: str, data: bytes, index: int, reading: _Reading) -> None:
    if len(reading.attachments) >= reading.limits.attachments:
        reading.left_out += 1
        return
    limit = reading.limits.attachment_bytes
    reading.attachments.append(AttachmentPart(
        filename=filename or f"part-{index}", content_type=part.get_content_type(), size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), content=data if len(data) <= limit else None,
    ))
    if len(data) > limit:
        reading.defects.append(f"attachment {filename or index} is {len(data)} bytes, over the "
                               f"{limit}-byte limit; only its name and size were kept")


def _children(part: MimeMessage) -> list[MimeMessage]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, MimeMessage)] if isinstance(payload, list) else []


def _richest(versions: list[str]) -> str:
    """Of the versions of one `multipart/alternative`, the one with the most words (the first on a
    tie: plain text, which needs no conversion)."""
    return max(versions, key=lambda v: len(_WORD.findall(v)), default="")


def _texts(part: MimeMessage, depth: int, reading: _Reading, top: bool = False) -> Iterator[str]:
    """The body texts of `part` in order; attachments and attached messages go into `reading`."""
    index = reading.parts
    reading.parts += 1
    where = f"part {index}"
    reading.defects.extend(f"{where}: {_defect_words(d)}" for d in part.defects)
    content_type = part.get_content_type()
    if depth > MAX_DEPTH:
        reading.defects.append(f"{where}: nested deeper than {MAX_DEPTH} levels; not read")
        return
    if part.is_multipart() and content_type != "message/rfc822":
        children = _children(part)
        if content_type == "multipart/alternative":
            yield _richest(["\n\n".join(_texts(child, depth + 1, reading)) for child in children])
            return
        for child in children:
            yield from _texts(child, depth + 1, reading)
        return
    if content_type in _SKIPPED_PARTS:
        return
    filename = _filename(part, where, reading)
    if content_type == "message/rfc822":
        inner = _children(part)
        found = _MSGID.search(str(inner[0].get("Message-ID", ""))) if inner else None
        if found and len(reading.attached_ids) < reading.limits.attachments:
            reading.attached_ids.append(found.group(0)[:MAX_HEADER_CHARS])
        data = inner[0].as_bytes(policy=policy.compat32) if inner else _payload(part)
        _attach(part, filename or "attached message.eml", data, index, reading)
        return
    attached = bool(filename) or part.get_content_disposition() == "attachment"
    if not attached and content_type in ("text/plain", "text/html"):
        yield _text_of(part, where, reading)
        return
    if top and not attached:
        # Broken structure (a multipart without usable boundary, a body labelled binary): when
        # the bytes read as text, they are the message, not an attachment.
        decoded = decode_bytes(_payload(part), part.get_content_charset())
        if not decoded.problem and decoded.text.strip():
            reading.defects.append(f"{where}: declared {content_type} but reads as text; kept as the message text")
            yield decoded.text
            return
    _attach(part, filename, _payload(part), index, reading)


def parse_email(raw: bytes, limits: MailLimits) -> ParsedEmail:
    """Read one RFC 5322 message."""
    message = email.message_from_bytes(raw, policy=policy.default)
    reading = _Reading(limits)
    text = "\n\n".join(t.strip() for t in _texts(message, 0, reading, top=True) if t.strip())
    if reading.left_out:
        reading.defects.append(f"{reading.left_out} more attachment(s) beyond the first {limits.attachments} "
                               "were not kept")
    if len(text) > limits.text_chars:
        reading.defects.append(f"body cut at {limits.text_chars} characters (it had {len(text)})")
        text = text[:limits.text_chars]
    html = reading.html
    if len(html) > limits.stored_html_chars:
        reading.defects.append(f"HTML body of {len(html)} characters not kept (the limit is "
                               f"{limits.stored_html_chars}); its text is")
        html = ""
    senders = _addresses(message, "From")
    sender_name, sender = senders[0] if senders else ("", "")
    if not senders and _raw_header(message, "From"):
        reading.defects.append("the From header holds no valid address")
    subject = _header(message, "Subject")
    if len(subject) > MAX_HEADER_CHARS:
        reading.defects.append(f"Subject cut at {MAX_HEADER_CHARS} characters (it had {len(subject)})")
        subject = subject[:MAX_HEADER_CHARS]
    report = delivery_report(message) if is_delivery_report(message) else None
    message_id = _header(message, "Message-ID")[:998]
    authentication = [decode_words(str(v)) for k, v in message.raw_items() if k.lower() == "authentication-results"]
    facts = EmailFacts(
        message_id=(_MSGID.findall(message_id) or [message_id])[0],
        # A malformed In-Reply-To may carry several ids; the first is the parent.
        in_reply_to=(_MSGID.findall(_header(message, "In-Reply-To")) or [""])[0][:MAX_HEADER_CHARS],
        references=_references(_MSGID.findall(_header(message, "References")), reading),
        subject=subject,
        sender=sender,
        sender_name=sender_name,
        to=_recipients(message, "To", reading),
        cc=_recipients(message, "Cc", reading),
        auto_submitted=is_auto_reply(lambda name: _header(message, name), subject),
        delivery_status_report=report is not None or is_system_sender(sender),
        report_message_id=report.original_message_id if report else "",
        report_status=report.status if report else "",
        report_recipient=report.recipient if report else "",
        report_diagnostic=report.diagnostic[:1000] if report else "",
        attached_message_ids=reading.attached_ids,
        sender_trust=sender_trust(authentication, limits.trusted_authserv_ids).value,
        defects=reading.defects,
    )
    if len(reading.defects) > MAX_DEFECTS:
        facts.defects = [*reading.defects[:MAX_DEFECTS], f"... and {len(reading.defects) - MAX_DEFECTS} more defects"]
    return ParsedEmail(facts=facts, sender_name=sender_name, text=text, html=html,
                       attachments=reading.attachments)
