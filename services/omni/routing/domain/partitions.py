"""Partitions: the units in which routing is split across replicas.

Every decision for a queue touches only the queue's own work and the agents who serve it, and
agents connect queues through their groups. So the queues that share agents (a component of
the graph of queues and agents, joined by groups) form a partition: one replica decides for it
alone and never needs another's state. An agent belongs to exactly one partition (the one of
the queues of its groups); an agent whose groups name no queue belongs to the partition of
its first group, a queue without groups (served by nobody) is a partition of its own.

A partition is named after its smallest group (`g:<group>`), so adding a queue or an agent of
known groups keeps the name; a queue or agent without groups is a partition of its own
(`q:<id>`, `a:<id>`). Which replica owns it is decided by rendezvous hashing
over the live replicas, bounded to a fair share each (`assignment`), so a replica that joins
takes about 1/N of the partitions and a replica that leaves gives only its own away.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence


@dataclasses.dataclass(frozen=True)
class Member:
    """What the layout needs of a queue or an agent: its id and groups."""

    id: str
    groups: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Layout:
    """Which partition each queue and agent belongs to."""

    queues: dict[str, str]
    agents: dict[str, str]
    groups: dict[str, str] = dataclasses.field(default_factory=dict)

    def partitions(self) -> set[str]:
        return set(self.queues.values()) | set(self.agents.values())

    def members(self, partition: str) -> tuple[frozenset[str], frozenset[str]]:
        """The queue ids and agent ids of `partition`."""
        return (frozenset(q for q, p in self.queues.items() if p == partition),
                frozenset(a for a, p in self.agents.items() if p == partition))

    def of_queue(self, queue_id: str) -> str | None:
        return self.queues.get(queue_id)

    def of_agent(self, agent_id: str) -> str | None:
        return self.agents.get(agent_id)

    def of_groups(self, groups: Iterable[str]) -> set[str]:
        """The partitions a new queue or agent of these groups would join (none: a new one;
        several: it would merge them)."""
        return {self.groups[g] for g in groups if g in self.groups}

    def with_queue(self, queue_id: str, partition: str, groups: Iterable[str]) -> Layout:
        """This layout after a queue of `groups` (all in `partition` or new) joined `partition`."""
        return Layout({**self.queues, queue_id: partition}, self.agents,
                      {**self.groups, **dict.fromkeys(groups, partition)})

    def with_agent(self, agent_id: str, partition: str, groups: Iterable[str]) -> Layout:
        return Layout(self.queues, {**self.agents, agent_id: partition},
                      {**self.groups, **dict.fromkeys(groups, partition)})

    def moved(self, earlier: Layout, partition: str) -> bool:
        """True when a queue or agent known to both layouts moved into or out of `partition`
        (a merge, a split, a rename): its owner must load it afresh. A queue or agent only added
        to it is added in place."""
        for mine, theirs in ((self.queues, earlier.queues), (self.agents, earlier.agents)):
            for member, now in mine.items():
                before = theirs.get(member)
                if before is not None and (before == partition) != (now == partition):
                    return True
        return False

    def keeping(self, earlier: Layout) -> Layout:
        """This layout (read from storage) plus the queues and agents `earlier` has that it lacks
        yet (added here a moment ago, their write still under way)."""
        return Layout({**{q: p for q, p in earlier.queues.items() if q not in self.queues}, **self.queues},
                      {**{a: p for a, p in earlier.agents.items() if a not in self.agents}, **self.agents},
                      {**earlier.groups, **self.groups})


def layout_of(queues: Iterable[Member], agents: Iterable[Member]) -> Layout:
    queues, agents = list(queues), list(agents)
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(nodes: Sequence[str]) -> None:
        find(nodes[0])  # a queue or agent without groups is a component of its own
        for node in nodes[1:]:
            a, b = find(nodes[0]), find(node)
            if a != b:
                parent[max(a, b)] = min(a, b)

    for queue in queues:
        join([f"q:{queue.id}", *(f"g:{g}" for g in queue.groups)])
    for agent in agents:
        join([f"a:{agent.id}", *(f"g:{g}" for g in agent.groups)])
    # Each component is named after its smallest group (else its queue or agent alone).
    names: dict[str, str] = {}
    for node in sorted(parent, key=_naming_order):
        names.setdefault(find(node), node)
    return Layout(queues={q.id: names[find(f"q:{q.id}")] for q in queues},
                  agents={a.id: names[find(f"a:{a.id}")] for a in agents},
                  groups={n[2:]: names[find(n)] for n in parent if n.startswith("g:")})


def _naming_order(node: str) -> tuple[int, str]:
    """Groups name their component first, then queues, then agents."""
    return ("gqa".index(node[0]), node[2:])


def assignment(partitions: Iterable[str], replicas: Iterable[str]) -> dict[str, str]:
    """Partition -> the replica that should own it: each partition, in name order, goes to the
    replica with the highest hash of (partition, replica) among those not yet at their fair
    share (ceil(partitions / replicas)). Every replica computes the same from the same inputs;
    a replica joining or leaving moves about its share and little else."""
    names, alive = sorted(set(partitions)), sorted(set(replicas))
    if not alive:
        return {}
    share = -(-len(names) // len(alive))
    load = dict.fromkeys(alive, 0)
    owners = {}
    for partition in names:
        ranked = sorted(alive, key=lambda replica: _weight(partition, replica), reverse=True)
        owner = next(r for r in ranked if load[r] < share)
        load[owner] += 1
        owners[partition] = owner
    return owners


def _weight(partition: str, replica: str) -> bytes:
    return hashlib.blake2b(f"{partition}\0{replica}".encode(), digest_size=8).digest()
