"""The routing policy and engine on a hand-driven clock (no servers)."""

from __future__ import annotations

import pytest

from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.bot_lane import BOT_CLAIM_SECONDS
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import BusinessHours, Policy, QueueConfig, Ring
from omni.routing.domain.transfers import TransferReason
from omni.routing.domain.work import Work, WorkState
from omni.runtime.channels import Channel
from omni.runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from tests.routing.conftest import Clock


def make_engine(clock: Clock, **policy: object) -> RoutingEngine:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), policy=Policy(**policy)))  # type: ignore[arg-type]
    return engine


def agent(engine: RoutingEngine, agent_id: str, *, ready: bool = True, **fields: object) -> Agent:
    fields.setdefault("groups", ("general",))
    engine.put_agent(Agent(id=agent_id, **fields))  # type: ignore[arg-type]
    if ready:
        engine.set_agent_status(agent_id, AgentStatus.AVAILABLE)
    return engine.agent(agent_id)


def call(work_id: str, **fields: object) -> Work:
    return Work(id=work_id, queue_id=str(fields.pop("queue_id", "general")), channel=Channel.PHONE, **fields)  # type: ignore[arg-type]


def chat(work_id: str, **fields: object) -> Work:
    """Chats, not calls, go to the (text) bots."""
    return Work(id=work_id, queue_id="general", channel=Channel.CHAT, **fields)  # type: ignore[arg-type]


def offered(engine: RoutingEngine, agent_id: str) -> list[str]:
    return sorted(engine.agent(agent_id).offered)


def test_vip_call_is_due_in_15_seconds_and_overtakes_normal_calls(clock: Clock) -> None:
    engine = make_engine(clock)
    for i in range(20):
        engine.enqueue(call(f"normal-{i}"))
        clock.advance(0.2)
    vip = engine.enqueue(call("vip", vip=True))
    assert engine.waiting("general")[0].id == "vip"
    assert engine.position("vip").position == 1
    agent(engine, "A-1")
    assert offered(engine, "A-1") == ["vip"]
    reasons = {r.code: r.detail for r in engine.get("vip").reasons}
    assert reasons["wait_target"] == "15s (vip; queue 20s), ranked 300s ahead"
    assert reasons["deadline"] == "15s left of the 15s target"
    assert vip.deadline < engine.get("normal-0").deadline


def test_a_call_kept_longer_past_its_target_than_the_vip_lead_goes_before_a_new_vip(clock: Clock) -> None:
    engine = make_engine(clock, vip_lead=60.0)
    engine.enqueue(call("old"))
    clock.advance(50)
    engine.enqueue(call("vip", vip=True))
    agent(engine, "A-1")
    # The VIP ranks 60 s ahead of its deadline (65 s): 5 s, before the old call's 20 s.
    assert offered(engine, "A-1") == ["vip"]
    engine.enqueue(call("old-2"))
    clock.advance(90)
    engine.enqueue(call("vip-2", vip=True))
    agent(engine, "A-2")
    # Now the old call is 70 s past its target, more than the VIP's lead: nobody starves.
    assert offered(engine, "A-2") == ["old"]
    assert {r.code: r.detail for r in engine.get("old").reasons}["deadline"] == "120s past the 20s target"
    assert engine.get("old").priority == 120.0


def test_urgent_and_angry_work_get_the_urgent_target_and_escalate_on_complaint_queues(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="complaints", intents=("complaint",), groups=("general",)))
    engine.put_queue(QueueConfig(id="general", groups=("general",), service_level_seconds=60))
    angry = engine.enqueue(call("angry", queue_id="complaints", emotion_score=9))
    urgent = engine.enqueue(call("urgent", text="This is an EMERGENCY"))
    assert (angry.target, angry.escalated) == (10.0, True)
    assert (urgent.target, urgent.urgent, urgent.escalated) == (10.0, True, False)
    codes = [r.code for r in angry.reasons]
    assert "angry" in codes and "supervisor_escalation" in codes


def test_urgent_chinese_call_goes_to_the_supervisor_first(clock: Clock) -> None:
    engine = make_engine(clock, escalate_to_supervisor=True)
    agent(engine, "A-1")
    agent(engine, "SUP-1", supervisor=True)
    engine.enqueue(call("urgent", text="我的燃气有安全问题,紧急!", language="zh"))
    assert offered(engine, "SUP-1") == ["urgent"]
    codes = [r.code for r in engine.get("urgent").reasons]
    assert "urgent_keyword" in codes and "supervisor_escalation" in codes
    # An ordinary call still goes to the free agent.
    engine.enqueue(call("normal"))
    assert offered(engine, "A-1") == ["normal"]


