"""The SMS channel over SMPP 3.4: sessions' aiosmpplib client bound to a test SMSC over real TCP
(tests/support/smsc.py), inbound SMS as interactions, agent replies through the SMS outbox,
delivery receipts on the message, and nothing lost while the SMSC or MongoDB is down."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import free_port, mongo_server, wait_for_port
from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from omni.runtime.errors import InvalidArgument
from omni.sessions.domain.sms import outbound_number
from omni.sessions.service import SPEC
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1 import events_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb
from tests.sessions.conftest import Sink, Stack
from tests.support.events import EventRecorder
from tests.support.polling import WITHIN, eventually
from tests.support.settings import session_settings
from tests.support.smsc import Smsc

CUSTOMER = "8613800138000"  # as the SMSC gives it: international, without the +
MAX_CHARS = 300


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    server = Smsc()
    await server.start()  # a port the system picks: a port found free earlier may be taken by then
    yield server
    await server.stop()


@pytest.fixture
async def sms_stack(start_service: Any, settings: ServiceSettings, sink: tuple[Sink, int], authority: LocalIssuer,
                    published: EventRecorder, smsc: Smsc) -> AsyncIterator[Stack]:
    own = session_settings(
        settings, authority, sms_smsc=f"127.0.0.1:{smsc.port}", sms_system_id=smsc.system_id,
        sms_password=smsc.password, sms_source="+8610086", sms_max_chars=MAX_CHARS, sms_resend_seconds=1.0,
        sms_reconnect_seconds=0.2)
    host = await start_service(SPEC, settings_override=own)
    channel = grpc.aio.insecure_channel(host.address)
    yield Stack(host, own, authority, channel, sink[0])
    await channel.close()


def _from_customer(interaction: Any) -> bool:
    return interaction.interaction.direction == common_pb2.DIRECTION_INBOUND


async def _delivery(stack: Stack, session_id: str, message_id: str, wanted: str) -> pb.Message:
    async def message() -> pb.Message:
        session = await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id),
                                                  metadata=stack.token(Role.SUPERVISOR))
        return next(m for m in session.messages if m.id == message_id)

    return await eventually(message, lambda m: m.delivery == wanted, what=f"SMS {message_id} {wanted}")


async def test_inbound_sms_threads_and_the_agents_reply_is_delivered(sms_stack: Stack, smsc: Smsc,
                                                                     published: EventRecorder) -> None:
    await smsc.deliver(CUSTOMER, "Where is my parcel? Order 5531")
    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived, _from_customer)
    interaction = received.interaction
    assert interaction.channel == common_pb2.CHANNEL_SMS
    assert interaction.text == "Where is my parcel? Order 5531"
    assert [(i.kind, i.value) for i in interaction.customer.identities] == [
        (common_pb2.IDENTITY_KIND_PHONE, "+" + CUSTOMER)]
    session_id = interaction.session_id

    watch = sms_stack.sessions.WatchSession(pb.WatchSessionRequest(session_id=session_id),
                                            metadata=sms_stack.token(Role.SUPERVISOR, "sup-1"))
    assert (await watch.read()).kind == "snapshot"  # watching from here on
    reply = await sms_stack.sessions.SendReply(
        pb.SendReplyRequest(session_id=session_id, text="It leaves the depot today.", request_id="r1"),
        metadata=sms_stack.token(Role.SUPERVISOR, "sup-1"))
    [sent] = await smsc.wait_for(1)
    assert (sent.destination, sent.source, sent.text) == (CUSTOMER, "8610086", "It leaves the depot today.")
    delivered = await _delivery(sms_stack, session_id, reply.message.id, "delivered")
    assert delivered.direction == common_pb2.DIRECTION_OUTBOUND
    # A watcher (the agent's desk) is shown the reply again each time its delivery changes.
    shown: list[str] = []
    async with asyncio.timeout(WITHIN):
        while not shown or shown[-1] != "delivered":
            update = await watch.read()
            if update.kind == "message" and update.message.id == reply.message.id:
                shown.append(update.message.delivery)
    watch.cancel()
    assert shown[0] == "pending" and shown[-1] == "delivered"

    # The customer answers: the same conversation (one session, like a chat).
    await smsc.deliver(CUSTOMER, "Thanks!")
    later = await published.wait("interaction_received", events_pb2.InteractionReceived, _from_customer, count=2)
    assert {r.interaction.session_id for r in later} == {session_id}


async def test_failed_receipt_and_hostile_input(sms_stack: Stack, smsc: Smsc, published: EventRecorder) -> None:
    smsc.receipt_states[CUSTOMER] = "UNDELIV"
    # A sender that is no phone number (an alphanumeric id) is dropped; the real customer's SMS
    # after it is the only interaction.
    await smsc.deliver("PROMO", "You won a prize")
    await smsc.deliver(CUSTOMER, "x" * (MAX_CHARS + 50))
    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived, _from_customer)
    assert received.interaction.text.startswith("x" * MAX_CHARS + " [cut: 350 characters")
    session_id = received.interaction.session_id
    supervisor = sms_stack.token(Role.SUPERVISOR, "sup-1")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await sms_stack.sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="y" * (MAX_CHARS + 1)),
                                           metadata=supervisor)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "SMS limit" in str(refused.value.details())

    reply = await sms_stack.sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="Call us?"),
                                               metadata=supervisor)
    await _delivery(sms_stack, session_id, reply.message.id, "failed")
    assert [s.text for s in smsc.submitted] == ["Call us?"]

    for number in ("12", "+86 138", "not a number"):
        with pytest.raises(InvalidArgument):
            outbound_number(number, "CN")


async def test_a_reply_written_while_the_smsc_is_down_is_sent_when_it_is_back(
        sms_stack: Stack, smsc: Smsc, published: EventRecorder) -> None:
    await smsc.deliver(CUSTOMER, "Is my refund done?")
    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived, _from_customer)
    session_id = received.interaction.session_id

    await smsc.stop()
    reply = await sms_stack.sessions.SendReply(
        pb.SendReplyRequest(session_id=session_id, text="Yes, on Monday."),
        metadata=sms_stack.token(Role.SUPERVISOR, "sup-1"))
    assert reply.message.delivery == "pending"

    await smsc.start()  # the same port: the link reconnects, the outbox sends it again
    sent = (await smsc.wait_for(1))[0]  # at least once: a send the SMSC took but did not answer is sent again
    assert sent.text == "Yes, on Monday."
    await _delivery(sms_stack, session_id, reply.message.id, "delivered")


async def test_replying_1_to_a_wait_sms_books_a_callback_keeping_the_place(sms_stack: Stack, smsc: Smsc,
                                                                           published: EventRecorder) -> None:
    pbx = sms_stack.token(Role.SERVICE, "pbx")
    await sms_stack.telephony.StartCall(pb.StartCallRequest(call_id="call-w", ani="13700137000"), metadata=pbx)
    with pytest.raises(grpc.aio.AioRpcError) as early:  # still in the IVR: not waiting in a queue
        await sms_stack.telephony.SendWaitSms(pb.SendWaitSmsRequest(call_id="call-w", position=3), metadata=pbx)
    assert early.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    await sms_stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-w", digits="1"), metadata=pbx)

    waiting = await sms_stack.telephony.SendWaitSms(
        pb.SendWaitSmsRequest(call_id="call-w", position=3, estimated_wait_seconds=240), metadata=pbx)
    [notice] = await smsc.wait_for(1)
    assert notice.destination == "8613700137000"
    assert "number 3 in line" in notice.text and "about 4 min" in notice.text and "Reply 1" in notice.text

    await smsc.deliver("8613700137000", " 1 ")
    [callback] = await published.wait("callback_requested", events_pb2.CallbackRequested)
    assert callback.session_id == waiting.session.id and callback.number_verified
    confirmation = (await smsc.wait_for(2))[1]
    assert confirmation.text.startswith("We will call you back at +8613700137000")


async def test_a_phone_contacts_survey_is_an_sms_answered_once_by_replying_a_digit(
        sms_stack: Stack, smsc: Smsc, published: EventRecorder) -> None:
    pbx, supervisor = sms_stack.token(Role.SERVICE, "pbx"), sms_stack.token(Role.SUPERVISOR, "S-1")
    call = await sms_stack.telephony.StartCall(pb.StartCallRequest(call_id="call-s", ani="13600136000"), metadata=pbx)
    session_id = call.session.id
    await sms_stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-s", digits="1"), metadata=pbx)
    for state in (pb.SESSION_STATE_CONNECTED, pb.SESSION_STATE_ENDED):
        await sms_stack.sessions.UpdateSessionState(pb.UpdateSessionStateRequest(
            session_id=session_id, state=state, agent_id="A-1"), metadata=supervisor)
    [asked] = await published.wait("survey_requested", events_pb2.SurveyRequested)
    assert (asked.survey.session_id, asked.survey.delivery) == (session_id, pb.SURVEY_DELIVERY_SMS_REQUEST)
    [question] = await smsc.wait_for(1)
    assert question.destination == "8613600136000" and "Reply with a number from 1" in question.text

    # Not a rating: an ordinary message of the customer's SMS conversation; the survey stays open.
    await smsc.deliver("8613600136000", "9")
    await published.wait("interaction_received", events_pb2.InteractionReceived,
                         lambda e: _from_customer(e) and e.interaction.text == "9")
    await smsc.deliver("8613600136000", " 4 ")
    [answered] = await published.wait("survey_answered", events_pb2.SurveyAnswered)
    assert (answered.survey.session_id, answered.survey.csat) == (session_id, 4)
    assert (await smsc.wait_for(2))[1].text == "Thank you for your rating!"
    # The same reply again (or another digit) answers nothing more: once per survey.
    await smsc.deliver("8613600136000", "1")
    await published.wait("interaction_received", events_pb2.InteractionReceived,
                         lambda e: _from_customer(e) and e.interaction.text == "1")
    survey = await sms_stack.sessions.GetSurvey(pb.GetSurveyRequest(session_id=session_id), metadata=supervisor)
    assert survey.csat == 4
    assert len(published.payloads("survey_answered", events_pb2.SurveyAnswered)) == 1


@pytest.mark.slow
async def test_an_sms_arriving_while_mongodb_is_down_is_recorded_once_it_is_back(
        start_service: Any, settings: ServiceSettings, authority: LocalIssuer, published: EventRecorder, smsc: Smsc,
        tmp_path: Path) -> None:
    mongo = mongo_server(free_port(), tmp_path / "mongo")
    try:
        # Each store call gives up after a second (not pymongo's 30 s), so the outage outlasts several.
        impatient = dataclasses.replace(settings, mongo_url=mongo.url + "&serverSelectionTimeoutMS=1000")
        own = session_settings(impatient, authority, sms_smsc=f"127.0.0.1:{smsc.port}", sms_system_id=smsc.system_id,
                               sms_password=smsc.password, sms_source="+8610086", sms_reconnect_seconds=0.2)
        host = await start_service(SPEC, settings_override=own)
        await smsc.wait_bound()
        mongo.stop()
        await smsc.deliver(CUSTOMER, "Sent while your database was down")
        await asyncio.sleep(4)  # the outage itself: nothing to wait for but time
        mongo.start()
        assert mongo.process is not None
        wait_for_port(int(mongo.url.rsplit(":", 1)[1].split("/")[0]), mongo.process, "secantusd-py")
        [received] = await published.wait(
            "interaction_received", events_pb2.InteractionReceived,
            lambda e: e.interaction.text == "Sent while your database was down", within=60)
        assert received.interaction.channel == common_pb2.CHANNEL_SMS
        await host.stop()
    finally:
        mongo.stop()
