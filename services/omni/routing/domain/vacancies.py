"""Vacancies: the agents with room for new work, kept in the order routing chooses among them.

New work goes to the best eligible agent of its queue (`policy.choose_agent`). On a floor of a
thousand, asking each agent of the queue costs more than everything else routing does: most are
busy, and most free ones cannot take this work (skill level, language). So the agents of a pool
(queues with the same groups and required skills have the same agents, equally skilled) are
filed in buckets of agents alike for routing — the channel they have room on, their level in
the pool's skills, their languages, supervisor or not, idle or holding work, taking calls or
not — each bucket in the chooser's own order: idle agents longest idle first, agents holding
work least loaded first, then the most proficient. The first eligible agent of a bucket is its best, so the
chooser compares only those heads (and the work's preferred agent), and gets the agent it would
have chosen among all.

Filed lazily: the engine marks an agent changed (presence, held work, capacity) and a pool
files its changed agents again when work of one of its queues is next routed; a change of
queues or agent profiles drops the pools, rebuilt when next needed.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

from omni.routing.domain import policy
from omni.routing.domain.agents import Agent
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.roster import Roster
from omni.routing.domain.work import Work
from omni.runtime.channels import Channel

# Agents alike for routing: level in the pool's skills, languages, supervisor, holding work, taking
# calls. Every part of `policy.choose_agent`'s key that is not in a bucket's order (below) must be
# the same for every agent of a bucket (tests/routing/test_vacancies.py checks the choices agree).
Bucket = tuple[int, tuple[str, ...], bool, bool, bool]
# The chooser's order within a bucket: (idle since, or load when holding work; -proficiency; id),
# and the agent (ids are unique: never compared).
Key = tuple[float, int, str, Agent]
PoolKey = tuple[tuple[str, ...], tuple[str, ...]]

# Reasons `policy.ineligible` gives that hold for every agent of a bucket alike (the work's
# preferred agent aside, who is looked at on their own): the rest of the bucket is not asked.
_BUCKET_WIDE = frozenset({"missing_skill", "outside_ring", "language_mismatch", "callback_not_due",
                          "affinity_hold", "supervisor_hold"})


# An agent as the buckets see it, whatever the pool: the channels with room, holding work, and
# the first part of their key (idle since, or load when holding work).
_Vacancy = tuple[tuple[Channel, ...], bool, float]


class _Pool:
    def __init__(self, agent_ids: frozenset[str], required: tuple[str, ...]) -> None:
        self.agent_ids = agent_ids
        self.required = required
        self.buckets: dict[Channel, dict[Bucket, list[Key]]] = {channel: {} for channel in Channel}
        # Where each agent is filed: (channel, bucket, key) per channel with room.
        self.filed: dict[str, list[tuple[Channel, Bucket, Key]]] = {}
        self.changed: set[str] = set(agent_ids)
        # Level and proficiency in the pool's skills: they change with the profile only.
        self._skill: dict[str, tuple[int, int]] = {}

    def refile(self, vacancy_of: Callable[[str], _Vacancy | None], roster: Roster) -> None:
        for agent_id in self.changed:
            vacancy = vacancy_of(agent_id)
            filed: list[tuple[Channel, Bucket, Key]] = []
            if vacancy is not None and vacancy[0]:
                rooms, holding, first = vacancy
                agent = roster.agent(agent_id)
                skill = self._skill.get(agent_id)
                if skill is None:
                    skill = self._skill[agent_id] = (agent.level(self.required), -agent.proficiency(self.required))
                bucket = (skill[0], agent.languages, agent.supervisor, holding,
                          agent.capacity.get(Channel.PHONE, 0) > 0)
                key = (first, skill[1], agent_id, agent)
                filed = [(channel, bucket, key) for channel in rooms]
            before = self.filed.get(agent_id, [])
            if filed == before:
                continue
            for channel, bucket, key in before:
                keys = self.buckets[channel][bucket]
                # Sorted lists: buckets are teams, a few hundred agents at most.
                del keys[bisect.bisect_left(keys, key)]
                if not keys:
                    del self.buckets[channel][bucket]
            for channel, bucket, key in filed:
                by_bucket = self.buckets[channel]
                bisect.insort(by_bucket.setdefault(bucket, []), key)
            self.filed[agent_id] = filed
        self.changed.clear()


class Vacancies:
    def __init__(self, roster: Roster) -> None:
        self._roster = roster
        self._pools: dict[PoolKey, _Pool] = {}
        self._pools_of: dict[str, list[_Pool]] = {}
        # Each agent's vacancy, worked out once per change for every pool.
        self._vacancies: dict[str, _Vacancy | None] = {}

    def forget(self) -> None:
        """Queues or agent profiles changed: the pools are built again when next needed."""
        self._pools.clear()
        self._pools_of.clear()
        self._vacancies.clear()

    def changed(self, agent: Agent) -> None:
        """`agent`'s presence, held work or capacity changed."""
        self._vacancies.pop(agent.id, None)
        for pool in self._pools_of.get(agent.id, ()):
            pool.changed.add(agent.id)

    def candidates(self, queue: QueueConfig, work: Work, now: float, preferred: Agent | None) -> list[Agent]:
        """Agents of `queue` among whom `policy.choose_agent` picks the same agent as among all
        of them: the first eligible agent of each bucket with room on the work's channel, and
        the preferred agent."""
        pool = self._pool(queue)
        pool.refile(self._vacancy, self._roster)
        buckets = pool.buckets[work.channel]
        if work.accessibility:
            # Agents trained for the customer's needs go first, which no bucket order knows.
            return [key[3] for keys in buckets.values() for key in keys]
        found = [preferred] if preferred is not None and preferred.id in pool.agent_ids else []
        for keys in buckets.values():
            for *_, agent in keys:
                # Filed under the channel: room was checked when the pool filed the agent.
                why = policy.ineligible(agent, work, queue, now, preferred, capacity=False)
                if not why:
                    found.append(agent)
                    break
                if why in _BUCKET_WIDE:
                    break
        return found

    def _vacancy(self, agent_id: str) -> _Vacancy | None:
        if agent_id in self._vacancies:
            return self._vacancies[agent_id]
        agent = self._roster.find_agent(agent_id)
        vacancy: _Vacancy | None = None
        if agent is not None:
            holding = bool(agent.holding)
            # Idle agents all have load 0 and those holding work the same "idle since" (now) in
            # the chooser's key: what is left of it orders a bucket.
            vacancy = (tuple(channel for channel in agent.capacity if agent.can_take(channel)), holding,
                       agent.load() if holding else agent.idle_since)
        self._vacancies[agent_id] = vacancy
        return vacancy

    def _pool(self, queue: QueueConfig) -> _Pool:
        key = (tuple(sorted(set(queue.groups))), queue.policy.required_skills)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool(self._roster.agent_ids_of(queue), queue.policy.required_skills)
            for agent_id in pool.agent_ids:
                self._pools_of.setdefault(agent_id, []).append(pool)
        return pool
