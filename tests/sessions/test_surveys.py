"""CSAT/NPS after a contact: asked once when a contact a person handled ends, on its channel and in
the customer's language; answered once, in range, by that contact's own customer; a customer asked
at most once a week."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import re
import smtplib
from email.message import EmailMessage
from typing import Any

import grpc
import pytest
import websockets

from omni.runtime.auth import Role, bearer
from omni.runtime.channels import Channel
from omni.runtime.events import EventBus, stream_name, subject_for
from omni.sessions.domain.model import Identity, Session, State
from omni.sessions.domain.survey import Delivery
from omni.sessions.domain.survey_policy import customer_key, survey_for
from omnichannel.sessions.v1 import events_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb
from tests.support.polling import eventually

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def _ended(channel: Channel, *identities: Identity, agent: str = "A-1", language: str = "") -> Session:
    session = Session.open(channel, list(identities), NOW, state=State.CONNECTED)
    session.agent_id, session.language, session.state = agent, language, State.ENDED
    return session


def test_each_channel_asks_its_own_way_and_only_contacts_a_person_handled() -> None:
    chat = survey_for(_ended(Channel.CHAT, Identity("chat_handle", "web-1"), language="zh-CN"), NOW)
    assert chat is not None and (chat.delivery, chat.language) == (Delivery.WIDGET, "zh")
    assert chat.questions[0].startswith("您对本次服务满意吗")
    mail = survey_for(_ended(Channel.EMAIL, Identity("email", "li@example.cn")), NOW)
    assert mail is not None and (mail.delivery, mail.address, mail.language) == (Delivery.EMAIL_LINK, "li@example.cn",
                                                                                 "en")
    call = survey_for(_ended(Channel.PHONE, Identity("phone", "+8613800000000")), NOW)
    assert call is not None and (call.delivery, call.address) == (Delivery.SMS_REQUEST, "+8613800000000")
    assert survey_for(_ended(Channel.CHAT, Identity("chat_handle", "web-1"), agent=""), NOW) is None  # bot/abandoned
    assert survey_for(_ended(Channel.PHONE), NOW) is None  # no number to text
    abandoned = _ended(Channel.CHAT, Identity("chat_handle", "web-1"))
    abandoned.state = State.ABANDONED
    assert survey_for(abandoned, NOW) is None
    asked = _ended(Channel.CHAT, Identity("chat_handle", "web-1"))
    asked.survey = chat
    assert survey_for(asked, NOW) is None
    linked = _ended(Channel.CHAT, Identity("chat_handle", "web-1"))
    linked.customer_id = "C-7"
    assert customer_key(linked) == "customer:C-7"


async def _chat(stack: Any, handle: str, language: str = "en") -> str:
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": handle, "language": language}}))
        session_id: str = json.loads(await ws.recv())["started"]["session_id"]
        await ws.send(json.dumps({"text": {"text": "my order A-1 is late", "client_message_id": "c1"}}))
        await asyncio.wait_for(ws.recv(), 10)
    return session_id


async def _handle_and_end(stack: Any, session_id: str) -> None:
    supervisor = stack.token(Role.SUPERVISOR, "S-1")
    for state in (pb.SESSION_STATE_CONNECTED, pb.SESSION_STATE_ENDED):
        await stack.sessions.UpdateSessionState(pb.UpdateSessionStateRequest(
            session_id=session_id, state=state, agent_id="A-1"), metadata=supervisor)


async def _all_handled(bus: EventBus) -> None:
    """Sessions' own consumer (it sees only state changes) has nothing left to deliver or to retry."""
    async def info() -> Any:
        return await bus.js.consumer_info(stream_name("sessions"), "sessions-sessions")
    await eventually(info, lambda i: i.num_pending == 0 and i.num_ack_pending == 0, what="sessions' consumer idle")


def _refused(code: grpc.StatusCode):  # type: ignore[no-untyped-def]
    class Refused:
        def __enter__(self) -> None:
            self.raises = pytest.raises(grpc.aio.AioRpcError)
            self.info = self.raises.__enter__()

        def __exit__(self, *exc: Any) -> bool:
            handled = self.raises.__exit__(*exc)
            assert self.info.value.code() == code, self.info.value.details()
            return bool(handled)
    return Refused()


