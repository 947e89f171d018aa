"""The live stack's routing configuration in the simulator: queues and agents as routing's API
takes them (`CreateQueue`, `CreateAgent`; the dev stack's demo is one such set,
`omni.devstack.demo.routing`), turned into the engine's own objects by routing's own conversion,
so the simulated engine runs with exactly what the service would run with.

A scenario run this way names the configured queue ids as its intents' queues and gets one agent
team per configured agent (`teams`); the engine queue of a contact is its queue, unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from omni.routing.convert import agent_from_proto, queue_from_proto
from omni.routing.domain.agents import Agent
from omni.routing.domain.queues import QueueConfig
from omni.simulator.scenario import AgentTeam, Distribution
from omnichannel.routing.v1 import routing_pb2


def engine_queues(queues: Sequence[routing_pb2.Queue]) -> list[QueueConfig]:
    return [queue_from_proto(queue) for queue in queues]


def engine_agents(agents: Sequence[routing_pb2.Agent]) -> dict[str, Agent]:
    """Configured agents by id, as routing holds them (logged out)."""
    return {agent.id: agent_from_proto(agent) for agent in agents}


def teams(agents: Sequence[routing_pb2.Agent], *, shift: tuple[float, float],
          wrap_up: Distribution) -> tuple[AgentTeam, ...]:
    """One team of one per configured agent (named by its id), with the agent's skills, languages,
    capacities and supervisor flag, so the simulator's service model judges the match on the same
    facts the engine routes on."""
    return tuple(
        AgentTeam(name=agent.id, count=1, skills=dict(agent.skills), languages=agent.languages,
                  channels={channel.value: n for channel, n in agent.capacity.items() if n},
                  shift_start=shift[0], shift_end=shift[1], supervisor=agent.supervisor, wrap_up=wrap_up)
        for agent in engine_agents(agents).values())
