"""Follow-up tasks supervisors follow (docs/outbound.md, "Follow-ups"): routing's events of a
follow-up carry its deadline (its due time plus routing's on-time allowance); one not done nor
cancelled by then raises a `follow_up_overdue` alert, once."""

from __future__ import annotations

import dataclasses
import datetime as dt

from omni.runtime.channels import Channel
from omni.supervision.domain.alerts import Alert, AlertKind, Subject, new_alert


@dataclasses.dataclass(frozen=True)
class FollowUpTarget:
    work_id: str
    queue_id: str
    session_id: str
    deadline: dt.datetime
    # The agent it is for ("" : the group's) and the group it falls to.
    agent_id: str = ""
    group: str = ""
    channel: Channel | None = None
    # Done or cancelled: nothing to alert of.
    settled: bool = False


def overdue(target: FollowUpTarget, now: dt.datetime) -> Alert | None:
    if target.settled or now < target.deadline:
        return None
    late = (now - target.deadline).total_seconds()
    whose = f"{target.agent_id} (group {target.group})" if target.agent_id else f"group {target.group}"
    return new_alert(AlertKind.FOLLOW_UP_OVERDUE, f"follow_up_overdue:{target.work_id}", now,
                     Subject(queue_id=target.queue_id, session_id=target.session_id, work_id=target.work_id,
                             agent_id=target.agent_id, channel=target.channel),
                     f"follow-up {target.work_id} for {whose} is not done; {late / 60:.0f} min past its deadline")
