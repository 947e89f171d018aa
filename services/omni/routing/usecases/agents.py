"""Agents: their profiles, who may see them, and presence set by hand.

An agent is served by the replica owning their partition; one whose groups join no partition
yet (or several) is written directly and the replicas re-read the layout."""

from __future__ import annotations

from collections.abc import Callable

from omni.routing.domain import access
from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.repository import RoutingRepository
from omni.routing.usecases.engine_room import EngineRoom
from omni.routing.usecases.ownership import Ownership
from omni.runtime.auth import Principal
from omni.runtime.errors import AlreadyExists
from omni.runtime.paging import Page, PageRequest, page_of
from omni.runtime.validation import check_version


class AgentUseCases:
    def __init__(self, room: EngineRoom, repository: RoutingRepository, layout: Ownership) -> None:
        self._room = room
        self._repository = repository
        self._layout = layout

    async def create(self, agent: Agent) -> Agent:
        claims = self._room.claims
        if claims.layout.of_agent(agent.id) is not None or await self._repository.agents([agent.id]):
            raise AlreadyExists(f"agent {agent.id} exists; use UpdateAgent to change it")
        joins = claims.layout.of_groups(agent.groups)
        if len(joins) != 1:
            # A partition of its own, or one merging several: every replica re-reads the layout.
            await self._repository.create_agent(agent)
            await self._layout.layout_changed()
            return agent
        partition = joins.pop()
        claims.serve(partition, f"agent {agent.id}'s groups")
        async with self._room.change() as engine:
            if engine.has_agent(agent.id):
                raise AlreadyExists(f"agent {agent.id} exists; use UpdateAgent to change it")
            claims.layout = claims.layout.with_agent(agent.id, partition, agent.groups)
            created = engine.put_agent(agent)
        await self._layout.layout_changed()
        return created

    def get(self, principal: Principal, agent_id: str) -> Agent:
        self._room.claims.serve_agent(agent_id)
        return access.check_agent(principal, self._room.engine.agent(agent_id))

    async def visible(self, principal: Principal, group: str, status: AgentStatus | None,
                      page: PageRequest) -> Page[Agent]:
        """The agents the caller may see, of `group` and in `status` when given, by id (from
        storage when other replicas own some of them)."""
        known = (self._room.engine.agents() if self._room.claims.holds_all() else await self._repository.agents())
        agents = sorted((a for a in known if (not group or group in a.groups)
                         and (status is None or a.status is status) and access.may_see_agent(principal, a)),
                        key=lambda a: a.id)
        return page_of(agents, lambda a: (a.id,), page)

    async def update(self, agent_id: str, version: int, merge: Callable[[Agent], Agent]) -> Agent:
        """Replace the profile by `merge(current)`, if `version` (0: unchecked) is still current."""
        self._room.claims.serve_agent(agent_id)
        async with self._room.change() as engine:
            current = engine.agent(agent_id)
            check_version(f"agent {current.id}", current.version, version)
            groups = current.groups
            updated = engine.put_agent(merge(current))
        if updated.groups != groups:
            await self._layout.layout_changed()
        return updated

    async def set_state(self, principal: Principal, agent_id: str, status: AgentStatus, reason: str) -> Agent:
        access.check_acting_as(principal, agent_id)
        self._room.claims.serve_agent(agent_id)
        return await self._room.run(lambda engine: engine.set_agent_status(agent_id, status, reason))
