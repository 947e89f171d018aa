"""Stored sessions (what the live stack keeps) become contact records for the KPI report."""

from __future__ import annotations

import datetime as dt

from google.protobuf.timestamp_pb2 import Timestamp

from omni.kpis import figures as kpis
from omni.kpis import stored
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1 import sessions_pb2 as S

T0 = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)


def at(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(T0 + dt.timedelta(seconds=seconds))
    return stamp


def session(sid: str, ticket: str, steps: list[tuple[int, float, str]], state: int,
            channel: int = common_pb2.CHANNEL_PHONE) -> S.Session:
    return S.Session(
        id=sid, channel=channel, state=state, queue="billing", ticket_id=ticket, agent_id="A-1",
        customer=common_pb2.CustomerRef(customer_id="CU-1"), create_time=at(steps[0][1]),
        transitions=[S.StateTransition(state=s, time=at(t), reason=r) for s, t, r in steps],
    )


def test_sessions_become_records_with_waits_transfers_and_fcr() -> None:
    first = session("s1", "T-1", [(S.SESSION_STATE_QUEUED, 0, ""), (S.SESSION_STATE_CONNECTED, 12, ""),
                                  (S.SESSION_STATE_QUEUED, 100, "transfer: billing expert"),
                                  (S.SESSION_STATE_CONNECTED, 130, ""), (S.SESSION_STATE_ENDED, 400, "")],
                    S.SESSION_STATE_ENDED)
    again = session("s2", "T-1", [(S.SESSION_STATE_QUEUED, 3600, ""), (S.SESSION_STATE_CONNECTED, 3605, ""),
                                  (S.SESSION_STATE_ENDED, 3700, "")], S.SESSION_STATE_ENDED,
                    channel=common_pb2.CHANNEL_CHAT)
    gave_up = session("s3", "T-2", [(S.SESSION_STATE_QUEUED, 50, ""), (S.SESSION_STATE_ABANDONED, 95, "")],
                      S.SESSION_STATE_ABANDONED)
    in_ivr = S.Session(id="s4", state=S.SESSION_STATE_IVR, create_time=at(5))
    records = stored.contact_records([again, gave_up, first, in_ivr])
    assert [r.contact_id for r in records] == ["s1", "s3", "s2"]
    one, three, two = records
    assert one.wait == 12 and one.transfers == 1 and one.handle_seconds == 388
    assert not one.resolved and two.follow_up and two.resolved and two.channel == "chat"
    assert three.outcome == "abandoned" and three.wait == 45
    k = kpis.compute(records)
    assert k.fcr == 0.0 and k.transfer_rate == 0.5 and k.abandoned == 1


def test_a_chat_the_bot_answered_counts_as_self_service_not_unanswered() -> None:
    bot = session("s5", "T-3", [(S.SESSION_STATE_QUEUED, 0, ""), (S.SESSION_STATE_ENDED, 40, "customer thanked")],
                  S.SESSION_STATE_ENDED, channel=common_pb2.CHANNEL_CHAT)
    bot.messages.add(direction=common_pb2.DIRECTION_INBOUND, text="Where is my parcel?")
    bot.messages.add(direction=common_pb2.DIRECTION_OUTBOUND, sender="devstack-bot", text="Tracking your order …")
    silent = session("s6", "T-4", [(S.SESSION_STATE_QUEUED, 0, ""), (S.SESSION_STATE_ENDED, 40, "closed")],
                     S.SESSION_STATE_ENDED, channel=common_pb2.CHANNEL_CHAT)
    records = stored.contact_records([bot, silent])
    assert [r.outcome for r in records] == ["overflowed", "unanswered"]
    assert kpis.compute(records).overflowed == 1


def test_callbacks_count_as_answered_only_by_the_call_that_reached_the_customer() -> None:
    # Called twice: the first call went unanswered (connected to the agent while it rang).
    kept = session("s7", "T-5", [(S.SESSION_STATE_QUEUED, 0, ""), (S.SESSION_STATE_CONNECTED, 300, "calling back"),
                                 (S.SESSION_STATE_QUEUED, 330, "callback attempt 1: no answer"),
                                 (S.SESSION_STATE_CONNECTED, 2100, "calling back"),
                                 (S.SESSION_STATE_WRAP_UP, 2400, ""), (S.SESSION_STATE_ENDED, 2460, "")],
                   S.SESSION_STATE_ENDED)
    kept.attributes.update(callback_number="+8613800138000", outbound_attempt="2", outbound_result="answered")
    failed = session("s8", "T-6", [(S.SESSION_STATE_QUEUED, 0, ""), (S.SESSION_STATE_CONNECTED, 60, "calling back"),
                                   (S.SESSION_STATE_QUEUED, 90, "callback attempt 1: busy"),
                                   (S.SESSION_STATE_ENDED, 95, "work completed")], S.SESSION_STATE_ENDED)
    failed.attributes.update(callback_number="+8613800138001", outbound_attempt="1", outbound_result="busy")
    stopped = session("s9", "T-7", [(S.SESSION_STATE_QUEUED, 0, ""),
                                    (S.SESSION_STATE_ENDED, 50, "callback stopped: the customer contacted us")],
                      S.SESSION_STATE_ENDED)
    stopped.attributes.update(callback_number="+8613800138002", outbound_result="stopped")
    ringing = session("s10", "T-8", [(S.SESSION_STATE_QUEUED, 0, ""),
                                     (S.SESSION_STATE_CONNECTED, 3700, "calling back +8613800138003 (attempt 1)")],
                      S.SESSION_STATE_CONNECTED)
    ringing.attributes.update(callback_number="+8613800138003", outbound_attempt="1", outbound_result="ringing")
    one, two, three, four = stored.contact_records([kept, failed, stopped, ringing])
    assert (one.outcome, one.answered is not None and one.wait, one.callback_reached) == ("answered", 2100, True)
    assert [(at - T0.timestamp(), reached) for at, reached in one.calls] == [(300, False), (2100, True)]
    assert (two.outcome, two.callback_reached, two.callback_attempts) == ("unanswered", False, 1)
    assert three.callback and three.callback_reached is None and three.calls == []
    assert four.calls == []  # still ringing: no outcome yet
    k = kpis.compute([one, two, three, four])
    assert (k.callbacks, k.callbacks_kept, k.callbacks_failed, k.calls_per_callback) == (4, 1, 1, 4 / 3)
    # Three calls with an outcome, one reached the customer: three attempts per contact.
    assert (k.calls_made, k.contact_rate, k.attempts_per_contact) == (3, 1 / 3, 3.0)
    assert [(h.hour, h.calls, h.reached) for h in kpis.contact_rate_by_hour([one, two, three, four])] == [(9, 3, 1)]