def test_escalated_work_waits_for_a_busy_supervisor_then_goes_to_anyone(clock: Clock) -> None:
    engine = make_engine(clock, escalate_to_supervisor=True, supervisor_wait=30)
    agent(engine, "SUP-1", supervisor=True)
    engine.enqueue(call("first"))
    engine.accept("SUP-1", "first")
    agent(engine, "A-1")
    engine.enqueue(call("angry", emotion_score=9))
    assert offered(engine, "A-1") == []
    clock.advance(31)
    engine.tick()
    assert offered(engine, "A-1") == ["angry"]
    assert "no_supervisor_free" in [r.code for r in engine.get("angry").reasons]


def test_english_chat_never_reaches_a_chinese_only_agent(clock: Clock) -> None:
    engine = make_engine(clock)
    agent(engine, "ZH", languages=("zh",))
    chat = engine.enqueue(Work(id="c1", queue_id="general", channel=Channel.CHAT, language="en-US"))
    assert chat.state is WorkState.WAITING and offered(engine, "ZH") == []
    clock.advance(3600)
    engine.tick()
    assert offered(engine, "ZH") == []
    agent(engine, "EN", languages=("en",))
    assert offered(engine, "EN") == ["c1"]
    assert ("language_match", "en-US") in [(r.code, r.detail) for r in engine.get("c1").reasons]


def test_last_agent_gets_the_offer_first_when_free(clock: Clock) -> None:
    engine = make_engine(clock, affinity_wait=30, wait_target=60)
    agent(engine, "A-1")
    agent(engine, "A-2")
    clock.advance(100)  # A-1 has been idle longer: without affinity it would go to A-1
    engine.agent("A-2").idle_since = clock.now
    engine.enqueue(call("c", preferred_agent_id="A-2"))
    assert offered(engine, "A-2") == ["c"] and offered(engine, "A-1") == []
    reasons = [(r.code, r.detail) for r in engine.get("c").reasons]
    assert ("affinity_wait", "held 30s for last agent A-2") in reasons and ("affinity", "last agent A-2") in reasons


def test_colleague_gets_it_after_the_affinity_wait(clock: Clock) -> None:
    engine = make_engine(clock, affinity_wait=30, wait_target=60)
    agent(engine, "A-1")
    agent(engine, "A-2")
    engine.enqueue(call("busy-with"))
    engine.accept(offered(engine, "A-1")[0] and "A-1", "busy-with")
    engine.enqueue(call("c", preferred_agent_id="A-1"))
    assert offered(engine, "A-2") == []  # held for A-1, who is on a call
    clock.advance(29)
    engine.tick()
    assert offered(engine, "A-2") == []
    clock.advance(2)
    engine.tick()
    assert offered(engine, "A-2") == ["c"]
    assert "affinity_expired" in [r.code for r in engine.get("c").reasons]


def test_a_vip_is_held_for_their_busy_last_agent_no_longer_than_half_the_vip_target(clock: Clock) -> None:
    engine = make_engine(clock)  # affinity_wait 20 s, VIP target 15 s
    agent(engine, "A-1")
    agent(engine, "A-2")
    engine.enqueue(call("busy-with"))
    engine.accept("A-1", "busy-with")
    engine.enqueue(call("vip", vip=True, preferred_agent_id="A-1"))
    assert {r.code: r.detail for r in engine.get("vip").reasons}["affinity_wait"] == \
        "held 7.5s for last agent A-1 (half the 15s vip target)"
    clock.advance(7.4)
    engine.tick()
    assert offered(engine, "A-2") == []
    clock.advance(0.1)
    engine.tick()
    assert offered(engine, "A-2") == ["vip"]
    assert {r.code: r.detail for r in engine.get("vip").reasons}["deadline"] == "8s left of the 15s target"


def test_affinity_is_skipped_when_the_last_agent_is_not_logged_in(clock: Clock) -> None:
    engine = make_engine(clock, affinity_wait=30)
    agent(engine, "A-1", ready=False)
    agent(engine, "A-2")
    engine.enqueue(call("c", preferred_agent_id="A-1"))
    assert offered(engine, "A-2") == ["c"]


