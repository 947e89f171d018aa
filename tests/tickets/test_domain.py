"""The pure rules: identity normalisation, threading decisions, status transitions, SLA policy."""

from __future__ import annotations

import datetime as dt

import pytest

from omni.runtime.config import ConfigError
from omni.runtime.errors import FailedPrecondition, InvalidArgument
from omni.tickets.domain.identities import Kind, normalise, readable
from omni.tickets.domain.lifecycle import Priority, Status, check_transition, contact_priority
from omni.tickets.domain.model import Sla, Ticket
from omni.tickets.domain.sla import responded
from omni.tickets.domain.threading import Candidate, Contact, Decision, Windows, decide, subject_token
from omni.tickets.settings import policy_from

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
WINDOWS = Windows(same_topic=dt.timedelta(hours=72), follow_up=dt.timedelta(hours=168))


def hours(h: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=h)


@pytest.mark.parametrize("raw", ["+86 138 0013 8000", "13800138000", "+86-138-0013-8000", "0086 138 0013 8000"])
def test_chinese_mobile_numbers_normalise_to_e164(raw: str) -> None:
    assert normalise(Kind.PHONE, raw, "CN").value == "+8613800138000"


def test_email_is_case_folded_and_keeps_plus_tags() -> None:
    assert normalise(Kind.EMAIL, " Li+Orders@Example.CN ", "CN").value == "li+orders@example.cn"


@pytest.mark.parametrize(("kind", "raw"), [(Kind.PHONE, "12"), (Kind.PHONE, "call me"), (Kind.EMAIL, "no-at"),
                                           (Kind.EMAIL, "a b@x.cn"), (Kind.CHAT_HANDLE, " ")])
def test_bad_identities_are_refused_with_a_reason(kind: Kind, raw: str) -> None:
    with pytest.raises(InvalidArgument):
        normalise(kind, raw, "CN")


def test_unreadable_channel_identities_are_skipped_not_fatal() -> None:
    usable, skipped = readable([(Kind.PHONE, "anonymous"), (Kind.PHONE, "13800138000"),
                                (Kind.PHONE, "+8613800138000")], "CN")
    assert [i.value for i in usable] == ["+8613800138000"] and len(skipped) == 1


def test_subject_token() -> None:
    assert subject_token("Re: refund [#T-1042] again") == "T-1042"
    assert subject_token("T-1042 without brackets") == ""


def ticket(status: Status = Status.OPEN, topic: str = "billing", last: float = 0, done: float | None = None,
           id_: str = "T-1") -> Candidate:
    return Candidate(id=id_, status=status, topic=topic, first_at=hours(0), last_at=hours(last),
                     done_at=hours(done) if done is not None else None)


def test_same_topic_within_window_joins_else_new() -> None:
    assert decide(Contact(hours(10), "billing"), WINDOWS, same_topic=[ticket()]).ticket_id == "T-1"
    assert decide(Contact(hours(100), "billing"), WINDOWS, same_topic=[ticket()]).create
    assert decide(Contact(hours(10), "delivery"), WINDOWS, same_topic=[ticket()]).create
    # Out of order: a contact from before the ticket's first interaction still joins.
    assert decide(Contact(hours(-5), "billing"), WINDOWS, same_topic=[ticket()]).ticket_id == "T-1"


def test_headers_beat_topic_and_closed_ticket_reopens_or_follows_up() -> None:
    closed = ticket(Status.CLOSED, done=1)
    reopen = decide(Contact(hours(20), "x"), WINDOWS, replied_ticket=closed, same_topic=[ticket(id_="T-2")])
    assert (reopen.ticket_id, reopen.reopen) == ("T-1", True)
    late = decide(Contact(hours(500), "x"), WINDOWS, replied_ticket=closed)
    assert late.create and late.follow_up_of == "T-1"


