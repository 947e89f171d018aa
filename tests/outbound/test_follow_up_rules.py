"""Follow-up tasks in the routing engine on a hand-driven clock (no servers): not offered before
they are due, offered to the agent they are for while that agent is working, to the group once
the grace period is over, and never to a colleague within it; bad requests refused; the "done on
time" KPI."""

from __future__ import annotations

import pytest

from omni.kpis.follow_ups import FollowUpRecord
from omni.kpis.follow_ups import figures as follow_up_figures
from omni.routing.domain import access, followups
from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.followups import FollowUpLimits
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.work import Work, WorkState
from omni.runtime.auth import Principal, Role
from omni.runtime.channels import Channel
from omni.runtime.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from tests.routing.conftest import Clock

LIMITS = FollowUpLimits(max_ahead=7 * 86400, grace=600, on_time=1800, max_note_chars=50)
BILLING = QueueConfig(id="billing", groups=("billing",))
CARE = QueueConfig(id="care", groups=("care",))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_engine(clock: Clock) -> RoutingEngine:
    engine = RoutingEngine(clock)
    for queue in (BILLING, CARE):
        engine.put_queue(queue)
    for agent_id, groups in (("A-1", ("billing",)), ("A-2", ("billing",)), ("A-3", ("care",))):
        engine.put_agent(Agent(id=agent_id, groups=groups))
        engine.set_agent_status(agent_id, AgentStatus.AVAILABLE)
    return engine


def handled(work_id: str = "S-1", agent_id: str = "A-1") -> Work:
    return Work(id=work_id, queue_id="billing", channel=Channel.CHAT, session_id=work_id, customer_id="C-1",
                assigned_agent_id=agent_id, state=WorkState.COMPLETED)


def follow_up(clock: Clock, due_in: float, agent_id: str = "A-1", group: str = "", queue: QueueConfig = BILLING,
              channel: Channel = Channel.PHONE) -> Work:
    return followups.follow_up(handled(), work_id=followups.follow_up_id(agent_id or "S-9", f"r{due_in}"),
                               channel=channel, due=clock.now + due_in, queue=queue, agent_id=agent_id, group=group,
                               scheduled_by=agent_id or "S-9", note="call about the refund", limits=LIMITS)


def test_a_follow_up_is_offered_when_due_to_its_agent_even_with_a_colleague_idle_longer(clock: Clock) -> None:
    engine = make_engine(clock)
    engine.agent("A-2").idle_since = clock.now - 1000  # longest idle: without the follow-up rule, A-2 first
    work = engine.enqueue(follow_up(clock, 60))
    assert work.state is WorkState.WAITING and not engine.agent("A-1").offered  # not due yet
    clock.advance(61)
    engine.tick()
    offered = engine.get(work.id)
    assert offered.offered_agent_id == "A-1"
    assert ("follow_up", "for A-1 first (10 min after it is due), then group billing") in {
        (r.code, r.detail) for r in offered.reasons}
    engine.accept("A-1", work.id)
    done = engine.complete("A-1", work.id, "reached")
    assert done.state is WorkState.COMPLETED and done.follows_work_id == "S-1"


def test_a_busy_agent_with_room_on_the_channel_is_offered_it_and_a_full_one_waits_for_the_grace(clock: Clock) -> None:
    engine = make_engine(clock)
    engine.enqueue(Work(id="S-9", queue_id="billing", channel=Channel.CHAT, preferred_agent_id="A-1"))
    engine.accept("A-1", "S-9")  # busy on a chat: room for an SMS, none for a call
    sms = engine.enqueue(follow_up(clock, 5, channel=Channel.SMS))
    call = engine.enqueue(follow_up(clock, 6))
    clock.advance(7)
    engine.tick()
    assert engine.get(sms.id).offered_agent_id == "A-1"
    engine.accept("A-1", sms.id)
    assert engine.get(call.id).state is WorkState.WAITING and not engine.agent("A-2").offered
    clock.advance(LIMITS.grace)
    engine.tick()
    assert engine.get(call.id).offered_agent_id == "A-2"


def test_an_away_agent_s_follow_up_waits_the_grace_period_then_goes_to_the_group(clock: Clock) -> None:
    engine = make_engine(clock)
    engine.set_agent_status("A-1", AgentStatus.BREAK, "lunch")
    work = engine.enqueue(follow_up(clock, 60))
    clock.advance(61)
    engine.tick()
    assert not engine.agent("A-2").offered  # within the grace period a colleague is not offered it
    clock.advance(LIMITS.grace)
    engine.tick()
    assert engine.get(work.id).offered_agent_id == "A-2"
    assert not engine.agent("A-3").offered  # another group's agent never