def test_three_chat_slots_take_exactly_three_chats_and_no_call(clock: Clock) -> None:
    engine = make_engine(clock)
    agent(engine, "A-1", capacity={Channel.CHAT: 3, Channel.PHONE: 1})
    for i in range(5):
        engine.enqueue(Work(id=f"chat-{i}", queue_id="general", channel=Channel.CHAT))
    engine.enqueue(call("call"))
    assert offered(engine, "A-1") == ["chat-0", "chat-1", "chat-2"]
    for i in range(3):
        engine.accept("A-1", f"chat-{i}")
    assert engine.agent("A-1").status is AgentStatus.BUSY
    engine.complete("A-1", "chat-0", "solved")
    assert offered(engine, "A-1") == ["chat-3"]
    assert engine.get("call").state is WorkState.WAITING


def test_never_a_call_while_on_a_call_nor_chats_during_a_call(clock: Clock) -> None:
    engine = make_engine(clock)
    agent(engine, "A-1", capacity={Channel.CHAT: 3, Channel.PHONE: 1})
    engine.enqueue(call("call-1"))
    engine.accept("A-1", "call-1")
    engine.enqueue(call("call-2"))
    engine.enqueue(Work(id="chat", queue_id="general", channel=Channel.CHAT))
    assert offered(engine, "A-1") == []
    engine.complete("A-1", "call-1", "done")
    # call-2 came first and is eligible again: the agent gets it, and then still no chat.
    assert offered(engine, "A-1") == ["call-2"]


def test_unanswered_offer_moves_on_and_agent_goes_not_ready_after_k_misses(clock: Clock) -> None:
    engine = make_engine(clock, offer_timeout=10, max_missed_offers=2)
    agent(engine, "A-1")
    engine.enqueue(call("c1"))
    assert offered(engine, "A-1") == ["c1"]
    agent(engine, "A-2")
    engine.agent("A-2").holding["x"] = Channel.EMAIL  # keep A-2 out of the first pick
    del engine.agent("A-2").holding["x"]
    clock.advance(10)
    engine.tick()
    assert offered(engine, "A-2") == ["c1"] and offered(engine, "A-1") == []
    kinds = [n.kind for n in engine.drain().notices]
    assert "offer_timed_out" in kinds and "offer_revoked" in kinds
    assert engine.agent("A-1").missed_offers == 1
    engine.enqueue(call("c2"))
    assert offered(engine, "A-1") == ["c2"]
    engine.reject("A-1", "c2", "not my topic")
    assert engine.agent("A-1").status is AgentStatus.BREAK
    assert engine.agent("A-1").status_reason.startswith("rona")
    assert engine.get("c2").state is WorkState.WAITING


def test_lost_desktop_makes_agent_unavailable_after_grace_and_reroutes_offer(clock: Clock) -> None:
    engine = make_engine(clock)
    agent(engine, "A-1")
    engine.enqueue(call("c"))
    assert offered(engine, "A-1") == ["c"]
    engine.agent_disconnected("A-1", grace=5)
    clock.advance(4)
    engine.tick()
    assert engine.agent("A-1").status is AgentStatus.AVAILABLE
    agent(engine, "A-2")
    clock.advance(2)
    engine.tick()
    assert engine.agent("A-1").status is AgentStatus.OFFLINE
    assert offered(engine, "A-2") == ["c"]


def test_reconnecting_within_grace_keeps_the_agent(clock: Clock) -> None:
    engine = make_engine(clock)
    agent(engine, "A-1")
    engine.agent_disconnected("A-1", grace=5)
    engine.agent_connected("A-1")
    clock.advance(10)
    engine.tick()
    assert engine.agent("A-1").status is AgentStatus.AVAILABLE


def test_abandoned_while_offered_frees_the_agent_and_counts(clock: Clock) -> None:
    engine = make_engine(clock)
    agent(engine, "A-1")
    engine.enqueue(call("c"))
    clock.advance(7)
    engine.abandon("c")
    assert offered(engine, "A-1") == []
    stats = engine.queue_stats("general", 900)
    assert stats.window.abandoned == 1 and stats.waiting == 0


