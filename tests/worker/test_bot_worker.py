"""The bot worker against the real knowledge, routing and sessions services: routing overflows a
simple question to the bot, the bot answers on the customer's chat from the knowledge base and
keeps the chat for the customer's reply (thanks, another question, "that didn't help"), and hands
the customer to people when asked, when it cannot help, or when it cannot follow the chat."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from omnichannel.routing.v1 import routing_pb2
from omnichannel.sessions.v1 import sessions_pb2
from tests.worker.conftest import BOT, Customer, Desk

pytestmark = pytest.mark.slow

WAITING, OFFERED, COMPLETED = (routing_pb2.WORK_STATE_WAITING, routing_pb2.WORK_STATE_OFFERED,
                               routing_pb2.WORK_STATE_COMPLETED)
ZH_INVITATION = "这个回答解决您的问题了吗？回复“人工”可转接人工客服。"


async def busy_billing_queue(desk: Desk) -> Customer:
    """One customer already waiting for a person in billing: from then on simple refund
    questions overflow to the bots (threshold 1)."""
    first = await desk.chat("我的账单扣费两次了", "first")
    await desk.work(first, lambda w: w.state == WAITING)
    return first


def reasons(work: routing_pb2.WorkItem) -> dict[str, str]:
    return {r.code: r.detail for r in work.reasons}


async def resolved_by_bot(desk: Desk, customer: Customer) -> str:
    """The chat ended with the work resolved by the bot; the reason the session history records."""
    assert await customer.next("state") == "SESSION_STATE_ENDED"
    work = await desk.work(customer, lambda w: w.state == COMPLETED)
    assert work.disposition == "resolved_by_bot" and work.bot_worker_id.startswith(f"{BOT}/")
    return (await desk.session(customer, sessions_pb2.SESSION_STATE_ENDED)).transitions[-1].reason


@pytest.mark.parametrize("followup_seconds", [0.5])
async def test_an_answered_customer_who_stays_silent_is_resolved_once_the_followup_window_passes(
        desk: Desk) -> None:
    first = await busy_billing_queue(desk)
    customer = await desk.chat("怎么申请退款", "second")

    answer = await customer.reply_from(BOT)
    answered = asyncio.get_running_loop().time()
    assert answer.startswith("如何申请退款") and "签收后 30 天内可以申请退款" in answer
    assert answer.endswith(ZH_INVITATION)

    assert await resolved_by_bot(desk, customer) == "answered with article zh-refund-request; no reply within 0.5 s"
    assert asyncio.get_running_loop().time() - answered >= 0.4
    assert "overflow" in reasons(await desk.work(customer, lambda w: True))
    # The customer waiting for a person was left to people.
    assert (await desk.work(first, lambda w: True)).state == WAITING


async def test_a_customer_who_says_thanks_after_the_answer_is_resolved_by_the_bot(desk: Desk) -> None:
    await busy_billing_queue(desk)
    customer = await desk.chat("怎么申请退款", "second")
    await customer.reply_from(BOT)

    await customer.say("好的，谢谢")
    assert await resolved_by_bot(desk, customer) == "customer confirmed article zh-refund-request helped"


async def test_a_customer_who_leaves_after_the_answer_was_served_by_the_bot_not_lost_from_a_queue(
        desk: Desk) -> None:
    await busy_billing_queue(desk)
    customer = await desk.chat("怎么申请退款", "second")
    await customer.reply_from(BOT)

    await customer.leave()
    session = await desk.session(customer, sessions_pb2.SESSION_STATE_ENDED)
    assert session.transitions[-1].reason == "customer left during self-service"
    work = await desk.work(customer, lambda w: w.state == COMPLETED)
    assert work.disposition == "resolved_by_bot"
    stats = await desk.routing.GetQueueStats(routing_pb2.GetQueueStatsRequest(queue_id="billing"))
    assert stats.abandoned == 0


async def test_a_second_question_in_the_same_chat_gets_a_second_answer(desk: Desk) -> None:
    await busy_billing_queue(desk)
    customer = await desk.chat("怎么申请退款", "second")
    await customer.reply_from(BOT)

    await customer.say("退款多久到账？")
    second = await customer.reply_from(BOT)
    assert second.startswith("退款多久到账") and second.endswith(ZH_INVITATION)
    await customer.say("谢谢")
    assert await resolved_by_bot(desk, customer) == "customer confirmed article zh-refund-timeline helped"


@pytest.mark.parametrize("bot_claim_seconds", [2.5])
async def test_a_chat_longer_than_routings_claim_stays_with_the_bot_that_renews_it(desk: Desk) -> None:
    await busy_billing_queue(desk)
    customer = await desk.chat("怎么申请退款", "second")
    await customer.reply_from(BOT)
    held = await desk.work(customer, lambda w: bool(w.bot_worker_id))

    # The customer thinks it over for longer than one claim (until its first expiry has passed);
    # the worker's other slot polls all along.
    first_expiry = held.bot_claim_expire_time.ToDatetime(dt.UTC)
    renewed = await desk.work(customer, lambda w: dt.datetime.now(dt.UTC) > first_expiry)
    assert renewed.bot_worker_id == held.bot_worker_id
    assert renewed.bot_claim_expire_time.ToDatetime(dt.UTC) > first_expiry
    await customer.say("好的，谢谢")
    assert await resolved_by_bot(desk, customer) == "customer confirmed article zh-refund-request helped"
    work = await desk.work(customer, lambda w: w.state == COMPLETED)
    assert work.bot_worker_id == held.bot_worker_id
    # Answered once: no other slot took the chat over and started again.
    bot_messages = [m for m in customer.received if m.get("message", {}).get("sender") == BOT]
    assert len(bot_messages) == 1


async def test_a_customer_the_answer_did_not_help_goes_to_an_agent_whose_offer_says_why(desk: Desk) -> None:
    await busy_billing_queue(desk)
    question = "How do I request a refund?"
    customer = await desk.chat(question, "second")
    answer = await customer.reply_from(BOT)
    assert answer.startswith("How to request a refund")
    assert answer.endswith("Did this answer your question? Reply 'agent' to talk to a person.")

    await customer.say("that didn't help, I want an agent")
    note = await customer.reply_from(BOT)
    assert note.startswith("I'm passing you to a colleague")
    why = "customer said article en-refund-request did not help and asked for a person"
    work = await desk.work(customer, lambda w: w.state == WAITING and "bot_handoff" in reasons(w))
    assert (work.queue_id, reasons(work)["bot_handoff"], work.bot_worker_id) == ("billing", why, "")

    agent = await desk.agent("A-1")
    offer = await agent.offer_of(customer)
    assert reasons(offer.work)["bot_handoff"] == why
    assert await agent.history(customer) == [("second", question), (BOT, answer),
                                             ("second", "that didn't help, I want an agent"), (BOT, note)]
    # Why the bot handed over is in the session's record, from the bot that took the work, for staff only
    # (sessions applies routing's events in order: the offer after the handoff).
    await desk.session(customer, sessions_pb2.SESSION_STATE_OFFERED)
    [(kind, author, text)] = await agent.notes(customer)
    assert (kind, text) == (sessions_pb2.SESSION_NOTE_KIND_BOT_HANDOFF, f"handed to a person by the bot: {why}")
    assert author.startswith(f"{BOT}/")
    await agent.sessions.SendReply(sessions_pb2.SendReplyRequest(session_id=customer.session_id,
                                                                 text="Hi, I'm Ana from billing."))
    assert await customer.reply_from("A-1") == "Hi, I'm Ana from billing."
    assert "handed to a person" not in json.dumps(customer.received, ensure_ascii=False)


async def test_a_customer_asking_for_a_person_is_handed_to_the_human_queue_and_offered(desk: Desk) -> None:
    await busy_billing_queue(desk)
    customer = await desk.chat("How do I get a refund? I want to talk to a human", "second")

    assert "passing you to a colleague" in await customer.reply_from(BOT)
    work = await desk.work(customer, lambda w: w.state == WAITING and "bot_handoff" in reasons(w))
    assert (work.queue_id, reasons(work)["bot_handoff"]) == ("billing", "customer asked for a person")
    assert work.bot_worker_id == "" and "overflow" in reasons(work)
    # The session was queued all along (sessions records no QUEUED → QUEUED step); it stays open.
    await desk.session(customer, sessions_pb2.SESSION_STATE_QUEUED)

    offer = await (await desk.agent("A-1")).offer_of(customer)
    assert reasons(offer.work)["bot_handoff"] == "customer asked for a person"
    assert (await desk.work(customer, lambda w: w.state == OFFERED)).offered_agent_id == "A-1"
    assert (await desk.session(customer, sessions_pb2.SESSION_STATE_OFFERED)).agent_id == "A-1"


async def test_with_the_knowledge_base_down_the_bot_hands_over_instead_of_losing_the_customer(desk: Desk) -> None:
    await busy_billing_queue(desk)
    await desk.knowledge.stop()
    customer = await desk.chat("怎么申请退款", "second")

    assert await customer.reply_from(BOT) == "正在为您转接人工客服，请不要离开对话。"
    work = await desk.work(customer, lambda w: w.state == WAITING and "bot_handoff" in reasons(w))
    assert reasons(work)["bot_handoff"] == "the knowledge base could not be searched (UNAVAILABLE)"
    await desk.session(customer, sessions_pb2.SESSION_STATE_QUEUED)


async def test_when_the_bot_loses_sight_of_the_chat_after_answering_a_person_takes_over(desk: Desk) -> None:
    await busy_billing_queue(desk)
    customer = await desk.chat("怎么申请退款", "second")
    await customer.reply_from(BOT)

    await desk.sessions_host.stop()
    work = await desk.work(customer, lambda w: w.state == WAITING and "bot_handoff" in reasons(w))
    assert reasons(work)["bot_handoff"].startswith("the bot cannot see the customer's replies (WatchSession ")


async def test_a_worker_told_to_stop_hands_the_chat_it_waits_on_to_a_person_at_once(desk: Desk) -> None:
    await busy_billing_queue(desk)
    customer = await desk.chat("怎么申请退款", "second")
    await customer.reply_from(BOT)

    stopped = asyncio.get_running_loop().time()
    desk.worker.stop()
    assert await customer.reply_from(BOT) == "正在为您转接人工客服，请不要离开对话。"
    work = await desk.work(customer, lambda w: w.state == WAITING and "bot_handoff" in reasons(w))
    assert reasons(work)["bot_handoff"] == "the bot worker is shutting down"
    # Not after the 5 s follow-up window: the pod's termination grace is shorter than a real window.
    assert asyncio.get_running_loop().time() - stopped < 3


@pytest.mark.parametrize("drain_seconds", [30.0])
async def test_a_worker_scaled_down_lets_the_conversation_in_hand_finish_and_takes_no_new_one(
        desk: Desk) -> None:
    await busy_billing_queue(desk)
    customer = await desk.chat("怎么申请退款", "second")
    await customer.reply_from(BOT)

    desk.worker.stop()  # SIGTERM of a scale-down, in the middle of the conversation
    # A new refund question is not taken up by the stopping worker: it stays for another worker
    # (or, caught by a long poll already under way, goes to a person saying why).
    newcomer = await desk.chat("退款多久到账", "third")

    def left_alone(w: routing_pb2.WorkItem) -> bool:
        return ((w.state == routing_pb2.WORK_STATE_OVERFLOWED_TO_BOT and not w.bot_worker_id)
                or reasons(w).get("bot_handoff") == "the bot worker is shutting down")

    await desk.work(newcomer, left_alone)
    # The customer in hand still talks to the bot, which finishes the conversation.
    await customer.say("好的，谢谢")
    assert await resolved_by_bot(desk, customer) == "customer confirmed article zh-refund-request helped"
