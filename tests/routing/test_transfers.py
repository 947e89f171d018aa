"""Transfers name a reason code, and repeats are counted per contact and per queue."""

from __future__ import annotations

import pytest

from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.transfers import TransferReason
from omni.routing.domain.work import Work
from omni.runtime.channels import Channel
from omni.runtime.errors import InvalidArgument
from tests.routing.conftest import Clock


def engine_with_two_queues(clock: Clock) -> RoutingEngine:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), service_level_seconds=20))
    engine.put_queue(QueueConfig(id="billing", groups=("billing",), service_level_seconds=120))
    engine.put_queue(QueueConfig(id="refunds", groups=("billing",), service_level_seconds=120))
    for agent_id, group in (("G-1", "general"), ("B-1", "billing")):
        engine.put_agent(Agent(id=agent_id, groups=(group,)))
        engine.set_agent_status(agent_id, AgentStatus.AVAILABLE)
    return engine


def test_the_transfer_reason_names_the_code_and_the_event_the_note(clock: Clock) -> None:
    engine = engine_with_two_queues(clock)
    engine.enqueue(Work(id="W-1", queue_id="general", channel=Channel.PHONE))
    engine.accept("G-1", "W-1")
    engine.drain()
    work = engine.transfer("W-1", TransferReason.WRONG_QUEUE, "billing question", target_queue_id="billing")
    assert work.reasons[0].code == "transfer" and work.reasons[0].detail == "wrong_queue: billing question"
    [event] = [n for n in engine.drain().notices if n.kind == "work_transferred"]
    assert (event.agent_id, event.reason) == ("G-1", "billing question")


def test_a_code_is_required_and_other_needs_words(clock: Clock) -> None:
    engine = engine_with_two_queues(clock)
    engine.enqueue(Work(id="W-1", queue_id="general", channel=Channel.PHONE))
    with pytest.raises(InvalidArgument, match="reason_code: one of wrong_queue"):
        engine.transfer("W-1", None, "billing", target_queue_id="billing")
    with pytest.raises(InvalidArgument, match="'other' needs a reason"):
        engine.transfer("W-1", TransferReason.OTHER, "  ", target_queue_id="billing")
    assert engine.get("W-1").transfer_count == 0


def test_repeat_transfers_are_counted_per_contact_and_per_queue(clock: Clock) -> None:
    engine = engine_with_two_queues(clock)
    engine.enqueue(Work(id="W-1", queue_id="general", channel=Channel.PHONE))
    engine.accept("G-1", "W-1")
    engine.transfer("W-1", TransferReason.WRONG_QUEUE, target_queue_id="billing")
    engine.accept("B-1", "W-1")
    engine.transfer("W-1", TransferReason.NEEDS_SKILL, target_queue_id="refunds")
    assert engine.get("W-1").transfer_count == 2
    general, billing = (engine.queue_stats(q, 900).window for q in ("general", "billing"))
    assert (general.transfers, general.repeat_transfers) == (1, 0)
    assert (billing.transfers, billing.repeat_transfers) == (1, 1)


def test_transferred_work_keeps_the_customers_wait_target_and_the_wait_already_spent(clock: Clock) -> None:
    engine = engine_with_two_queues(clock)
    engine.set_agent_status("G-1", AgentStatus.BREAK)
    engine.set_agent_status("B-1", AgentStatus.BREAK)
    engine.enqueue(Work(id="W-1", queue_id="general", channel=Channel.PHONE))
    clock.advance(15)  # 15 s in line for general (target 20 s)
    engine.set_agent_status("G-1", AgentStatus.AVAILABLE)
    engine.accept("G-1", "W-1")
    clock.advance(300)  # five minutes with the wrong agent: not waiting
    engine.enqueue(Work(id="W-2", queue_id="billing", channel=Channel.PHONE))
    clock.advance(10)
    work = engine.transfer("W-1", TransferReason.WRONG_QUEUE, "billing question", target_queue_id="billing")
    # Due in the 5 s left of its 20 s target, not billing's 120 s from now: ahead of W-2, which
    # came to billing before the transfer.
    assert (work.target, work.deadline, work.waited) == (20, clock.now + 5, 15)
    assert [w.id for w in engine.waiting("billing")] == ["W-1", "W-2"]
    assert {r.code: r.detail for r in work.reasons}["deadline_kept"] == \
        "the 20s target, 15s of it waited before the transfer"
    engine.set_agent_status("B-1", AgentStatus.AVAILABLE)
    assert engine.get("W-1").offered_agent_id == "B-1"
    # Its wait in billing counts from the transfer, not from the first arrival.
    engine.accept("B-1", "W-1")
    assert engine.queue_stats("billing", 900).window.average_speed_of_answer == 0


def test_a_transfer_to_a_queue_with_a_shorter_target_takes_the_earlier_deadline(clock: Clock) -> None:
    engine = engine_with_two_queues(clock)
    engine.enqueue(Work(id="W-1", queue_id="billing", channel=Channel.PHONE))
    engine.accept("B-1", "W-1")
    work = engine.transfer("W-1", TransferReason.WRONG_QUEUE, target_queue_id="general")
    assert work.target == 20 and work.deadline == work.enqueue_time + 20
    assert "deadline_kept" not in {r.code for r in work.reasons}


def test_a_transferred_email_takes_the_target_queues_deadline(clock: Clock) -> None:
    engine = engine_with_two_queues(clock)
    engine.enqueue(Work(id="M-1", queue_id="general", channel=Channel.EMAIL))
    clock.advance(3600)
    work = engine.transfer("M-1", TransferReason.WRONG_QUEUE, target_queue_id="billing")
    assert work.deadline == clock.now + 120 and work.waited == 3600