def test_transfer_needs_a_reason_and_goes_to_the_target(clock: Clock) -> None:
    engine = make_engine(clock)
    engine.put_queue(QueueConfig(id="billing", groups=("billing",)))
    agent(engine, "A-1")
    agent(engine, "B-1", groups=("billing",))
    engine.put_agent(Agent(id="B-1", groups=("billing",)))
    engine.enqueue(call("c"))
    engine.accept("A-1", "c")
    with pytest.raises(InvalidArgument):
        engine.transfer("c", None, target_queue_id="billing")
    engine.transfer("c", TransferReason.NEEDS_SKILL, "needs a refund specialist", target_queue_id="billing")
    assert offered(engine, "B-1") == ["c"]
    assert engine.get("c").transfer_count == 1
    assert engine.queue_stats("general", 900).window.transfers == 1


def test_position_and_estimate_recomputed_as_the_queue_moves(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), expected_handle_time=120))
    agent(engine, "A-1", capacity={Channel.PHONE: 1})
    agent(engine, "A-2", capacity={Channel.PHONE: 1})
    for i in range(6):
        engine.enqueue(call(f"c{i}"))
    # c0, c1 offered; c2..c5 wait with 2 agents busy at 120 s each: 60 s per place.
    assert [engine.position(f"c{i}").position for i in range(2, 6)] == [1, 2, 3, 4]
    assert engine.position("c3").estimated_wait == pytest.approx(120)
    assert engine.position("c5").callback_offered and not engine.position("c2").callback_offered
    engine.accept("A-1", "c0")
    clock.advance(60)
    engine.complete("A-1", "c0", "done")
    # The line moved as fast as the handle time says: one place less, 60 s less.
    assert engine.position("c3").position == 1
    assert engine.position("c3").estimated_wait == pytest.approx(60)


def test_callback_keeps_the_place_in_line(clock: Clock) -> None:
    engine = make_engine(clock)
    for i in range(3):
        engine.enqueue(call(f"c{i}"))
    engine.schedule_callback("c0", "+8613800000000")
    assert engine.position("c0").position == 1
    assert engine.get("c0").state is WorkState.CALLBACK_SCHEDULED
    agent(engine, "A-1")
    assert offered(engine, "A-1") == ["c0"]


def test_simple_intents_overflow_to_bots_above_the_threshold(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), overflow_threshold=3,
                                 simple_intents=("balance",)))
    for i in range(3):
        engine.enqueue(chat(f"c{i}", intent="balance"))
    bot = engine.enqueue(chat("c3", intent="balance"))
    human = engine.enqueue(call("c4", intent="dispute"))
    assert bot.state is WorkState.OVERFLOWED_TO_BOT and human.state is WorkState.WAITING
    assert engine.queue_stats("general", 900).bot_waiting == 1
    taken = engine.take_bot_work("bot-1", ["general"])
    assert taken is not None and taken.id == "c3"
    assert engine.take_bot_work("bot-2", ["general"]) is None
    engine.drain()
    engine.complete_bot_work("c3", resolved=False, reason="needs a person")
    assert engine.get("c3").state is WorkState.WAITING
    # The event names the bot that handed over, as a transfer names the agent it came from.
    [handoff] = [n for n in engine.drain().notices if n.kind == "work_transferred"]
    assert (handoff.agent_id, handoff.reason) == ("bot-1", "needs a person")
    # It kept its arrival: ahead of c4 which came later.
    assert [w.id for w in engine.waiting("general")].index("c3") < [w.id for w in engine.waiting("general")].index("c4")


def test_a_bot_whose_claim_lapsed_cannot_finish_work_another_bot_took(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), overflow_threshold=0,
                                 simple_intents=("balance",)))
    engine.enqueue(chat("c", intent="balance"))
    assert engine.take_bot_work("bot-1/0", ["general"]) is not None
    clock.advance(BOT_CLAIM_SECONDS + 1)
    engine.tick()
    taken = engine.take_bot_work("bot-2/0", ["general"])
    assert taken is not None and taken.id == "c"
    with pytest.raises(FailedPrecondition, match=r"no longer with bot-1/0.*is with bot-2/0"):
        engine.complete_bot_work("c", resolved=True, worker_id="bot-1/0")
    assert engine.get("c").state is WorkState.OVERFLOWED_TO_BOT
    assert engine.complete_bot_work("c", resolved=True, worker_id="bot-2/0").disposition == "resolved_by_bot"


def bot_first(clock: Clock, **engine: float) -> RoutingEngine:
    bots = RoutingEngine(clock, **engine)
    bots.put_queue(QueueConfig(id="general", groups=("general",), overflow_threshold=0, simple_intents=("balance",)))
    bots.enqueue(chat("c", intent="balance"))
    return bots


