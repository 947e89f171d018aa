"""The bot worker against the real knowledge, routing and sessions services: routing overflows a
simple question to the bot, the bot answers on the customer's chat from the knowledge base, and
hands the customer to people when asked, or when it cannot search."""

from __future__ import annotations

import pytest

from omnichannel.routing.v1 import routing_pb2
from omnichannel.sessions.v1 import sessions_pb2
from tests.worker.conftest import BOT, Customer, Desk

pytestmark = pytest.mark.slow

WAITING, OFFERED, COMPLETED = (routing_pb2.WORK_STATE_WAITING, routing_pb2.WORK_STATE_OFFERED,
                               routing_pb2.WORK_STATE_COMPLETED)


async def busy_billing_queue(desk: Desk) -> Customer:
    """One customer already waiting for a person in billing: from then on simple refund
    questions overflow to the bots (threshold 1)."""
    first = await desk.chat("我的账单扣费两次了", "first")
    await desk.work(first, lambda w: w.state == WAITING)
    return first


def reasons(work: routing_pb2.WorkItem) -> dict[str, str]:
    return {r.code: r.detail for r in work.reasons}


async def test_a_simple_question_overflowing_to_the_bot_is_answered_from_the_knowledge_base(desk: Desk) -> None:
    first = await busy_billing_queue(desk)
    customer = await desk.chat("怎么申请退款", "second")

    answer = await customer.reply_from(BOT)
    assert answer.startswith("如何申请退款") and "签收后 30 天内可以申请退款" in answer
    assert await customer.next("state") == "SESSION_STATE_ENDED"

    work = await desk.work(customer, lambda w: w.state == COMPLETED)
    assert work.bot_worker_id.startswith(f"{BOT}/") and "overflow" in reasons(work)
    session = await desk.session(customer, sessions_pb2.SESSION_STATE_ENDED)
    assert session.transitions[-1].reason == "answered with article zh-refund-request"
    # The customer waiting for a person was left to people.
    assert (await desk.work(first, lambda w: True)).state == WAITING


async def test_a_customer_asking_for_a_person_is_handed_to_the_human_queue_and_offered(desk: Desk) -> None:
    await busy_billing_queue(desk)
    customer = await desk.chat("How do I get a refund? I want to talk to a human", "second")

    assert "passing you to a colleague" in await customer.reply_from(BOT)
    work = await desk.work(customer, lambda w: w.state == WAITING and "bot_handoff" in reasons(w))
    assert (work.queue_id, reasons(work)["bot_handoff"]) == ("billing", "customer asked for a person")
    assert work.bot_worker_id == "" and "overflow" in reasons(work)
    # The session was queued all along (sessions records no QUEUED → QUEUED step); it stays open.
    await desk.session(customer, sessions_pb2.SESSION_STATE_QUEUED)

    await desk.routing.CreateAgent(routing_pb2.CreateAgentRequest(agent=routing_pb2.Agent(id="A-1",
                                                                                          groups=["billing"])))
    await desk.routing.SetAgentState(routing_pb2.SetAgentStateRequest(
        agent_id="A-1", status=routing_pb2.AGENT_STATUS_AVAILABLE))
    offered = await desk.work(customer, lambda w: w.state == OFFERED)
    assert offered.offered_agent_id == "A-1"
    assert (await desk.session(customer, sessions_pb2.SESSION_STATE_OFFERED)).agent_id == "A-1"


async def test_with_the_knowledge_base_down_the_bot_hands_over_instead_of_losing_the_customer(desk: Desk) -> None:
    await busy_billing_queue(desk)
    await desk.knowledge.stop()
    customer = await desk.chat("怎么申请退款", "second")

    assert await customer.reply_from(BOT) == "正在为您转接人工客服，请不要离开对话。"
    work = await desk.work(customer, lambda w: w.state == WAITING and "bot_handoff" in reasons(w))
    assert reasons(work)["bot_handoff"] == "the knowledge base could not be searched (UNAVAILABLE)"
    await desk.session(customer, sessions_pb2.SESSION_STATE_QUEUED)
