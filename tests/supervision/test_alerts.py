"""Each alert kind, raised from the facts the other services publish, once per fact; acknowledged
by a supervisor of the queue's groups and by nobody else."""

from __future__ import annotations

import asyncio
import datetime as dt

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from omni.runtime.auth import Role
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import events_pb2 as routing_events
from omnichannel.routing.v1 import routing_pb2
from omnichannel.sessions.v1 import events_pb2 as session_events
from omnichannel.supervision.v1 import supervision_pb2 as pb
from omnichannel.tickets.v1 import events_pb2 as ticket_events
from omnichannel.tickets.v1 import tickets_pb2
from tests.supervision.conftest import Floor
from tests.support.polling import eventually


def stamp(at: dt.datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(at)
    return value


def work(work_id: str, queue: str = "billing", *reasons: tuple[str, str], **fields: object) -> routing_pb2.WorkItem:
    return routing_pb2.WorkItem(id=work_id, session_id=work_id, queue_id=queue, channel=common_pb2.CHANNEL_CHAT,
                                reasons=[routing_pb2.RoutingReason(code=c, detail=d) for c, d in reasons],
                                **fields)  # type: ignore[arg-type]


async def test_an_angry_or_urgent_arrival_raises_one_alert_each_however_often_delivered(floor: Floor) -> None:
    event = routing_events.WorkEvent(work=work("S-angry", "billing", ("angry", "emotion 9 >= 8"),
                                               ("urgent", "urgent"), ("wait_target", "10s")))
    for _ in range(2):  # a redelivery (another id: the bus would drop the same one)
        await floor.publish("routing", "work_queued", event, event_id=f"q-{_}")
    angry = await floor.alert(pb.ALERT_KIND_ANGRY, session_id="S-angry")
    await floor.alert(pb.ALERT_KIND_EMERGENCY, session_id="S-angry")
    assert angry.detail == "emotion 9 >= 8" and angry.queue_id == "billing" and angry.channel == common_pb2.CHANNEL_CHAT
    # A later fact raises its alert; by then the redelivery had long been handled.
    await floor.publish("routing", "offer_timed_out", routing_events.WorkEvent(
        work=work("S-angry", offer_attempts=1), agent_id="A-1"), event_id="rona-1")
    await floor.alert(pb.ALERT_KIND_RONA, session_id="S-angry", agent_id="A-1")
    kinds = [a.kind for a in await floor.alerts() if a.session_id == "S-angry"]
    assert sorted(kinds) == sorted([pb.ALERT_KIND_ANGRY, pb.ALERT_KIND_EMERGENCY, pb.ALERT_KIND_RONA])


async def test_later_turns_raise_angry_rising_and_emergency_from_routings_escalations(floor: Floor) -> None:
    for session_id, reason, kind in (("S-t1", "turn_angry: emotion 8 >= 8", pb.ALERT_KIND_ANGRY),
                                     ("S-t2", "emotion_rising: 1 -> 2 -> 3 -> 5", pb.ALERT_KIND_EMOTION_RISING),
                                     ("S-t3", "turn_urgent: an emergency in a later turn", pb.ALERT_KIND_EMERGENCY)):
        await floor.publish("routing", "work_escalated", routing_events.WorkEvent(
            work=work(session_id), agent_id="A-7", reason=reason), event_id=f"esc-{session_id}")
        alert = await floor.alert(kind, session_id=session_id)
        assert alert.agent_id == "A-7" and alert.detail == reason.split(":", 1)[1].strip()


async def test_a_greeting_later_than_the_target_raises_an_alert_and_one_in_time_none(floor: Floor) -> None:
    now = dt.datetime.now(dt.UTC)
    for session_id in ("S-quick", "S-slow", "S-silent"):
        await floor.publish("routing", "work_assigned", routing_events.WorkEvent(
            work=work(session_id, answer_time=stamp(now)), agent_id="A-1"), event_id=f"as-{session_id}")
    for session_id, after in (("S-quick", 0.2), ("S-slow", 5.0)):
        await floor.publish("sessions", "interaction_received", session_events.InteractionReceived(
            interaction=common_pb2.Interaction(id=f"i-{session_id}", session_id=session_id,
                                               direction=common_pb2.DIRECTION_OUTBOUND,
                                               occurred_at=stamp(now + dt.timedelta(seconds=after)))),
            event_id=f"i-{session_id}")
    silent = await floor.alert(pb.ALERT_KIND_LATE_GREETING, session_id="S-silent")
    assert "has not greeted" in silent.detail
    slow = await floor.alert(pb.ALERT_KIND_LATE_GREETING, session_id="S-slow")
    # Late either way: judged at the reply (5 s) or by the timer first, under load.
    assert "A-1" in slow.detail and "target 2s" in slow.detail
    assert not [a for a in await floor.alerts() if a.session_id == "S-quick"]  # judged by the sweep that found S-silent


async def test_sla_breach_and_breach_imminent_come_from_tickets_events(floor: Floor) -> None:
    now = dt.datetime.now(dt.UTC)
    # Half the time is the warning (the fixture's fraction): T-1's first response is in it, its
    # resolution not; T-2's first response is in it too, but answered.
    created = stamp(now - dt.timedelta(minutes=10))
    soon = tickets_pb2.Ticket(id="T-1", queue="billing", create_time=created, sla=tickets_pb2.Sla(
        first_response_due=stamp(now + dt.timedelta(minutes=5)), resolution_due=stamp(now + dt.timedelta(days=1))))
    answered = tickets_pb2.Ticket(id="T-2", queue="billing", create_time=created, sla=tickets_pb2.Sla(
        first_response_due=stamp(now + dt.timedelta(minutes=5)), first_response_time=stamp(now)))
    await floor.publish("tickets", "ticket_created", ticket_events.TicketEvent(ticket=answered), event_id="t2")
    await floor.publish("tickets", "ticket_created", ticket_events.TicketEvent(ticket=soon), event_id="t1")
    imminent = await floor.alert(pb.ALERT_KIND_SLA_BREACH_IMMINENT, ticket_id="T-1")
    assert "first response due in 5 min" in imminent.detail
    await floor.publish("tickets", "sla_breached", ticket_events.TicketEvent(ticket=soon, breached_target="resolution"),
                        event_id="t1-breach")
    breached = await floor.alert(pb.ALERT_KIND_SLA_BREACHED, ticket_id="T-1")
    assert "resolution target missed" in breached.detail
    tickets = {(a.ticket_id, a.kind) for a in await floor.alerts()}
    assert tickets == {("T-1", pb.ALERT_KIND_SLA_BREACH_IMMINENT), ("T-1", pb.ALERT_KIND_SLA_BREACHED)}


@pytest.mark.slow
async def test_a_queue_below_its_service_level_with_abandons_raises_both_queue_alerts_once(floor: Floor) -> None:
    for n in range(5):
        await floor.routing.EnqueueWork(routing_pb2.EnqueueWorkRequest(work=routing_pb2.WorkItem(
            id=f"W-{n}", queue_id="billing", channel=common_pb2.CHANNEL_CHAT, language="en")), metadata=floor.admin)
    await asyncio.sleep(1.2)  # past the queue's 1 s service-level target: these abandons count against it
    for n in range(5):
        await floor.routing.AbandonWork(routing_pb2.AbandonWorkRequest(work_id=f"W-{n}"), metadata=floor.admin)
    low = await floor.alert(pb.ALERT_KIND_SERVICE_LEVEL_LOW, queue_id="billing")
    spike = await floor.alert(pb.ALERT_KIND_ABANDONMENT_SPIKE, queue_id="billing")
    # The spike may be judged after the third abandon already (a check can fall between them).
    assert "service level 0% < target 80%" in low.detail and "of 5 abandoned in 15 min" in spike.detail
    # Still low at the next checks: the episode is not raised again.
    await floor.publish("routing", "offer_timed_out", routing_events.WorkEvent(work=work("S-x", offer_attempts=1)),
                        event_id="later")
    await floor.alert(pb.ALERT_KIND_RONA, session_id="S-x")
    await asyncio.sleep(0.7)
    queue_alerts = [a for a in await floor.alerts() if a.queue_id == "billing" and not a.session_id]
    assert len(queue_alerts) == 2


async def test_supervisors_see_and_acknowledge_the_alerts_of_their_groups_only(floor: Floor) -> None:
    for session_id, queue in (("S-b", "billing"), ("S-t", "tech")):
        await floor.publish("routing", "offer_timed_out", routing_events.WorkEvent(
            work=work(session_id, queue, offer_attempts=1), agent_id="A-1"), event_id=f"r-{session_id}")
    billing = await floor.alert(pb.ALERT_KIND_RONA, session_id="S-b")
    tech = await floor.alert(pb.ALERT_KIND_RONA, session_id="S-t")
    boss = floor.token_for(Role.SUPERVISOR, "S-1", groups=("billing",))

    seen = await eventually(lambda: floor.alerts(boss), what="the billing supervisor's alerts")
    assert [a.id for a in seen] == [billing.id]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await floor.supervision.AcknowledgeAlert(pb.AcknowledgeAlertRequest(id=tech.id), metadata=boss)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as agent:
        await floor.alerts(floor.token_for(Role.AGENT, "A-1", groups=("billing",)))
    assert agent.value.code() == grpc.StatusCode.PERMISSION_DENIED

    watch = floor.supervision.WatchAlerts(pb.WatchAlertsRequest(), metadata=boss)
    first = await watch.read()
    assert (first.kind, first.alert.id) == ("snapshot", billing.id)
    done = await floor.supervision.AcknowledgeAlert(pb.AcknowledgeAlertRequest(id=billing.id), metadata=boss)
    assert done.acknowledged and done.acknowledged_by == "S-1"
    again = await floor.supervision.AcknowledgeAlert(pb.AcknowledgeAlertRequest(id=billing.id),
                                                     metadata=floor.admin)
    assert again.acknowledged_by == "S-1" and again.acknowledge_time == done.acknowledge_time
    update = await asyncio.wait_for(watch.read(), 10)
    assert (update.kind, update.alert.id, update.alert.acknowledged) == ("acknowledged", billing.id, True)
    watch.cancel()
    assert [a.id for a in await floor.alerts(open_only=True)] == [tech.id]