def test_a_bot_that_renews_its_claim_keeps_the_work_past_the_claim_time(clock: Clock) -> None:
    engine = bot_first(clock, bot_claim_seconds=60)
    taken = engine.take_bot_work("bot-1/0", ["general"])
    assert taken is not None and taken.bot_claim_expires == clock.now + 60
    for _ in range(5):
        clock.advance(45)
        assert engine.renew_bot_claim("c", "bot-1/0") == clock.now + 60
        engine.tick()
        assert engine.take_bot_work("bot-2/0", ["general"]) is None
    clock.advance(61)
    engine.tick()
    assert engine.take_bot_work("bot-2/0", ["general"]) is not None


def test_a_lapsed_or_foreign_claim_is_not_renewed(clock: Clock) -> None:
    engine = bot_first(clock)
    engine.take_bot_work("bot-1/0", ["general"])
    with pytest.raises(FailedPrecondition, match=r"bot-2/0: its claim lapsed and the work is with bot-1/0$"):
        engine.renew_bot_claim("c", "bot-2/0")
    clock.advance(BOT_CLAIM_SECONDS)
    # Lapsed, though no tick has freed it yet: another worker may take it the moment one does.
    with pytest.raises(FailedPrecondition, match=r"no longer with bot-1/0: its claim lapsed$"):
        engine.renew_bot_claim("c", "bot-1/0")
    engine.tick()
    engine.take_bot_work("bot-2/0", ["general"])
    with pytest.raises(FailedPrecondition, match="the work is with bot-2/0"):
        engine.renew_bot_claim("c", "bot-1/0")
    engine.complete_bot_work("c", resolved=False, reason="needs a person", worker_id="bot-2/0")
    with pytest.raises(FailedPrecondition, match="is waiting, not with the self-service bots"):
        engine.renew_bot_claim("c", "bot-2/0")
    with pytest.raises(NotFound):
        engine.renew_bot_claim("nope", "bot-2/0")


def test_a_running_bot_claim_survives_a_restart_and_a_lapsed_one_does_not(clock: Clock) -> None:
    engine = bot_first(clock)
    engine.enqueue(chat("d", intent="balance"))
    engine.take_bot_work("bot-1/0", ["general"])
    clock.advance(BOT_CLAIM_SECONDS - 10)
    engine.take_bot_work("bot-1/1", ["general"])
    clock.advance(20)
    restarted = RoutingEngine(clock)
    restarted.put_queue(engine.queue("general"))
    for work in sorted(engine.live(), key=lambda w: w.seq):
        restarted.restore(work.snapshot())
    assert restarted.renew_bot_claim("d", "bot-1/1") == clock.now + BOT_CLAIM_SECONDS
    taken = restarted.take_bot_work("bot-2/0", ["general"])
    assert taken is not None and taken.id == "c"
    assert restarted.take_bot_work("bot-2/1", ["general"]) is None


def test_after_hours_work_becomes_a_callback_at_the_next_opening(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    # 1_800_000_000 is Friday 2027-01-15 08:00 UTC; the queue opens at 09:00.
    hours = BusinessHours(time_zone="UTC", windows=("mon-fri 09:00-18:00",))
    engine.put_queue(QueueConfig(id="general", groups=("general",), hours=hours))
    agent(engine, "A-1")
    work = engine.enqueue(call("night"))
    assert work.state is WorkState.CALLBACK_SCHEDULED and offered(engine, "A-1") == []
    assert work.not_before == pytest.approx(clock.now + 3600)
    clock.advance(3601)
    engine.tick()
    assert offered(engine, "A-1") == ["night"]


def test_bad_business_hours_are_refused_with_the_format() -> None:
    with pytest.raises(InvalidArgument, match="mon-fri 09:00-18:00"):
        BusinessHours(windows=("weekdays 9-5",))


def test_only_the_assigned_agent_wraps_up(clock: Clock) -> None:
    engine = make_engine(clock)
    agent(engine, "A-1")
    agent(engine, "A-2")
    engine.enqueue(call("c"))
    holder = "A-1" if offered(engine, "A-1") else "A-2"
    engine.accept(holder, "c")
    with pytest.raises(FailedPrecondition):
        engine.complete("A-2" if holder == "A-1" else "A-1", "c")


def test_queue_stats_over_the_window(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), service_level_seconds=20))
    agent(engine, "A-1")
    engine.enqueue(call("fast"))
    clock.advance(5)
    engine.accept("A-1", "fast")
    engine.enqueue(call("slow"))
    clock.advance(100)
    engine.complete("A-1", "fast", "done")
    engine.accept("A-1", "slow")
    view = engine.queue_stats("general", 900)
    assert (view.window.offered, view.window.answered) == (2, 2)
    assert view.window.service_level == pytest.approx(0.5)
    assert view.window.average_speed_of_answer == pytest.approx(52.5)
    assert view.window.average_handle_time == pytest.approx(100)
    assert view.agents_logged_in == 1 and view.agents_available == 0