def test_the_agent_back_within_the_grace_period_gets_it(clock: Clock) -> None:
    engine = make_engine(clock)
    engine.set_agent_status("A-1", AgentStatus.OFFLINE)
    work = engine.enqueue(follow_up(clock, 10))
    clock.advance(300)
    engine.tick()
    engine.set_agent_status("A-1", AgentStatus.AVAILABLE)
    assert engine.get(work.id).offered_agent_id == "A-1"


def test_a_group_follow_up_goes_to_anyone_of_the_group_when_due_and_a_cancelled_one_to_nobody(clock: Clock) -> None:
    engine = make_engine(clock)
    for_care = engine.enqueue(follow_up(clock, 30, agent_id="", group="care", queue=CARE, channel=Channel.EMAIL))
    cancelled = engine.enqueue(follow_up(clock, 20, agent_id="", group="billing"))
    engine.abandon(cancelled.id, "follow-up cancelled by A-1")
    clock.advance(31)
    engine.tick()
    assert engine.get(for_care.id).offered_agent_id == "A-3"
    assert not engine.agent("A-1").offered and not engine.agent("A-2").offered
    # A cancelled follow-up is no customer who gave up: the queue's abandonment is untouched.
    assert engine.queue_stats("billing", 3600).window.abandoned == 0


@pytest.mark.parametrize(("due_in", "channel", "note", "message"), [
    (-5, Channel.PHONE, "", "in the past"),
    (0, Channel.PHONE, "", "in the past"),
    (8 * 86400, Channel.PHONE, "", "days ahead"),
    (60, Channel.CHAT, "", "a call, an email or an SMS"),
    (60, None, "", "a call, an email or an SMS"),
    (60, Channel.SMS, "x" * 51, "at most 50 characters"),
])
def test_bad_follow_up_requests_are_refused_with_the_way_forward(
        clock: Clock, due_in: float, channel: Channel | None, note: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        followups.check_request(channel, clock.now + due_in, note, clock.now, LIMITS)


def test_the_follow_up_queue_is_the_contact_s_own_or_the_named_group_s() -> None:
    assert followups.queue_for(handled(), "", [CARE, BILLING]) is BILLING
    assert followups.queue_for(handled(), "care", [CARE, BILLING]) is CARE
    with pytest.raises(NotFound, match="group 'nobody' serves no routing queue"):
        followups.queue_for(handled(), "nobody", [CARE, BILLING])
    with pytest.raises(FailedPrecondition, match="name the group"):
        followups.queue_for(handled(), "", [CARE])


def test_only_the_agent_who_handled_the_contact_or_a_supervisor_schedules_its_follow_up() -> None:
    def agent(subject: str, *groups: str) -> Principal:
        return Principal(subject=subject, role=Role.AGENT, groups=groups)

    assert access.follow_up_agent(agent("A-1", "billing"), handled(), "") == "A-1"
    assert access.follow_up_agent(agent("A-1", "billing"), handled(), "billing") == ""
    with pytest.raises(PermissionDenied, match="was handled by A-1, not by you"):
        access.follow_up_agent(agent("A-2", "billing"), handled(), "")
    with pytest.raises(PermissionDenied, match="group care is not one of yours"):
        access.follow_up_agent(agent("A-1", "billing"), handled(), "care")
    supervisor = Principal(subject="S-1", role=Role.SUPERVISOR, groups=("billing",))
    assert access.follow_up_agent(supervisor, handled(), "") == "A-1"  # for the agent who handled it
    work = follow_up(Clock(), 60)
    access.check_follow_up_cancel(agent("A-1", "billing"), work)
    with pytest.raises(PermissionDenied, match="only they or a supervisor cancel it"):
        access.check_follow_up_cancel(agent("A-2", "billing"), work)


def test_the_same_request_names_the_same_follow_up() -> None:
    assert followups.follow_up_id("A-1", "r1") == followups.follow_up_id("A-1", "r1")
    assert followups.follow_up_id("A-1", "r1") != followups.follow_up_id("A-2", "r1")


def test_done_on_time_counts_done_and_overdue_follow_ups_not_cancelled_or_still_in_time() -> None:
    def record(n: int, *, done: float | None = None, cancelled: bool = False) -> FollowUpRecord:
        return FollowUpRecord(follow_up_id=f"FU-{n}", queue="billing", channel="phone", agent_id="A-1",
                              done_by="A-1" if done else "", due=1000.0, deadline=1600.0, done=done,
                              cancelled=cancelled)

    figures = follow_up_figures([record(1, done=1500), record(2, done=1700), record(3), record(4, cancelled=True)],
                                now=2000.0)
    assert (figures.due, figures.done_on_time, figures.late, figures.overdue, figures.cancelled) == (4, 1, 1, 1, 1)
    assert figures.on_time_rate == pytest.approx(1 / 3)
    # Before the deadline an undone follow-up is not judged yet.
    assert follow_up_figures([record(3)], now=1500.0).on_time_rate is None
