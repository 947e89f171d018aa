"""Routing strategies the fast mode can drive, and the FIFO ACD baseline.

A strategy owns its view of queues and agents. The simulator tells it what happened
(arrivals, hang-ups, agents logging in/out, work finished) on the virtual clock and asks it
which waiting contacts go to which agents now. The baseline is what a classic ACD does: one
FIFO line per business queue, the longest-idle agent who has the queue's skill at any level,
no priorities, no language matching, no callbacks, no overflow.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from typing import Protocol

from omni.simulator.traffic import Contact, SimAgent

# Capacity arithmetic: a chat of an agent taking 2 weighs 0.5.
_EPSILON = 1e-9


@dataclasses.dataclass(frozen=True, slots=True)
class Admission:
    """What the strategy decided when a contact arrived."""

    # Wait announced to the customer (seconds), None when the strategy announces nothing.
    estimated_wait: float | None = None
    callback_offered: bool = False
    # Sent to the self-service bot instead of a human queue.
    overflow: bool = False


class Strategy(Protocol):
    name: str

    def login(self, agent: SimAgent, now: float) -> None: ...

    def logout(self, agent_id: str, now: float) -> None:
        """No new work for the agent; work in hand continues."""

    def arrive(self, contact: Contact, now: float) -> Admission: ...

    def abandon(self, contact_id: str, now: float) -> None: ...

    def schedule_callback(self, contact_id: str, now: float) -> None:
        """The customer hung up to be called back; their place is kept and they will not abandon."""

    def call_finished(self, contact_id: str, attempt: int, reached: bool, now: float) -> bool:
        """Call `attempt` of the callback the agent holds reached the customer or not (the agent is
        free again then); whether the callback goes on (reached, or another call will come)."""

    def transfer(self, contact: Contact, agent_id: str, now: float) -> None:
        """The agent could not help and hands the contact back for a better-suited agent."""

    def release(self, agent_id: str, contact_id: str, now: float) -> None:
        """The agent finished the contact (after wrap-up)."""

    def dispatch(self, now: float) -> list[tuple[Contact, str]]:
        """Assignments to make now: (contact, agent id); each is final (the agent takes it)."""

    def next_wakeup(self) -> float | None:
        """When the strategy next has something to do with no event prompting it (a hold on
        waiting work ends, ...), in simulation seconds; None when nothing is due."""

    def wake(self, now: float) -> None:
        """The time from `next_wakeup` has come."""


def weight(agent: SimAgent, channel: str) -> float:
    """Share of an agent's capacity one contact on `channel` takes (inf when they cannot take it)."""
    capacity = agent.team.channels.get(channel, 0)
    return 1.0 / capacity if capacity else math.inf


@dataclasses.dataclass(slots=True, eq=False)
class _AgentSlot:
    agent: SimAgent
    load: float = 0.0
    idle_since: float = 0.0
    logged_in: bool = True


