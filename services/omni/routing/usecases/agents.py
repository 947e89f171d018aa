"""Agents: their profiles, who may see them, and presence set by hand."""

from __future__ import annotations

from collections.abc import Callable

from omni.routing.domain import access
from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.usecases.engine_room import EngineRoom
from omni.runtime.auth import Principal
from omni.runtime.errors import AlreadyExists
from omni.runtime.paging import Page, PageRequest, page_of
from omni.runtime.validation import check_version


class AgentUseCases:
    def __init__(self, room: EngineRoom) -> None:
        self._room = room

    async def create(self, agent: Agent) -> Agent:
        async with self._room.change() as engine:
            if engine.has_agent(agent.id):
                raise AlreadyExists(f"agent {agent.id} exists; use UpdateAgent to change it")
            return engine.put_agent(agent)

    def get(self, principal: Principal, agent_id: str) -> Agent:
        return access.check_agent(principal, self._room.engine.agent(agent_id))

    def visible(self, principal: Principal, group: str, status: AgentStatus | None, page: PageRequest) -> Page[Agent]:
        """The agents the caller may see, of `group` and in `status` when given, by id."""
        agents = [a for a in self._room.engine.agents() if (not group or group in a.groups)
                  and (status is None or a.status is status) and access.may_see_agent(principal, a)]
        return page_of(agents, lambda a: (a.id,), page)

    async def update(self, agent_id: str, version: int, merge: Callable[[Agent], Agent]) -> Agent:
        """Replace the profile by `merge(current)`, if `version` (0: unchecked) is still current."""
        async with self._room.change() as engine:
            current = engine.agent(agent_id)
            check_version(f"agent {current.id}", current.version, version)
            return engine.put_agent(merge(current))

    async def set_state(self, principal: Principal, agent_id: str, status: AgentStatus, reason: str) -> Agent:
        access.check_acting_as(principal, agent_id)
        return await self._room.run(lambda engine: engine.set_agent_status(agent_id, status, reason))
