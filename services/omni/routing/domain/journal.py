"""The change journal: what happened since the caller last drained the engine.

Notices become events and desktop pushes; the changed work and agents are what the service
writes to storage. Each notice carries a snapshot, so later changes do not rewrite history.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.work import Work


class Notice(NamedTuple):
    """Something that happened. `kind` is a WorkEvent type (work_queued, work_offered, …) or
    "offer_revoked" / "agent_state_changed" (desktop only). A named tuple: several are made per
    routing decision, and a frozen dataclass takes twice as long to build."""

    kind: str
    work: Work | None = None
    agent: Agent | None = None
    agent_id: str = ""
    reason: str = ""
    disposition: str = ""
    previous_status: AgentStatus | None = None
    # callback_sms_requested: not before this time (0: at once).
    at: float = 0.0


@dataclasses.dataclass
class Changes:
    notices: list[Notice]
    work: list[Work]
    agents: list[Agent]


class Journal:
    def __init__(self) -> None:
        self._notices: list[Notice] = []
        self._work: dict[str, Work] = {}
        self._agents: dict[str, Agent] = {}

    def notify(self, kind: str, work: Work, *, agent_id: str = "", reason: str = "", disposition: str = "",
               at: float = 0.0) -> Work:
        """Record the notice; returns the work as the notice carries it."""
        self._work[work.id] = work
        snapshot = work.snapshot()
        self._notices.append(Notice(kind, snapshot, agent_id=agent_id, reason=reason, disposition=disposition, at=at))
        return snapshot

    def changed(self, work: Work) -> None:
        self._work[work.id] = work

    def touched(self, agent: Agent) -> None:
        self._agents[agent.id] = agent

    def agent_changed(self, agent: Agent, previous: AgentStatus) -> None:
        self._agents[agent.id] = agent
        if agent.status is not previous:
            self._notices.append(Notice("agent_state_changed", agent=agent.snapshot(), agent_id=agent.id,
                                        reason=agent.status_reason, previous_status=previous))

    def drain(self) -> Changes:
        """Hand over what happened since the last drain (to persist and publish)."""
        if not (self._notices or self._work or self._agents):
            return Changes([], [], [])  # the simulator drains after every step, mostly nothing
        changes = Changes(self._notices, list(self._work.values()),
                          [self._agents[a] for a in sorted(self._agents)])
        self._notices, self._work, self._agents = [], {}, {}
        return changes
