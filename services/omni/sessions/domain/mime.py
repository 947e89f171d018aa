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

# Bodies beyond this are cut (a transcript is not an archive); the cut is noted as a defect.
MAX_BODY_CHARS = 200_000
_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_TAG = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")
_MSGID = re.compile(r"<[^<>\s]+>")


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


def _addresses(message: MimeMessage, name: str, defects: list[str]) -> list[str]:
    raw = _header(message, name, defects)
    return [address for _, address in email.utils.getaddresses([raw]) if "@" in address] if raw else []


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


def parse_email(raw: bytes, *, attachment_limit: int) -> ParsedEmail:
    """Read one RFC 5322 message. Parts larger than `attachment_limit` keep metadata only."""
    defects: list[str] = []
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
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            attachments.append(AttachmentPart(
                filename=filename or f"part-{index}",
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                content=data if len(data) <= attachment_limit else None,
            ))
            if len(data) > attachment_limit:
                defects.append(f"attachment {filename or index} is {len(data)} bytes, over the "
                               f"{attachment_limit}-byte limit; only its name and size were kept")
    if not text and markup:
        text = _html_to_text(markup)
    if len(text) > MAX_BODY_CHARS:
        defects.append(f"body cut at {MAX_BODY_CHARS} characters (it had {len(text)})")
        text = text[:MAX_BODY_CHARS]
    sender_name, sender = email.utils.parseaddr(_header(message, "From", defects))
    facts = EmailFacts(
        message_id=_header(message, "Message-ID", defects),
        in_reply_to=" ".join(_MSGID.findall(_header(message, "In-Reply-To", defects)))[:998],
        references=_MSGID.findall(_header(message, "References", defects)),
        subject=_header(message, "Subject", defects),
        sender=sender,
        to=_addresses(message, "To", defects),
        cc=_addresses(message, "Cc", defects),
        auto_submitted=_is_auto_submitted(message, defects),
        delivery_status_report=_is_delivery_report(message),
        defects=defects,
    )
    # A malformed In-Reply-To may carry several ids; the first is the parent.
    facts.in_reply_to = facts.in_reply_to.split(" ")[0]
    return ParsedEmail(facts=facts, sender_name=sender_name, text=text.strip(), html=markup, attachments=attachments)
