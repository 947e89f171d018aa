"""Follow-up tasks (docs/outbound.md, "Follow-ups"): an agent schedules a call, email or SMS about
a contact, for themselves or their group, at a time. A follow-up is routing work like any other:
it waits in the line of the group's queue, is not offered before it is due (`not_before`), is held
for the agent it is for until the grace period ends (`affinity_until`; the engine's affinity rule,
kept also while that agent is away) and then falls to the group. Being work, it is scheduled by the
one scheduler routing has: the owner of its partition's engine, its due time stored with it.

Pure: who may schedule is in `access.py`; the use case finds the contact and the queue.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Iterable

from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.work import Work
from omni.runtime.channels import Channel
from omni.runtime.errors import FailedPrecondition, InvalidArgument, NotFound

# What a follow-up does: call the customer, write an email or an SMS.
CHANNELS = frozenset({Channel.PHONE, Channel.EMAIL, Channel.SMS})


@dataclasses.dataclass(frozen=True)
class FollowUpLimits:
    """`max_ahead`: a follow-up is due at most this far ahead; `grace`: how long after it is due
    only the agent it is for is offered it; `on_time`: done within this after it is due is on
    time (later: an overdue alert, and late in the KPI); `max_note_chars`: the longest note (and cancellation
    reason)."""

    max_ahead: float = 30 * 86400.0
    grace: float = 900.0
    on_time: float = 3600.0
    max_note_chars: int = 1000

    def __post_init__(self) -> None:
        if self.max_ahead <= 0 or self.grace < 0 or self.on_time <= 0 or self.max_note_chars < 1:
            raise InvalidArgument("follow-ups: max_ahead and on_time above 0, grace at least 0, note chars at least 1")


def check_request(channel: Channel | None, due: float, note: str, now: float, limits: FollowUpLimits) -> Channel:
    """The channel, time and note of a new follow-up, each with an error a person can act on."""
    if channel not in CHANNELS:
        raise InvalidArgument("channel: a follow-up is a call, an email or an SMS (CHANNEL_PHONE, CHANNEL_EMAIL, "
                              "CHANNEL_SMS)")
    if not due:
        raise InvalidArgument("due_time: say when the follow-up is due")
    if due <= now:
        raise InvalidArgument(f"due_time is {now - due:.0f}s in the past; a follow-up is due in the future")
    if due > now + limits.max_ahead:
        raise InvalidArgument(f"due_time is more than {limits.max_ahead / 86400:g} days ahead; schedule it "
                              "closer (the limit is OMNI_FOLLOW_UP_MAX_AHEAD_SECONDS)")
    if len(note) > limits.max_note_chars:
        raise InvalidArgument(f"note: at most {limits.max_note_chars} characters (got {len(note)})")
    return channel


def queue_for(source: Work, group: str, queues: Iterable[QueueConfig]) -> QueueConfig:
    """The queue a follow-up waits in: the contact's own when it serves `group` (or no group is
    named), else the first (by id) of the queues serving `group`."""
    known = sorted(queues, key=lambda q: q.id)
    own = next((q for q in known if q.id == source.queue_id), None)
    if own is not None and (not group or group in own.groups):
        return own
    if not group:
        raise FailedPrecondition(f"the queue {source.queue_id} of work {source.id} is gone; name the group the "
                                 "follow-up falls to")
    serving = next((q for q in known if group in q.groups), None)
    if serving is None:
        raise NotFound(f"group {group!r} serves no routing queue; name one of the groups of your queues")
    return serving


def follow_up_id(scheduled_by: str, request_id: str) -> str:
    """The same request (by the same person) names the same follow-up, so a retry adds none."""
    if not request_id:
        return f"FU-{uuid.uuid4().hex[:20]}"
    return "FU-" + hashlib.blake2b(f"{scheduled_by}\0{request_id}".encode(), digest_size=10).hexdigest()


def follow_up(source: Work, *, work_id: str, channel: Channel, due: float, queue: QueueConfig, agent_id: str,
              group: str, scheduled_by: str, note: str, limits: FollowUpLimits) -> Work:
    """The follow-up of `source` as work: the customer, their session and ticket, due at `due`,
    for `agent_id` until the grace period ends ("" : for the group from the start)."""
    return Work(
        id=work_id, queue_id=queue.id, channel=channel, session_id=source.session_id or source.id,
        customer_id=source.customer_id, customer_name=source.customer_name, identities=source.identities,
        language=source.language, intent=source.intent, vip=source.vip, text=note.strip(),
        ticket_id=source.ticket_id, preferred_agent_id=agent_id,
        affinity_until=due + limits.grace if agent_id else 0.0, not_before=due,
        follows_work_id=source.id, follow_up_due=due, follow_up_deadline=due + limits.on_time,
        follow_up_group=group or next(iter(queue.groups), ""), follow_up_by=scheduled_by)


def check_cancellable(work: Work) -> None:
    if not work.follow_up_due:
        raise FailedPrecondition(f"work {work.id} is not a follow-up; only follow-ups are cancelled")