async def test_a_chat_is_asked_once_answered_once_and_the_customer_not_again_within_a_week(stack, published) -> None:
    first = await _chat(stack, "web-csat")
    await _handle_and_end(stack, first)
    [asked] = await published.wait("survey_requested", events_pb2.SurveyRequested)
    assert (asked.survey.session_id, asked.survey.delivery, asked.survey.agent_id, asked.link) == (
        first, pb.SURVEY_DELIVERY_WIDGET, "A-1", "")
    customer = stack.token(Role.CUSTOMER, "web-csat", session_id=first)
    survey = await stack.sessions.GetSurvey(pb.GetSurveyRequest(session_id=first), metadata=customer)
    assert survey.csat_question.startswith("How satisfied") and survey.csat == 0

    # Hostile answers: out of range, someone else's contact, staff answering for the customer.
    for csat, nps in ((0, None), (6, None), (-1, 5), (4, 11), (4, -1)):
        with _refused(grpc.StatusCode.INVALID_ARGUMENT):
            await stack.sessions.AnswerSurvey(pb.AnswerSurveyRequest(session_id=first, csat=csat, nps=nps),
                                              metadata=customer)
    other = await _chat(stack, "web-other")
    for metadata in (stack.token(Role.CUSTOMER, "web-other", session_id=other),
                     stack.token(Role.SUPERVISOR, "S-1")):
        with _refused(grpc.StatusCode.PERMISSION_DENIED):
            await stack.sessions.AnswerSurvey(pb.AnswerSurveyRequest(session_id=first, csat=1), metadata=metadata)
    with _refused(grpc.StatusCode.NOT_FOUND):  # the other chat has not ended: nothing asked yet
        await stack.sessions.AnswerSurvey(pb.AnswerSurveyRequest(session_id=other, csat=5),
                                          metadata=stack.token(Role.CUSTOMER, "web-other", session_id=other))

    answered = await stack.sessions.AnswerSurvey(pb.AnswerSurveyRequest(session_id=first, csat=4, nps=9),
                                                 metadata=customer)
    assert (answered.csat, answered.nps, answered.HasField("answer_time")) == (4, 9, True)
    with _refused(grpc.StatusCode.ALREADY_EXISTS):  # a replay, even a different one, changes nothing
        await stack.sessions.AnswerSurvey(pb.AnswerSurveyRequest(session_id=first, csat=1, nps=0), metadata=customer)
    [told] = await published.wait("survey_answered", events_pb2.SurveyAnswered)
    assert (told.survey.csat, told.survey.nps, told.survey.agent_id, told.channel) == (4, 9, "A-1", 2)
    staff = await stack.sessions.GetSession(pb.GetSessionRequest(id=first), metadata=stack.token(Role.SUPERVISOR))
    assert (staff.survey.csat, staff.survey.nps) == (4, 9)

    # The same contact's end delivered again, and a second contact of the same customer this week.
    bus = await stack.bus()
    ended = next(e for e in published.envelopes if e.type == "session_state_changed"
                 and e.subject == f"sessions/{first}" and e.id.endswith(":ended"))
    await bus.js.publish(subject_for("sessions", "session_state_changed"), ended.SerializeToString(),
                         headers={"Nats-Msg-Id": ended.id + ":again"})
    again = await _chat(stack, "web-csat")
    await _handle_and_end(stack, again)
    await _handle_and_end(stack, other)  # a later contact of someone else: asked
    await published.wait("survey_requested", events_pb2.SurveyRequested, lambda e: e.survey.session_id == other)
    await _all_handled(bus)
    assert [e.survey.session_id for e in published.payloads("survey_requested", events_pb2.SurveyRequested)] == [
        first, other]
    with _refused(grpc.StatusCode.NOT_FOUND):
        await stack.sessions.GetSurvey(pb.GetSurveyRequest(session_id=again), metadata=stack.token(Role.SUPERVISOR))
    assert (await stack.sessions.GetSurvey(pb.GetSurveyRequest(session_id=first), metadata=customer)).csat == 4


def _send_mail(port: int) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "王芳 <wang.fang@customer.cn>", "support@example.com", "发票问题"
    mail["Message-ID"] = "<csat-1@customer.cn>"
    mail.set_content("我的发票金额不对，请帮我更正。")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("wang.fang@customer.cn", ["support@example.com"],
                        mail.as_bytes(policy=mail.policy.clone(linesep="\r\n")))


async def test_an_email_contact_gets_a_link_in_its_language_that_answers_for_that_contact_only(
        stack, published) -> None:
    await asyncio.to_thread(_send_mail, stack.smtp_port)
    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived)
    session_id = received.interaction.session_id
    supervisor = stack.token(Role.SUPERVISOR, "S-1")
    await stack.sessions.UpdateSessionState(pb.UpdateSessionStateRequest(
        session_id=session_id, state=pb.SESSION_STATE_CONNECTED, agent_id="A-2"), metadata=supervisor)
    await stack.sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="已为您更正发票。", request_id="r1"),
                                   metadata=supervisor)
    await stack.sessions.UpdateSessionState(pb.UpdateSessionStateRequest(
        session_id=session_id, state=pb.SESSION_STATE_ENDED), metadata=supervisor)

    def survey_mails() -> list[email.message.EmailMessage]:
        mails = [email.message_from_bytes(raw, policy=email.policy.default) for _, _, raw in stack.sink.messages]
        return [m for m in mails if m["Auto-Submitted"] == "auto-generated"]  # type: ignore[misc]

    [mail] = await eventually(lambda: asyncio.sleep(0, survey_mails()), lambda found: len(found) == 1,
                              what="the survey mail")
    assert mail["To"] == "wang.fang@customer.cn" and mail["Subject"] == "请评价本次服务"
    link = re.search(r"https://help\.example\.com/survey/#s=(\S+)&t=(\S+)", mail.get_content())
    assert link is not None and link.group(1) == session_id
    token = bearer(link.group(2))
    survey = await stack.sessions.GetSurvey(pb.GetSurveyRequest(session_id=session_id), metadata=token)
    assert (survey.delivery, survey.language, survey.agent_id) == (pb.SURVEY_DELIVERY_EMAIL_LINK, "zh", "A-2")
    # The link's token is for this contact only.
    other = await _chat(stack, "web-x")
    with _refused(grpc.StatusCode.PERMISSION_DENIED):
        await stack.sessions.AnswerSurvey(pb.AnswerSurveyRequest(session_id=other, csat=5), metadata=token)
    answered = await stack.sessions.AnswerSurvey(pb.AnswerSurveyRequest(session_id=session_id, csat=2),
                                                 metadata=token)
    assert (answered.csat, answered.HasField("nps")) == (2, False)