class FifoAcd:
    """The classic ACD baseline (see the module docstring)."""

    name = "fifo"

    def __init__(self, handle_estimates: dict[tuple[str, str], float]) -> None:
        # (queue, channel) -> handle seconds the ACD assumes for its wait announcement; it learns
        # the real average as contacts complete.
        self._aht = dict(handle_estimates)
        self._waiting: dict[tuple[str, str], deque[Contact]] = {}
        self._gone: set[str] = set()
        self._slots: dict[str, _AgentSlot] = {}
        # queue -> agents serving it; the skill of the queue comes from the contacts' intents.
        self._pool: dict[str, list[_AgentSlot]] = {}
        self._skill_of_queue: dict[str, str] = {}
        self._pending: list[tuple[Contact, str]] = []
        # Waiting contacts by id -> their line, and how many in each line are still there.
        self._where: dict[str, tuple[str, str]] = {}
        self._live: dict[tuple[str, str], int] = {}
        self._started: dict[str, tuple[float, tuple[str, str]]] = {}

    def login(self, agent: SimAgent, now: float) -> None:
        slot = self._slots.get(agent.id)
        if slot is not None:  # back for another shift, possibly still finishing the last one
            slot.logged_in = True
        else:
            slot = self._slots[agent.id] = _AgentSlot(agent, idle_since=now)
            for queue, skill in self._skill_of_queue.items():
                if skill in agent.team.skills:
                    self._pool.setdefault(queue, []).append(slot)
        self._offer_work(slot, now)

    def logout(self, agent_id: str, now: float) -> None:
        self._slots[agent_id].logged_in = False

    def _serving(self, queue: str, skill: str) -> list[_AgentSlot]:
        if queue not in self._skill_of_queue:
            self._skill_of_queue[queue] = skill
            self._pool[queue] = [s for s in self._slots.values() if skill in s.agent.team.skills]
        return self._pool[queue]

    def arrive(self, contact: Contact, now: float) -> Admission:
        key = (contact.queue, contact.channel)
        pool = self._serving(contact.queue, contact.intent.skill)
        ahead = self._live.get(key, 0)
        if not ahead and (slot := self._free_agent(pool, contact.channel)) is not None:
            self._assign(contact, slot, now)
            return Admission(estimated_wait=0.0)
        serving = sum(1 for s in pool if s.logged_in and contact.channel in s.agent.team.channels)
        self._enqueue(contact)
        return Admission(estimated_wait=(ahead + 1) * self._aht.get(key, 300.0) / max(serving, 1))

    def transfer(self, contact: Contact, agent_id: str, now: float) -> None:
        self.release(agent_id, contact.id, now)
        pool = self._serving(contact.queue, contact.intent.skill)
        if not self._live.get((contact.queue, contact.channel)) and (
                slot := self._free_agent(pool, contact.channel)) is not None:
            self._assign(contact, slot, now)
        else:
            self._enqueue(contact)

    def abandon(self, contact_id: str, now: float) -> None:
        key = self._where.pop(contact_id, None)
        if key is not None:
            self._gone.add(contact_id)
            self._live[key] -= 1

    def schedule_callback(self, contact_id: str, now: float) -> None:
        raise NotImplementedError("the FIFO ACD does not offer callbacks")

    def call_finished(self, contact_id: str, attempt: int, reached: bool, now: float) -> bool:
        raise NotImplementedError("the FIFO ACD does not offer callbacks")

    def release(self, agent_id: str, contact_id: str, now: float) -> None:
        slot = self._slots[agent_id]
        started, key = self._started.pop(contact_id)
        # Running average of handle time, for the next wait announcements.
        self._aht[key] = 0.95 * self._aht.get(key, now - started) + 0.05 * (now - started)
        slot.load = max(0.0, slot.load - weight(slot.agent, key[1]))
        if slot.load <= _EPSILON:
            slot.idle_since = now
        self._offer_work(slot, now)

    def _enqueue(self, contact: Contact) -> None:
        key = (contact.queue, contact.channel)
        self._waiting.setdefault(key, deque()).append(contact)
        self._where[contact.id] = key
        self._live[key] = self._live.get(key, 0) + 1

    def dispatch(self, now: float) -> list[tuple[Contact, str]]:
        pending, self._pending = self._pending, []
        return pending

    def next_wakeup(self) -> float | None:
        return None  # a FIFO line only moves when a contact or an agent does

    def wake(self, now: float) -> None:
        raise AssertionError("the FIFO ACD never asks to be woken")

    def _free_agent(self, pool: list[_AgentSlot], channel: str) -> _AgentSlot | None:
        best: _AgentSlot | None = None
        for slot in pool:
            if slot.logged_in and slot.load + weight(slot.agent, channel) <= 1 + _EPSILON and (
                best is None or (slot.load, slot.idle_since) < (best.load, best.idle_since)
            ):
                best = slot
        return best

    def _assign(self, contact: Contact, slot: _AgentSlot, now: float) -> None:
        slot.load += weight(slot.agent, contact.channel)
        self._started[contact.id] = (now, (contact.queue, contact.channel))
        self._pending.append((contact, slot.agent.id))

    def _offer_work(self, slot: _AgentSlot, now: float) -> None:
        """A freed agent takes the longest-waiting contact among the lines they serve."""
        if not slot.logged_in:
            return
        while True:
            oldest: deque[Contact] | None = None
            for (queue, channel), line in self._waiting.items():
                if self._skill_of_queue.get(queue) not in slot.agent.team.skills:
                    continue
                if slot.load + weight(slot.agent, channel) > 1 + _EPSILON:
                    continue
                while line and line[0].id in self._gone:
                    self._gone.discard(line.popleft().id)
                if line and (oldest is None or line[0].arrival < oldest[0].arrival):
                    oldest = line
            if oldest is None:
                return
            contact = oldest.popleft()
            key = self._where.pop(contact.id)
            self._live[key] -= 1
            self._assign(contact, slot, now)
