"""Follow-ups done on time (docs/kpis.md, docs/outbound.md "Follow-ups"): pure, no I/O.

A follow-up is on time when it was done (its work completed) by its deadline, which routing sets
at scheduling: the due time plus the on-time allowance. The rate counts the follow-ups due in the
period whose outcome is known: done, or past their deadline undone; cancelled ones are left out
(nobody was to do them), and one still within its time is not judged yet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True, kw_only=True)
class FollowUpRecord:
    follow_up_id: str
    queue: str
    channel: str
    # The agent it was for ("" : the group's), and who did it.
    agent_id: str
    done_by: str
    # POSIX seconds.
    due: float
    deadline: float
    done: float | None = None
    cancelled: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class FollowUpFigures:
    due: int
    done: int
    done_on_time: int
    late: int
    # Past their deadline and not done (nor cancelled).
    overdue: int
    cancelled: int
    # done on time ÷ (done + overdue); None when none is judged yet.
    on_time_rate: float | None


def figures(records: Sequence[FollowUpRecord], now: float) -> FollowUpFigures:
    done = [r for r in records if r.done is not None]
    on_time = sum(1 for r in done if r.done is not None and r.done <= r.deadline)
    overdue = sum(1 for r in records if r.done is None and not r.cancelled and now > r.deadline)
    judged = len(done) + overdue
    return FollowUpFigures(due=len(records), done=len(done), done_on_time=on_time, late=len(done) - on_time,
                           overdue=overdue, cancelled=sum(1 for r in records if r.cancelled),
                           on_time_rate=on_time / judged if judged else None)