def ringed_engine(clock: Clock, **policy: object) -> RoutingEngine:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="refunds", groups=("desk",), policy=Policy(
        required_skills=("refund",), rings=(Ring(0, 4), Ring(10, 2), Ring(30, 1)), **policy)))  # type: ignore[arg-type]
    return engine


def test_bullseye_rings_open_to_less_skilled_agents_as_the_wait_grows(clock: Clock) -> None:
    engine = ringed_engine(clock)
    agent(engine, "junior", groups=("desk",), skills={"refund": 1})
    agent(engine, "middle", groups=("desk",), skills={"refund": 2})
    engine.enqueue(call("R-1", queue_id="refunds"))
    assert offered(engine, "junior") == offered(engine, "middle") == []
    clock.advance(9.9)
    engine.tick()
    assert offered(engine, "middle") == []
    clock.advance(0.1)
    engine.tick()
    assert offered(engine, "middle") == ["R-1"]
    assert {r.code: r.detail for r in engine.get("R-1").reasons}["ring"] == \
        "ring 2 of 3: proficiency >= 2, open after 10s"
    engine.accept("middle", "R-1")
    engine.enqueue(call("R-2", queue_id="refunds"))
    clock.advance(30)
    engine.tick()
    assert offered(engine, "junior") == ["R-2"]


def test_the_best_ring_takes_new_work_at_once(clock: Clock) -> None:
    engine = ringed_engine(clock)
    agent(engine, "junior", groups=("desk",), skills={"refund": 1})
    agent(engine, "expert", groups=("desk",), skills={"refund": 5})
    engine.enqueue(call("R-1", queue_id="refunds"))
    assert offered(engine, "expert") == ["R-1"]
    assert {r.code: r.detail for r in engine.get("R-1").reasons}["ring"].startswith("ring 1 of 3")


def test_rings_must_narrow_to_wider_in_order() -> None:
    with pytest.raises(InvalidArgument):
        Policy(rings=(Ring(5, 4),))
    with pytest.raises(InvalidArgument):
        Policy(rings=(Ring(0, 2), Ring(10, 4)))
    with pytest.raises(InvalidArgument):
        Policy(overflow_queue="general")


def test_the_last_ring_is_the_overflow_queue_and_work_never_bounces_back(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="complaints", groups=("supervisors",), policy=Policy(
        overflow_queue="general", overflow_after=60, wait_target=900)))
    engine.put_queue(QueueConfig(id="general", groups=("general",), policy=Policy(
        overflow_queue="complaints", overflow_after=5)))
    agent(engine, "A-1", groups=("general",))
    engine.enqueue(call("C-1", queue_id="complaints"))
    clock.advance(59)
    engine.tick()
    assert offered(engine, "A-1") == []
    clock.advance(1)
    engine.tick()
    work = engine.get("C-1")
    assert offered(engine, "A-1") == ["C-1"] and work.queue_id == "general"
    assert {r.code: r.detail for r in work.reasons}["ring_overflow"] == "complaints -> general after 60s"
    engine.reject("A-1", "C-1")
    clock.advance(60)
    engine.tick()
    # general overflows to complaints after 5 s, but the work came from there: it stays.
    assert engine.get("C-1").queue_id == "general"


def test_the_last_ring_opens_when_the_customers_own_target_runs_out_first(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="complaints", groups=("supervisors",), policy=Policy(
        overflow_queue="general", overflow_after=60, wait_target=900)))
    engine.put_queue(QueueConfig(id="general", groups=("general",)))
    agent(engine, "A-1", groups=("general",))
    engine.enqueue(call("normal", queue_id="complaints"))
    engine.enqueue(call("vip", queue_id="complaints", vip=True))
    clock.advance(14.9)
    engine.tick()
    assert offered(engine, "A-1") == []
    clock.advance(0.1)
    engine.tick()
    # The VIP's 15 s ran out before the ring's 60 s; the other caller still waits for a supervisor.
    assert offered(engine, "A-1") == ["vip"] and engine.get("normal").queue_id == "complaints"
    assert {r.code: r.detail for r in engine.get("vip").reasons}["ring_overflow"] == \
        "complaints -> general after 15s (the 15s target)"


