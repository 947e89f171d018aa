"""Who sees what of the floor and its alerts: a supervisor the queues of their own groups (a queue
without groups: every supervisor), the agents who share a group with them, and the alerts of those
queues (an alert about no queue: every supervisor); admins and services everything; nobody else
anything. Written once: the floor, the alert list, the watch and acknowledging all ask here."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from omni.runtime.auth import Principal, Role
from omni.runtime.errors import PermissionDenied
from omni.supervision.domain.alerts import Alert

_EVERYTHING = frozenset({Role.ADMIN, Role.SERVICE})


@dataclasses.dataclass(frozen=True)
class Sight:
    """What one caller sees; `queues` None: every queue (and agent)."""

    queues: frozenset[str] | None
    groups: frozenset[str] = frozenset()

    def sees_queue(self, queue_id: str) -> bool:
        return self.queues is None or not queue_id or queue_id in self.queues

    def sees_alert(self, alert: Alert) -> bool:
        return self.sees_queue(alert.queue_id)

    def sees_agent(self, groups: Iterable[str]) -> bool:
        return self.queues is None or bool(self.groups & set(groups))


def sight(principal: Principal, queue_groups: Mapping[str, Iterable[str]]) -> Sight:
    """What `principal` sees, given each queue's groups."""
    if principal.role in _EVERYTHING:
        return Sight(None)
    if principal.role is not Role.SUPERVISOR:
        raise PermissionDenied(f"the floor and its alerts are for supervisors; a {principal.role} token cannot "
                               "see them")
    mine = frozenset(principal.groups) - {""}
    seen = frozenset(queue for queue, groups in queue_groups.items()
                     if not set(groups) or mine & set(groups))
    return Sight(seen, mine)


def check_alert(seen: Sight, alert: Alert) -> Alert:
    if not seen.sees_alert(alert):
        raise PermissionDenied(f"alert {alert.id} is about queue {alert.queue_id}, which is not one of your groups'")
    return alert
