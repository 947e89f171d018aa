"""Fast mode: a discrete-event simulation of the contact center on SimPy's virtual clock.

Customers (from `traffic`) arrive, hold, hang up when their patience runs out, take callbacks
when offered, and come back when their matter was not resolved. Agents log in and out with
their shifts and handle contacts; how well depends on the match (`ServiceModel`). Which
contact goes to which agent is the strategy's business only, so the FIFO baseline and the
routing service's policy code run against exactly the same customers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import simpy

from omni.kpis.records import AgentRecord, ContactRecord
from omni.simulator.scenario import Scenario
from omni.simulator.strategies import Strategy, weight
from omni.simulator.traffic import Contact, SimAgent, Traffic, draw

# Work in hand when the last shift ends is finished; nothing new starts after this much.
_OVERTIME_SECONDS = 2 * 3600.0
MAX_TRANSFERS = 3


class ServiceModel:
    """How the agent-contact match changes what happens: transfers, handle time, resolution.

    The numbers are the simulator's assumptions (docs/kpis.md lists them): an agent who does not
    speak the customer's language nearly always transfers; without the skill, often; a
    proficient agent rarely, works faster and resolves more at the first contact.
    """

    @staticmethod
    def proficiency(contact: Contact, agent: SimAgent) -> int:
        return agent.team.skills.get(contact.intent.skill, 0)

    def transfer_probability(self, contact: Contact, agent: SimAgent) -> float:
        if contact.language not in agent.team.languages:
            return 0.85
        level = self.proficiency(contact, agent)
        if level == 0:
            return 0.6
        return 0.02 + 0.05 * (5 - level)

    def handle_factor(self, contact: Contact, agent: SimAgent) -> float:
        level = self.proficiency(contact, agent)
        return 1.5 if level == 0 else 1.0 + 0.1 * (5 - level)

    def resolution_probability(self, contact: Contact, agent: SimAgent) -> float:
        level = self.proficiency(contact, agent)
        chance = contact.intent.resolution * (0.5 if level == 0 else 0.6 + 0.08 * level)
        if contact.angry and not agent.team.supervisor:
            chance *= 0.8  # angry customers calm down more often with a supervisor
        return chance


@dataclasses.dataclass(slots=True)
class _AgentBook:
    """Occupancy bookkeeping of one agent for one day."""

    agent: SimAgent
    day: int
    login: float
    logout: float | None = None
    load: float = 0.0
    since: float = 0.0
    busy: float = 0.0
    handled: int = 0

    def change(self, now: float, delta: float) -> None:
        # An agent whose channels each have room (the routing engine lets a chat and an email run
        # side by side) is busy, not more than busy.
        self.busy += min(1.0, self.load) * (now - self.since)
        self.load = max(0.0, self.load + delta)
        self.since = now


@dataclasses.dataclass
class RunResult:
    scenario: str
    strategy: str
    seed: int
    contacts: list[ContactRecord]
    agents: list[AgentRecord]
    wall_seconds: float
    events: int


class FastSimulation:
    def __init__(self, scenario: Scenario, strategy: Strategy, *, seed: int | None = None,
                 model: ServiceModel | None = None, arrivals: Sequence[Contact] | None = None) -> None:
        """`arrivals`: the first contacts to replay (those a live run saw, say) instead of the
        scenario's drawn ones; a one-day scenario then only gives the agents and the rules."""
        self.scenario = scenario
        self._replayed = list(arrivals) if arrivals is not None else None
        self.strategy = strategy
        self.seed = scenario.seed if seed is None else seed
        self.traffic = Traffic(scenario, self.seed)
        # Behaviour draws apart from arrivals, so every strategy meets the same first contacts.
        self.rng = random.Random(self.seed * 7919 + 1)
        self.model = model or ServiceModel()
        self.env = simpy.Environment()
        self.epoch = dt.datetime.combine(scenario.start_date, dt.time(), tzinfo=dt.UTC).timestamp()
        self.records: dict[str, ContactRecord] = {}
        self.waiting: set[str] = set()
        self.books: dict[str, _AgentBook] = {}
        self.finished_books: list[_AgentBook] = []
        self.agents = {a.id: a for a in self.traffic.agents()}
        self.events = 0
        # The earliest wake-up the strategy has pending, so each deadline is scheduled once.
        self.alarm: float | None = None

    def at(self, when: float, action: Callable[..., None], *args: Any) -> None:
        def fire(_: simpy.Event) -> None:
            self.events += 1
            action(*args)
            self.flush()

        self.env.timeout(max(0.0, when - self.env.now)).callbacks.append(fire)

    def run(self) -> RunResult:
        started = time.perf_counter()
        scenario = self.scenario
        for day in range(scenario.days):
            offset = day * 86_400.0
            if self._replayed is not None:
                first = [c for c in self._replayed if c.arrival // 86_400.0 == day]
            else:
                first = self.traffic.arrivals(day)
            for contact in first:
                self.at(contact.arrival, self.arrive, contact)
            for agent in self.agents.values():
                self.at(offset + agent.team.shift_start, self.login, agent, day)
                self.at(offset + agent.team.shift_end, self.logout, agent)
        last = (scenario.days - 1) * 86_400.0 + max(
            max(t.shift_end for t in scenario.teams), scenario.close_seconds)
        self.env.run(until=last + _OVERTIME_SECONDS)
        for book in list(self.books.values()):
            self.close_book(book)
        return RunResult(
            scenario=scenario.name,
            strategy=self.strategy.name,
            seed=self.seed,
            contacts=sorted(self.records.values(), key=lambda r: r.arrived),
            agents=[self.agent_record(b) for b in self.finished_books],
            wall_seconds=time.perf_counter() - started,
            events=self.events,
        )

    # Agents -------------------------------------------------------------------------------

    def login(self, agent: SimAgent, day: int) -> None:
        now = self.env.now
        previous = self.books.get(agent.id)
        load = 0.0
        if previous is not None:
            load = previous.load  # work carried over from the last shift
            self.close_book(previous)
        self.books[agent.id] = _AgentBook(agent, day, login=now, since=now, load=load)
        self.strategy.login(agent, now)

    def logout(self, agent: SimAgent) -> None:
        self.books[agent.id].logout = self.env.now
        self.strategy.logout(agent.id, self.env.now)

    def close_book(self, book: _AgentBook) -> None:
        book.change(self.env.now, 0.0)
        self.finished_books.append(book)
        del self.books[book.agent.id]

    def agent_record(self, book: _AgentBook) -> AgentRecord:
        # Overtime to finish a contact counts as logged in.
        end = max(book.logout if book.logout is not None else self.env.now, book.since)
        return AgentRecord(
            agent_id=book.agent.id,
            team=book.agent.team.name,
            shift_start=self.epoch + book.login,
            logged_in_seconds=end - book.login,
            busy_seconds=book.busy,
            handled=book.handled,
        )

    # Customers ----------------------------------------------------------------------------

    def arrive(self, contact: Contact) -> None:
        now = self.env.now
        record = ContactRecord(
            contact_id=contact.id, customer_id=contact.customer_id, matter_id=contact.matter_id,
            channel=contact.channel, queue=contact.queue, intent=contact.intent.name,
            language=contact.language, vip=contact.vip, urgent=contact.urgent, emotion=contact.emotion,
            arrived=self.epoch + now, outcome="unanswered", follow_up=contact.follow_up,
        )
        self.records[contact.id] = record
        admission = self.strategy.arrive(contact, now)
        record.estimated_wait = admission.estimated_wait
        if admission.overflow:
            record.outcome = "overflowed"
            record.ended = record.arrived
            record.resolved = self.rng.random() < self.scenario.customers.bot_resolution
            if not record.resolved:
                self.come_back(contact)
            return
        self.waiting.add(contact.id)
        if admission.callback_offered and self.rng.random() < self.scenario.customers.callback_acceptance:
            record.callback = True
            self.strategy.schedule_callback(contact.id, now)
        elif math.isfinite(contact.patience):
            self.at(now + contact.patience, self.give_up, contact)

    def give_up(self, contact: Contact) -> None:
        if contact.id not in self.waiting or contact.transfers:
            return
        self.waiting.discard(contact.id)
        record = self.records[contact.id]
        record.outcome = "abandoned"
        record.ended = self.epoch + self.env.now
        self.strategy.abandon(contact.id, self.env.now)

    def flush(self) -> None:
        for contact, agent_id in self.strategy.dispatch(self.env.now):
            self.start(contact, self.agents[agent_id])
        wakeup = self.strategy.next_wakeup()
        if wakeup is not None and (self.alarm is None or wakeup < self.alarm):
            self.alarm = wakeup
            self.at(wakeup, self.wake)

    def wake(self) -> None:
        if self.alarm is not None and self.alarm <= self.env.now:
            self.alarm = None
        self.strategy.wake(self.env.now)

    def start(self, contact: Contact, agent: SimAgent) -> None:
        now = self.env.now
        self.waiting.discard(contact.id)
        record = self.records[contact.id]
        record.agent_id = agent.id
        self.books[agent.id].change(now, weight(agent, contact.channel))
        if record.callback and record.answered is None and not self.call_back(contact, agent, record):
            return
        if record.answered is None:
            record.answered = self.epoch + now
            record.outcome = "answered"
        model = self.model
        talk = contact.handle * model.handle_factor(contact, agent)
        if contact.transfers < MAX_TRANSFERS and self.rng.random() < model.transfer_probability(contact, agent):
            # The agent finds out a little into the contact that someone else must take it.
            self.at(now + 0.3 * talk, self.hand_over, contact, agent, 0.3 * talk)
        else:
            self.at(now + talk, self.finish, contact, agent, talk)

    def call_back(self, contact: Contact, agent: SimAgent, record: ContactRecord) -> bool:
        """The agent calls the customer back: whether they answer, by the chance of the hour.
        Nobody answering holds the agent while it rings; then the strategy decides the next call."""
        now = self.env.now
        outbound = self.scenario.outbound
        reached = self.rng.random() < outbound.answer_chance(int(now % 86_400.0 // 3600), contact.language)
        record.callback_attempts += 1
        record.calls.append((self.epoch + now, reached))
        if reached:
            record.callback_reached = True
            self.strategy.call_finished(contact.id, record.callback_attempts, True, now)
            return True
        self.at(now + draw(self.rng, outbound.ring), self.call_unanswered, contact, agent, record.callback_attempts)
        return False

    def call_unanswered(self, contact: Contact, agent: SimAgent, attempt: int) -> None:
        now = self.env.now
        self.books[agent.id].change(now, -weight(agent, contact.channel))
        if self.strategy.call_finished(contact.id, attempt, False, now):
            self.waiting.add(contact.id)  # for the next call
            return
        record = self.records[contact.id]
        record.callback_reached = False
        record.ended = self.epoch + now

    def hand_over(self, contact: Contact, agent: SimAgent, talk: float) -> None:
        now = self.env.now
        record = self.records[contact.id]
        record.handle_seconds += talk
        record.transfers += 1
        contact.transfers += 1
        self.books[agent.id].change(now, -weight(agent, contact.channel))
        self.waiting.add(contact.id)
        self.strategy.transfer(contact, agent.id, now)

    def finish(self, contact: Contact, agent: SimAgent, talk: float) -> None:
        now = self.env.now
        record = self.records[contact.id]
        record.handle_seconds += talk
        record.ended = self.epoch + now
        record.resolved = self.rng.random() < self.model.resolution_probability(contact, agent)
        self.traffic.remember_agent(contact.customer_id, agent.id)
        if not record.resolved:
            self.come_back(contact)
        wrap = self.traffic.sample(agent.team.wrap_up)
        self.at(now + wrap, self.release, contact, agent)

    def release(self, contact: Contact, agent: SimAgent) -> None:
        book = self.books.get(agent.id)
        if book is not None:
            book.change(self.env.now, -weight(agent, contact.channel))
            book.handled += 1
        self.strategy.release(agent.id, contact.id, self.env.now)

    def come_back(self, contact: Contact) -> None:
        """An unresolved matter brings the customer back later the same day, if we are still open."""
        follow_up = self.traffic.follow_up(contact, self.env.now)
        day_close = (follow_up.arrival // 86_400.0) * 86_400.0 + self.scenario.close_seconds
        if follow_up.arrival < day_close and follow_up.arrival // 86_400.0 == self.env.now // 86_400.0:
            self.at(follow_up.arrival, self.arrive, follow_up)


def handle_estimates(scenario: Scenario) -> dict[tuple[str, str], float]:
    """Mean handle time per (queue, channel) from the scenario: the ACD's starting assumption."""
    totals: dict[tuple[str, str], tuple[float, float]] = {}
    for intent in scenario.intents:
        for channel, volume in intent.volume.items():
            key = (intent.queue, channel)
            weighted, count = totals.get(key, (0.0, 0.0))
            totals[key] = (weighted + volume * intent.handle[channel].mean, count + volume)
    return {k: w / n for k, (w, n) in totals.items() if n}
