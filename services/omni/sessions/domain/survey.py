"""The satisfaction survey (CSAT 1..5, NPS 0..10) asked once after a contact: the record kept on
the contact's session, its questions in the customer's language, and what answer is accepted.
Whether and how to ask: `survey_policy`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from omni.runtime.errors import AlreadyExists, FailedPrecondition, InvalidArgument

CSAT_RANGE = range(1, 6)
NPS_RANGE = range(0, 11)


class Delivery(enum.StrEnum):
    WIDGET = "widget"
    EMAIL_LINK = "email_link"
    SMS_REQUEST = "sms_request"


QUESTIONS = {
    "en": ("How satisfied were you with our help today? (1 = very dissatisfied, 5 = very satisfied)",
           "How likely are you to recommend us to a friend? (0 = not at all, 10 = extremely likely)"),
    "zh": ("您对本次服务满意吗？（1 = 非常不满意，5 = 非常满意）",
           "您有多大可能向朋友推荐我们？（0 = 完全不可能，10 = 非常可能）"),
}
_MAIL = {
    "en": ("How did we do?", "Thank you for contacting us. Please tell us how we did — it takes ten seconds:\n\n"
           "{link}\n\nThe link works for {days} days. We will not ask again about this conversation."),
    "zh": ("请评价本次服务", "感谢您联系我们。请花十秒钟评价本次服务：\n\n{link}\n\n"
           "链接 {days} 天内有效。本次会话我们不会再次询问。"),
}


@dataclasses.dataclass
class Survey:
    language: str
    delivery: Delivery
    ask_time: dt.datetime
    agent_id: str
    ticket_id: str
    # Email address or phone number the survey goes to; empty for the widget.
    address: str = ""
    # Email: the mail with the link went to the relay (a redelivered event sends it only if not).
    sent: bool = False
    csat: int = 0
    nps: int | None = None
    answer_time: dt.datetime | None = None

    @property
    def questions(self) -> tuple[str, str]:
        return QUESTIONS[self.language]

    def answer(self, csat: int, nps: int | None, at: dt.datetime, window: dt.timedelta, session_id: str) -> None:
        """Record the customer's answer: once, within `window` of the question, in range."""
        if csat not in CSAT_RANGE:
            raise InvalidArgument(f"csat must be 1 to 5, not {csat}")
        if nps is not None and nps not in NPS_RANGE:
            raise InvalidArgument(f"nps must be 0 to 10, not {nps}")
        if self.answer_time is not None:
            raise AlreadyExists(f"the survey of session {session_id} was already answered")
        if at - self.ask_time > window:
            raise FailedPrecondition(f"the survey of session {session_id} closed {window.days} days after it was asked")
        self.csat, self.nps, self.answer_time = csat, nps, at


def survey_mail(survey: Survey, link: str, answer_days: int) -> tuple[str, str]:
    """Subject and text of the email carrying the survey link."""
    subject, body = _MAIL[survey.language]
    return subject, body.format(link=link, days=answer_days)
