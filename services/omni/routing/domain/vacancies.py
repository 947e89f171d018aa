"""Vacancies: the agents with room for new work, kept in the order routing chooses among them.

New work goes to the best eligible agent of its queue (`policy.choose_agent`). On a floor of a
thousand, asking each agent of the queue costs more than everything else routing does: most are
busy, and most free ones cannot take this work (skill level, language). So the agents of a pool
(queues with the same groups and required skills have the same agents, equally skilled) are
filed in buckets of agents alike for routing — the channel they have room on, their level in
the pool's skills, their languages, supervisor or not, idle or holding work — each bucket in
the chooser's own order: idle agents longest idle first, agents holding work least loaded
first, then the most proficient. The first eligible agent of a bucket is its best, so the
chooser compares only those heads (and the work's preferred agent), and gets the agent it would
have chosen among all.

Filed lazily: the engine marks an agent changed (presence, held work, capacity) and a pool
files its changed agents again when work of one of its queues is next routed; a change of
queues or agent profiles drops the pools, rebuilt when next needed.
"""

from __future__ import annotations

from sortedcontainers import SortedList

from omni.routing.domain import policy
from omni.routing.domain.agents import Agent
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.roster import Roster
from omni.routing.domain.work import Work
from omni.runtime.channels import Channel

# Agents alike for routing: level in the pool's skills, languages, supervisor, holding work.
Bucket = tuple[int, tuple[str, ...], bool, bool]
# The chooser's order within a bucket: (idle since, or load when holding work; -proficiency; id).
Key = tuple[float, int, str]
PoolKey = tuple[tuple[str, ...], tuple[str, ...]]

# Reasons `policy.ineligible` gives that hold for every agent of a bucket alike (the work's
# preferred agent aside, who is looked at on their own): the rest of the bucket is not asked.
_BUCKET_WIDE = frozenset({"missing_skill", "outside_ring", "language_mismatch", "callback_not_due",
                          "affinity_hold", "supervisor_hold"})


class _Pool:
    def __init__(self, agent_ids: frozenset[str], required: tuple[str, ...]) -> None:
        self.agent_ids = agent_ids
        self.required = required
        self.buckets: dict[Channel, dict[Bucket, SortedList[Key]]] = {channel: {} for channel in Channel}
        # Where each agent is filed: (channel, bucket, key) per channel with room.
        self.filed: dict[str, list[tuple[Channel, Bucket, Key]]] = {}
        self.changed: set[str] = set(agent_ids)

    def refile(self, roster: Roster) -> None:
        for agent_id in self.changed:
            for channel, bucket, key in self.filed.pop(agent_id, ()):
                keys = self.buckets[channel][bucket]
                keys.remove(key)
                if not keys:
                    del self.buckets[channel][bucket]
            agent = roster.find_agent(agent_id)
            if agent is None:
                continue
            rooms = [channel for channel in agent.capacity if agent.can_take(channel)]
            if not rooms:
                continue
            holding = bool(agent.holding)
            bucket = (agent.level(self.required), agent.languages, agent.supervisor, holding)
            # Idle agents all have load 0 and holding ones the same "idle since" (now) in the
            # chooser's key: what is left of it orders the bucket.
            key = (agent.load() if holding else agent.idle_since, -agent.proficiency(self.required), agent_id)
            filed = self.filed[agent_id] = []
            for channel in rooms:
                by_bucket = self.buckets[channel]
                keys = by_bucket.get(bucket)
                if keys is None:
                    keys = by_bucket[bucket] = SortedList()
                keys.add(key)
                filed.append((channel, bucket, key))
        self.changed.clear()


class Vacancies:
    def __init__(self, roster: Roster) -> None:
        self._roster = roster
        self._pools: dict[PoolKey, _Pool] = {}
        self._pools_of: dict[str, list[_Pool]] = {}

    def forget(self) -> None:
        """Queues or agent profiles changed: the pools are built again when next needed."""
        self._pools.clear()
        self._pools_of.clear()

    def changed(self, agent: Agent) -> None:
        """`agent`'s presence, held work or capacity changed."""
        for pool in self._pools_of.get(agent.id, ()):
            pool.changed.add(agent.id)

    def candidates(self, queue: QueueConfig, work: Work, now: float, preferred: Agent | None) -> list[Agent]:
        """Agents of `queue` among whom `policy.choose_agent` picks the same agent as among all
        of them: the first eligible agent of each bucket with room on the work's channel, and
        the preferred agent."""
        pool = self._pool(queue)
        pool.refile(self._roster)
        buckets = pool.buckets[work.channel]
        find = self._roster.agent
        if work.accessibility:
            # Agents trained for the customer's needs go first, which no bucket order knows.
            return [find(key[2]) for keys in buckets.values() for key in keys]
        found = [preferred] if preferred is not None and preferred.id in pool.agent_ids else []
        for keys in buckets.values():
            for key in keys:
                agent = find(key[2])
                why = policy.ineligible(agent, work, queue, now, preferred)
                if not why:
                    found.append(agent)
                    break
                if why in _BUCKET_WIDE:
                    break
        return found

    def _pool(self, queue: QueueConfig) -> _Pool:
        key = (tuple(sorted(set(queue.groups))), queue.policy.required_skills)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool(self._roster.agent_ids_of(queue), queue.policy.required_skills)
            for agent_id in pool.agent_ids:
                self._pools_of.setdefault(agent_id, []).append(pool)
        return pool
