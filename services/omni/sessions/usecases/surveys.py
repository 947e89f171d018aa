"""Satisfaction surveys: asked once when a contact a person handled ends (sessions' own
`session_state_changed` into ENDED), delivered on the contact's channel, answered once by the
session's own customer (a phone contact's by replying to its SMS when the SMS channel is set)."""

from __future__ import annotations

import datetime as dt
import logging
from email.message import EmailMessage
from email.utils import make_msgid

from omni.runtime.auth import Principal, Role, audience
from omni.runtime.clock import utcnow
from omni.runtime.errors import AlreadyExists, FailedPrecondition, NotFound
from omni.runtime.token_issuer import TokenIssuer
from omni.runtime.validation import require
from omni.sessions.domain.access import check_survey_answer, check_view
from omni.sessions.domain.model import Session
from omni.sessions.domain.survey import Delivery, Survey, survey_mail
from omni.sessions.domain.survey_policy import customer_key, survey_for
from omni.sessions.publishing import SessionEvents
from omni.sessions.repository import SessionRepository, SurveyAsks
from omni.sessions.smtp_outbound import RelayMailer
from omni.sessions.usecases.sms import SmsChannel

log = logging.getLogger("omni.sessions.surveys")
# The link's token opens the customer's own session to these services (as the chat widget's does).
_LINK_AUDIENCES = (audience("sessions"),)


class Surveys:
    def __init__(self, repo: SessionRepository, asks: SurveyAsks, events: SessionEvents, mailer: RelayMailer, *,
                 issuer: TokenIssuer | None, link_base: str, mail_from: str, min_interval: dt.timedelta,
                 answer_window: dt.timedelta, sms: SmsChannel | None = None) -> None:
        """`sms`: phone contacts' surveys are sent by SMS and answered by a reply (else they are
        only asked for, in `survey_requested`)."""
        self._repo = repo
        self._sms = sms
        if sms is not None:
            sms.answer_surveys_with(self.answer_by_sms)
        self._asks = asks
        self._events = events
        self._mailer = mailer
        self._issuer = issuer
        self._link_base = link_base.rstrip("/")
        self._mail_from = mail_from
        self._min_interval = min_interval
        self._answer_window = answer_window

    async def contact_ended(self, session_id: str) -> None:
        """Ask for the contact's survey if it gets one; a redelivery asks nothing twice and
        sends a survey mail that was not sent yet."""
        session = await self._repo.get(session_id)
        survey = session.survey
        if survey is None:
            asked = await self._ask(session)
            if asked is None:
                return
            session, survey = asked
        if survey.sent:
            return
        if survey.delivery is Delivery.EMAIL_LINK:
            await self._mail(session, survey)
        elif survey.delivery is Delivery.SMS_REQUEST and self._sms is not None:
            await self._sms.ask_survey(session.id, survey.address, survey.language)
            await self._repo.mutate(session.id, _sent)

    async def _ask(self, session: Session) -> tuple[Session, Survey] | None:
        at = utcnow()
        survey = survey_for(session, at)
        if survey is None or (survey.delivery is Delivery.EMAIL_LINK and not self._can_link()):
            return None
        if not await self._asks.claim(customer_key(session), session.id, at, self._min_interval):
            return None  # this customer was asked about another contact within the interval
        link = self._link(session, survey) if survey.delivery is Delivery.SMS_REQUEST and self._can_link() else ""

        def ask(current: Session) -> tuple[Survey, list[dict[str, object]]]:
            if current.survey is not None:
                return current.survey, []
            current.survey = survey
            return survey, [self._events.survey_requested(current, survey, link)]

        recorded = await self._repo.record(session.id, ask)
        await self._events.publish(session.id, recorded.pending)
        return recorded.session, recorded.result

    async def get(self, principal: Principal, session_id: str) -> tuple[str, Survey]:
        session = await self._repo.get(require(session_id, "session_id"))
        check_view(principal, session)
        if session.survey is None:
            raise NotFound(f"no survey was asked for session {session.id}")
        return session.id, session.survey

    async def answer(self, principal: Principal, session_id: str, csat: int, nps: int | None) -> tuple[str, Survey]:
        """The customer's answer, once; only with the session's own customer token."""
        session_id = require(session_id, "session_id")
        check_survey_answer(principal, session_id)
        return session_id, await self._answer(session_id, csat, nps)

    async def answer_by_sms(self, session_id: str, csat: int) -> bool:
        """A rating replied to the survey SMS of contact `session_id` (from the number it was sent
        to): taken once, within the answer window; whether it was."""
        try:
            await self._answer(session_id, csat, None)
        except (AlreadyExists, FailedPrecondition, NotFound):
            return False
        return True

    async def _answer(self, session_id: str, csat: int, nps: int | None) -> Survey:
        at = utcnow()

        def answer(current: Session) -> tuple[Survey, list[dict[str, object]]]:
            if current.survey is None:
                raise NotFound(f"no survey was asked for session {current.id}")
            current.survey.answer(csat, nps, at, self._answer_window, current.id)
            return current.survey, [self._events.survey_answered(current, current.survey)]

        recorded = await self._repo.record(session_id, answer)
        await self._events.publish(session_id, recorded.pending)
        return recorded.result

    def _can_link(self) -> bool:
        return bool(self._link_base) and self._issuer is not None

    def _link(self, session: Session, survey: Survey) -> str:
        assert self._issuer is not None
        token = self._issuer.mint(survey.address or session.id, Role.CUSTOMER, audiences=_LINK_AUDIENCES,
                                  session_id=session.id, ttl_seconds=int(self._answer_window.total_seconds()))
        return f"{self._link_base}/survey/#s={session.id}&t={token}"

    async def _mail(self, session: Session, survey: Survey) -> None:
        subject, text = survey_mail(survey, self._link(session, survey), self._answer_window.days)
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self._mail_from, survey.address, subject
        mail["Message-ID"] = make_msgid(domain=self._mail_from.rpartition("@")[2] or None)
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply loops
        mail.set_content(text)
        await self._mailer.send(mail)  # a failure raises: the event is delivered again, and mails then
        await self._repo.mutate(session.id, _sent)


def _sent(session: Session) -> None:
    if session.survey is not None:
        session.survey.sent = True