def test_phone_or_chat_about_a_done_topic_reopens_then_follows_up_then_is_new() -> None:
    closed = ticket(Status.CLOSED, done=1)
    reopen = decide(Contact(hours(20), "billing"), WINDOWS, same_topic=[closed])
    assert (reopen.ticket_id, reopen.reopen, reopen.rule) == ("T-1", True, "same_topic:reopen")
    follow = decide(Contact(hours(24 * 10), "billing"), WINDOWS, same_topic=[closed])
    assert follow.create and follow.follow_up_of == "T-1"
    assert decide(Contact(hours(24 * 40), "billing"), WINDOWS, same_topic=[closed]).follow_up_of == ""
    # An active ticket on the topic wins; another topic's done ticket is another matter.
    both = decide(Contact(hours(20), "billing"), WINDOWS, same_topic=[closed, ticket(id_="T-2", last=10)])
    assert (both.ticket_id, both.reopen) == ("T-2", False)
    assert not decide(Contact(hours(20), "delivery"), WINDOWS, same_topic=[closed]).follow_up_of
    # Email never threads by topic; a call that ended in the IVR joins any active topic, reopens nothing.
    assert not decide(Contact(hours(20), "billing", joins_by_topic=False), WINDOWS, same_topic=[closed]).reopen
    hung_up = Contact(hours(20), "", any_topic=True)
    assert decide(hung_up, WINDOWS, same_topic=[ticket(id_="T-3", last=10)]).ticket_id == "T-3"
    assert decide(hung_up, WINDOWS, same_topic=[closed]) == Decision(create=True, rule="new")


def test_first_response_is_the_earliest_and_due_times_follow_priority() -> None:
    policy = policy_from(("low=60", "normal=30", "high=10", "urgent=5"), ("low=600", "normal=300", "high=100",
                                                                          "urgent=50"))
    first, resolution = policy.due(Priority.NORMAL, T0)
    opened = Ticket(id="T-1", customer_id="C-1", priority=Priority.NORMAL,
                    sla=Sla(first_response_due=first, resolution_due=resolution))
    assert responded(opened, hours(2)) and not responded(opened, hours(3))
    assert responded(opened, hours(1)) and opened.sla.first_response_at == hours(1)
    opened.priority = Priority.URGENT
    policy.reprioritised(opened, Priority.NORMAL)
    assert (opened.sla.first_response_due, opened.sla.resolution_due) == policy.due(Priority.URGENT, T0)
    policy.reprioritised(opened, Priority.URGENT)  # unchanged: nothing moves
    assert opened.sla.resolution_due == T0 + dt.timedelta(minutes=50)


def test_automatic_mail_never_opens_or_reopens() -> None:
    closed = ticket(Status.SOLVED, done=1)
    for found in ({"replied_ticket": closed}, {"token_ticket": closed}):
        late = decide(Contact(hours(500), "x", automatic=True), WINDOWS, **found)  # type: ignore[arg-type]
        assert (late.ticket_id, late.reopen, late.create) == ("T-1", False, False)
    recorded = decide(Contact(hours(2), "x", automatic=True), WINDOWS, replied_ticket=closed)
    assert (recorded.ticket_id, recorded.reopen, recorded.create) == ("T-1", False, False)
    assert not decide(Contact(hours(2), "x", automatic=True), WINDOWS).create


def test_status_transitions() -> None:
    check_transition("T-1", Status.NEW, Status.SOLVED)
    check_transition("T-1", Status.SOLVED, Status.OPEN)
    with pytest.raises(FailedPrecondition, match="closed"):
        check_transition("T-1", Status.CLOSED, Status.OPEN)
    with pytest.raises(FailedPrecondition, match="may go to"):
        check_transition("T-1", Status.OPEN, Status.NEW)


def test_priority_from_contact() -> None:
    assert contact_priority(urgent=True, emotion_score=0, tier="") is Priority.URGENT
    assert contact_priority(urgent=False, emotion_score=8, tier="") is Priority.URGENT
    assert contact_priority(urgent=False, emotion_score=3, tier="VIP") is Priority.HIGH
    assert contact_priority(urgent=False, emotion_score=3, tier="") is Priority.NORMAL


def test_sla_policy_parses_and_refuses_gaps() -> None:
    policy = policy_from(("low=60", "normal=30", "high=10", "urgent=5"), ("low=6", "normal=5", "high=4", "urgent=1"))
    assert policy.due(Priority.URGENT, T0) == (T0 + dt.timedelta(minutes=5), T0 + dt.timedelta(minutes=1))
    with pytest.raises(ConfigError, match="urgent"):
        policy_from(("low=60", "normal=30", "high=10"), ("low=6", "normal=5", "high=4", "urgent=1"))
    with pytest.raises(ConfigError, match="priority=minutes"):
        policy_from(("low=sixty",), ())
