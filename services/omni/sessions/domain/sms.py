"""SMS rules: what may be sent, what a delivery receipt means, when a send is tried again.

The SMPP link itself (aiosmpplib) lives in `smpp_link.py`; the use case in `usecases/sms.py`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from omni.runtime.errors import InvalidArgument
from omni.runtime.phones import to_e164


class Delivery(enum.StrEnum):
    """Where an outbound SMS is, as recorded on its message."""

    # Stored in the SMS outbox, not yet taken by the SMSC (or the SMSC was down: tried again).
    PENDING = "pending"
    # The SMSC took it (submit_sm_resp OK) and gave it an id; waiting for the handset's receipt.
    SUBMITTED = "submitted"
    DELIVERED = "delivered"
    FAILED = "failed"


# Final receipt states (SMPP 3.4, appendix B) and what they mean for the customer's message;
# ENROUTE and ACCEPTD are not final and change nothing.
_RECEIPT_STATES = {
    "DELIVRD": Delivery.DELIVERED,
    "UNDELIV": Delivery.FAILED,
    "REJECTD": Delivery.FAILED,
    "EXPIRED": Delivery.FAILED,
    "DELETED": Delivery.FAILED,
    "UNKNOWN": Delivery.FAILED,
}


def receipt_outcome(stat: str) -> Delivery | None:
    """The final delivery a receipt's `stat:` reports, or None when it is not final."""
    return _RECEIPT_STATES.get(stat.strip().upper())


@dataclasses.dataclass(frozen=True)
class SmsLimits:
    # Longest SMS text accepted for sending (characters; the SMSC splits or carries it as a
    # message_payload), and longest inbound text kept (the rest is cut and said so).
    max_chars: int
    # Sends of one SMS before it is given up (the SMSC down or refusing for that long).
    max_attempts: int
    # From a send with no answer from the SMSC (down, connection lost) to the next try.
    resend_after: dt.timedelta


def outbound_number(number: str, default_region: str) -> str:
    """The E.164 number an SMS goes to; InvalidArgument when it is not a valid number."""
    e164 = to_e164(number, default_region)
    if e164 is None:
        raise InvalidArgument(f"number {number[:40]!r} is not a valid phone number")
    return e164


def inbound_number(address: str, default_region: str) -> str | None:
    """The sender of an inbound SMS in E.164: SMSCs give international numbers without the
    leading +, national ones in the region's form; None when it is no valid number (a short code,
    an alphanumeric sender)."""
    digits = address.strip()
    if digits.isdigit() and not digits.startswith("0"):
        international = to_e164(f"+{digits}")
        if international is not None:
            return international
    return to_e164(digits, default_region)


# The attribute of an SMS conversation naming the waiting session its wait notice was about.
WAIT_NOTICE_FOR = "wait_notice_for"


def wait_notice(position: int, wait_seconds: int, keyword: str) -> str:
    minutes = max(1, round(wait_seconds / 60))
    return (f"You are number {max(1, position)} in line; the wait is about {minutes} min. "
            f"Reply {keyword} and we call you back instead: you keep your place.")


def callback_booked(number: str) -> str:
    return f"We will call you back at {number} when it is your turn. You can hang up."


def callback_reminder(language: str) -> str:
    """The SMS that announces a callback's next call (routing's `callback_sms_requested`)."""
    if language.lower().startswith("zh"):
        return "我们刚才未能接通您的回拨电话，稍后会再次致电，请留意来电。"
    return "We tried to call you back but could not reach you. We will call you again soon."


# The SMS conversation's attribute naming the contact whose survey its last SMS asked about.
SURVEY_FOR = "survey_for"
SURVEY_KEYWORDS = {str(n): n for n in range(1, 6)}


def survey_request(language: str) -> str:
    """The survey of a phone contact, answered by replying a digit."""
    if language.lower().startswith("zh"):
        return "感谢您的来电。请回复 1 到 5 为本次服务评分（5 = 非常满意）。"
    return "Thank you for calling. How satisfied were you? Reply with a number from 1 (poor) to 5 (excellent)."


def survey_reply(answered: bool, language: str) -> str:
    if language.lower().startswith("zh"):
        return "感谢您的评分！" if answered else "此调查已结束或已回复，谢谢。"
    return "Thank you for your rating!" if answered else "This survey is closed or was already answered. Thank you."


CALLBACK_NOT_BOOKED = "Your call is no longer waiting in line, so no callback was booked. Please call us again."


def sendable_text(text: str, limits: SmsLimits) -> str:
    if not text.strip():
        raise InvalidArgument("text is empty")
    if len(text) > limits.max_chars:
        raise InvalidArgument(f"text is {len(text)} characters; the SMS limit is {limits.max_chars}")
    return text


def received_text(text: str, limits: SmsLimits) -> str:
    if len(text) <= limits.max_chars:
        return text
    return text[: limits.max_chars] + f" [cut: {len(text)} characters, the limit is {limits.max_chars}]"


@dataclasses.dataclass
class OutboundSms:
    """One SMS in the outbox: its id is the message's id on the session."""

    id: str
    session_id: str
    number: str
    text: str
    due: dt.datetime
    state: str = Delivery.PENDING.value
    attempts: int = 0
    # The id the SMSC gave it (submit_sm_resp), which its delivery receipt names.
    smsc_id: str = ""
    error: str = ""
    # A callback's reminder: not sent once the callback is stopped (one postponed past the quiet
    # hours may still wait when the customer gets in touch).
    callback_reminder: bool = False
