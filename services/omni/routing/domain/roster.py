"""The roster: the queues and agents routing knows, and who serves which queue.

An agent serves the queues that share a group with them; both directions are indexed, since
routing asks "who may take this queue's work" and "which queues may this agent take from" on
every decision.
"""

from __future__ import annotations

from collections.abc import Iterator

from omni.routing.domain.agents import Agent
from omni.routing.domain.queues import QueueConfig
from omni.runtime.errors import NotFound


class Roster:
    def __init__(self) -> None:
        self._queues: dict[str, QueueConfig] = {}
        self._agents: dict[str, Agent] = {}
        self._group_agents: dict[str, set[str]] = {}
        self._group_queues: dict[str, set[str]] = {}
        # Who serves which queue, asked on every decision; forgotten when a queue or agent changes.
        self._served_by: dict[str, frozenset[str]] = {}
        self._serves: dict[str, frozenset[str]] = {}

    def put_queue(self, queue: QueueConfig) -> QueueConfig | None:
        """Add or replace a queue's configuration; the configuration it replaced, if any."""
        old = self._queues.get(queue.id)
        self._queues[queue.id] = queue
        self._served_by.clear()
        self._serves.clear()
        if old is not None:
            for group in old.groups:
                self._group_queues.get(group, set()).discard(queue.id)
        for group in queue.groups:
            self._group_queues.setdefault(group, set()).add(queue.id)
        return old

    def put_agent(self, agent: Agent) -> Agent:
        """Add an agent, or replace the profile of a known one (presence and work are kept)."""
        current = self._agents.get(agent.id)
        self._served_by.clear()
        self._serves.clear()
        if current is None:
            current = agent
            self._agents[agent.id] = agent
        else:
            for group in current.groups:
                self._group_agents.get(group, set()).discard(agent.id)
            current.display_name = agent.display_name
            current.groups = agent.groups
            current.skills = dict(agent.skills)
            current.languages = agent.languages
            current.capacity = dict(agent.capacity)
            current.supervisor = agent.supervisor
            current.version += 1
        for group in current.groups:
            self._group_agents.setdefault(group, set()).add(agent.id)
        return current

    def agent(self, agent_id: str) -> Agent:
        found = self._agents.get(agent_id)
        if found is None:
            raise NotFound(f"agent {agent_id} does not exist; create it first")
        return found

    def find_agent(self, agent_id: str) -> Agent | None:
        return self._agents.get(agent_id)

    def queue(self, queue_id: str) -> QueueConfig:
        found = self._queues.get(queue_id)
        if found is None:
            raise NotFound(f"queue {queue_id!r} does not exist; known queues: {', '.join(sorted(self._queues))}")
        return found

    def find_queue(self, queue_id: str) -> QueueConfig | None:
        return self._queues.get(queue_id)

    def agents(self) -> Iterator[Agent]:
        """In the order they were added."""
        return iter(self._agents.values())

    def queues(self) -> Iterator[QueueConfig]:
        """In the order they were added."""
        return iter(self._queues.values())

    def agent_ids_of(self, queue: QueueConfig) -> frozenset[str]:
        """The agents who serve `queue` (share a group with it)."""
        ids = self._served_by.get(queue.id)
        if ids is None:
            ids = self._served_by[queue.id] = frozenset().union(
                *(self._group_agents.get(group, ()) for group in queue.groups))
        return ids

    def agents_of(self, queue: QueueConfig) -> Iterator[Agent]:
        agents = self._agents
        return (agents[a] for a in self.agent_ids_of(queue))

    def queue_ids_of(self, agent: Agent) -> frozenset[str]:
        """The queues `agent` serves."""
        ids = self._serves.get(agent.id)
        if ids is None:
            ids = self._serves[agent.id] = frozenset().union(
                *(self._group_queues.get(group, ()) for group in agent.groups))
        return ids
