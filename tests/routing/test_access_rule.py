"""The work access rule is written once: the scope that checks one item in memory is the one the
repository turns into the finished-work query."""

from __future__ import annotations

import pytest

from omni.routing.domain.access import check_work, work_scope
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.work import Work
from omni.routing.repository import scope_filter
from omni.runtime.auth import Principal, Role
from omni.runtime.errors import PermissionDenied

QUEUES = [QueueConfig("billing", groups=("billing",)), QueueConfig("complaints", groups=("complaints",))]


def test_an_agent_sees_the_work_of_their_groups_queues_in_memory_and_in_the_query() -> None:
    agent = Principal("A-1", Role.AGENT, groups=("billing",))
    scope = work_scope(agent, QUEUES)
    assert scope.admits(Work("W-1", "billing")) and not scope.admits(Work("W-2", "complaints"))
    with pytest.raises(PermissionDenied, match="outside your groups"):
        check_work(agent, Work("W-2", "complaints"), scope)
    assert scope_filter(scope) == {"queue_id": {"$in": ["billing"]}}
    assert scope_filter(scope.within("billing")) == {"queue_id": {"$in": ["billing"]}}
    assert scope_filter(scope.within("complaints")) == {"queue_id": {"$in": []}}


def test_a_customer_sees_their_own_session_and_managers_everything() -> None:
    customer = Principal("C-1", Role.CUSTOMER, session_id="S-1")
    scope = work_scope(customer, QUEUES)
    assert scope.admits(Work("S-1", "billing", session_id="S-1"))
    assert not scope.admits(Work("S-2", "billing", session_id="S-2"))
    assert scope_filter(scope) == {"session_id": "S-1"}
    supervisor = work_scope(Principal("S-9", Role.SUPERVISOR), QUEUES)
    assert supervisor.admits(Work("W-2", "complaints")) and scope_filter(supervisor) == {}
    assert scope_filter(supervisor.within("complaints")) == {"queue_id": {"$in": ["complaints"]}}