def test_a_transfer_never_goes_back_to_the_agent_or_queue_that_passed_it_on(clock: Clock) -> None:
    engine = make_engine(clock)
    engine.put_queue(QueueConfig(id="billing", groups=("general",)))
    agent(engine, "A-1")
    engine.enqueue(call("T-1"))
    engine.accept("A-1", "T-1")
    engine.transfer("T-1", TransferReason.WRONG_QUEUE, "needs billing", target_queue_id="billing")
    # A-1 is free and in billing's group, but passed it on: nobody else, so it waits.
    assert offered(engine, "A-1") == [] and engine.get("T-1").state is WorkState.WAITING
    agent(engine, "A-2")
    assert offered(engine, "A-2") == ["T-1"]
    engine.accept("A-2", "T-1")
    with pytest.raises(FailedPrecondition):
        engine.transfer("T-1", TransferReason.WRONG_QUEUE, "back again", target_queue_id="general")
    with pytest.raises(FailedPrecondition):
        engine.transfer("T-1", TransferReason.OTHER, "back to the first agent", target_agent_id="A-1")
    engine.transfer("T-1", TransferReason.OTHER, "second opinion", target_queue_id="billing")
    assert engine.get("T-1").transfer_count == 2


def test_a_chat_goes_beside_work_already_held_so_the_next_call_finds_an_empty_desk(clock: Clock) -> None:
    engine = make_engine(clock)
    desk = {Channel.PHONE: 1, Channel.CHAT: 2}
    agent(engine, "holding", capacity=desk)
    engine.enqueue(chat("first"))
    engine.accept("holding", "first")
    clock.advance(60)  # the idle agent has waited longer: least occupancy alone would pick them
    agent(engine, "idle", capacity=desk)
    engine.enqueue(chat("second"))
    assert offered(engine, "holding") == ["second"] and offered(engine, "idle") == []
    assert {r.code: r.detail for r in engine.get("second").reasons}["beside_work"] == \
        "1 held already; empty desks kept for calls"
    engine.enqueue(call("call"))
    assert offered(engine, "idle") == ["call"]
    # A full desk takes no more: the next chat goes to an empty one rather than wait.
    engine.accept("holding", "second")
    engine.accept("idle", "call")
    agent(engine, "third", capacity=desk)
    engine.enqueue(chat("third-chat"))
    assert offered(engine, "third") == ["third-chat"]


def test_a_single_language_agent_takes_their_language_and_the_bilingual_one_stays_free(clock: Clock) -> None:
    engine = make_engine(clock)
    agent(engine, "both", languages=("zh", "en"))
    clock.advance(60)  # the bilingual agent has been idle longer
    agent(engine, "zh-only", languages=("zh",))
    engine.enqueue(call("zh-call", language="zh-CN"))
    assert offered(engine, "zh-only") == ["zh-call"] and offered(engine, "both") == []
    engine.enqueue(call("en-call", language="en"))
    assert offered(engine, "both") == ["en-call"]


def test_a_caller_is_told_no_longer_than_until_the_last_ring_takes_them(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    for queue_id, overflow in (("complaints", "general"), ("alone", "")):
        engine.put_queue(QueueConfig(id=queue_id, groups=("supervisors",), expected_handle_time=300,
                                     policy=Policy(overflow_queue=overflow, overflow_after=20 if overflow else 0)))
    engine.put_queue(QueueConfig(id="general", groups=("general",), expected_handle_time=300))
    agent(engine, "S-1", groups=("supervisors",))
    agent(engine, "A-1", groups=("general",))
    for n in range(6):
        engine.enqueue(call(f"c-{n}", queue_id="complaints"))
        engine.enqueue(call(f"a-{n}", queue_id="alone"))
    # Fifth in the one supervisor's line of 300 s calls (1,500 s), but everyone else takes
    # the call once it waited 20 s: 20 s and the general line's pace for one more call.
    assert engine.position("c-5").estimated_wait == pytest.approx(20 + 300)
    assert engine.position("a-5").estimated_wait == pytest.approx(1800)
