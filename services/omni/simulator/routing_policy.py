"""The routing service's own policy in the fast mode: `omni.routing.domain.engine` on the virtual clock.

The scenario maps onto the engine as a contact center would configure it: one engine queue per
business queue, skill and channel (its own service-level target), requiring that skill and
served by the group of agents who have it;
agents with their skills (proficiency), languages and per-channel capacity; contacts as work
with language, intent, VIP, urgency, emotion and the customer's last agent (affinity). The
engine decides everything else — priorities, eligibility, agent choice, wait estimates,
callbacks and overflow — exactly as in production. Its clock reads the simulator's time.

Where the simulator fills in for people, it plays them as the scenario's `offers` say: an agent
accepts an offer after a drawn delay, or never (the share `no_answer`), and then the engine's own
offer timeout takes it back and offers it to someone else (RONA), putting an agent who missed too
many in a row on break, from which the simulated agent returns after `back_after_break`. Capacity
is the engine's: each channel up to the agent's limit for it, side by side, as routing enforces
it. The self-service bot takes what the engine overflows to it, except what the live bot hands
straight back to a person (`omni.worker.domain.answering.before_search`: every call).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import itertools
import random
from collections.abc import Sequence

from omni.routing.domain import callbacks
from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.best_time import AnswerRates, CallCounts, hour_of_week, segment_of
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import Policy, QueueConfig, Ring
from omni.routing.domain.transfers import TransferReason
from omni.routing.domain.work import Work, WorkState
from omni.runtime.channels import Channel
from omni.simulator import live_config
from omni.simulator.fast import handle_estimates
from omni.simulator.scenario import Intent, Scenario
from omni.simulator.strategies import Admission
from omni.simulator.traffic import Contact, SimAgent, draw
from omni.worker.domain.answering import before_search
from omnichannel.routing.v1 import routing_pb2

# Urgent and angry contacts wait this long for a supervisor (as the demo's complaints queue).
SUPERVISOR_WAIT = 30.0
BOT = "simulator-bot"
# What the simulated customer asks the bot: the simulator has no text, only the contact's facts.
ANY_QUESTION = "a question the knowledge base may answer"
# The last ring of the queues only supervisors serve: any other agent (one queue per channel).
OVERFLOW = "overflow"
# The group of a scenario's VIP desk (`vip_desk` teams), and the channels whose VIP work goes to
# a VIP queue served by it beside the queue's own agents: those where the customer is holding
# (an e-mail's VIP target is met by ranking alone).
VIP_DESK = "vip-desk"
VIP_DESK_CHANNELS = ("phone", "chat")


def queue_id(queue: str, skill: str, channel: str, skills_of_queue: dict[str, set[str]]) -> str:
    """The engine queue of a business queue, skill and channel ("billing/phone"; the skill is in
    the name only when the business queue spans several)."""
    return f"{queue}/{channel}" if len(skills_of_queue[queue]) == 1 else f"{queue}/{skill}/{channel}"


def attempt_policy(scenario: Scenario) -> AttemptPolicy:
    """The scenario's callback attempts, no call starting while the center is closed."""
    outbound = scenario.outbound
    opens, closes = (f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}"
                     for s in (scenario.open_seconds, scenario.close_seconds))
    quiet = f"{closes}-{opens}" if scenario.close_seconds < 86_400 and closes != opens else ""
    return AttemptPolicy(outbound.retry_delays, outbound.max_attempts, quiet, sms_attempts=(),
                         best_time_window=outbound.best_time_window)


class RoutingPolicyStrategy:
    name = "routing"

    def __init__(self, scenario: Scenario, *, offer_callbacks: bool = True) -> None:
        """`offer_callbacks` False: callers are never offered a callback (to measure what the
        offers change on the same traffic)."""
        self._epoch = dt.datetime.combine(scenario.start_date, dt.time(), tzinfo=dt.UTC).timestamp()
        self._now = 0.0
        self.engine = RoutingEngine(clock=lambda: self._epoch + self._now)
        self._skills_of_queue: dict[str, set[str]] = {}
        for intent in scenario.intents:
            self._skills_of_queue.setdefault(intent.queue, set()).add(intent.skill)
        self._contacts: dict[str, Contact] = {}
        self._pending: list[tuple[Contact, str]] = []
        self._offers = scenario.offers
        # Its own generator: how agents answer does not shift the customers' draws.
        self._rng = random.Random(f"{scenario.seed}:offers")
        # Offers to accept later: (when, serial, agent, work, the work's offer attempt).
        self._answering: list[tuple[float, int, str, str, int]] = []
        # Agents back from a RONA break: (when, agent).
        self._breaks: list[tuple[float, str]] = []
        self._serial = itertools.count()
        # The live configuration's agents by id (`for_configuration`); None: mapped from the scenario.
        self._configured: dict[str, Agent] | None = None
        self._offer_callbacks = offer_callbacks
        self._attempts = attempt_policy(scenario)
        # Call outcomes per customer and segment, as routing keeps them (the best time to call).
        self._customer_calls: dict[str, CallCounts] = {}
        self._segment_calls: dict[str, CallCounts] = {}

    @classmethod
    def for_scenario(cls, scenario: Scenario, *, offer_callbacks: bool = True) -> RoutingPolicyStrategy:
        strategy = cls(scenario, offer_callbacks=offer_callbacks)
        strategy._configure(scenario)
        return strategy

    @classmethod
    def for_configuration(cls, scenario: Scenario, queues: Sequence[routing_pb2.Queue],
                          agents: Sequence[routing_pb2.Agent]) -> RoutingPolicyStrategy:
        """The live stack's queues and agents, as routing's API takes them (`live_config`): each
        contact goes to the queue its intent names, each team is one configured agent."""
        strategy = cls(scenario)
        for queue in live_config.engine_queues(queues):
            strategy.engine.put_queue(queue)
        strategy._configured = live_config.engine_agents(agents)
        return strategy

    def _queue_of(self, contact: Contact) -> str:
        if self._configured is not None:
            return contact.queue
        return queue_id(contact.queue, contact.intent.skill, contact.channel, self._skills_of_queue)

    def _configure(self, scenario: Scenario) -> None:
        targets = scenario.targets
        handle = handle_estimates(scenario)
        mean_wrap_up = sum(t.wrap_up.mean * t.count for t in scenario.teams) / sum(t.count for t in scenario.teams)
        for (queue, skill, channel), intents in self._engine_queues(scenario).items():
            percent, seconds = targets.service_level[channel]
            supervised = any(t.supervisor and skill in t.skills for t in scenario.teams)
            supervised_only = all(t.supervisor for t in scenario.teams if skill in t.skills and not t.vip_desk)
            desk = channel in VIP_DESK_CHANNELS and any(t.vip_desk and skill in t.skills for t in scenario.teams)
            target = min(seconds, targets.queue_wait_seconds.get(queue, seconds))
            engine_queue = queue_id(queue, skill, channel, self._skills_of_queue)
            config = QueueConfig(
                id=engine_queue,
                intents=tuple(i.name for i in intents),
                groups=(skill,),
                service_level_percent=percent * 100,
                service_level_seconds=int(seconds),
                # Served earliest deadline first: the channel's target, the VIP target.
                policy=Policy(required_skills=(skill,), vip_wait_target=targets.vip_target_seconds,
                              offer_timeout=scenario.offers.timeout,
                              # Bullseye: the proficient first, wider after a quarter and half the target.
                              rings=(Ring(0, 4), Ring(target / 4, 2), Ring(target / 2, 1)),
                              wait_target=target,
                              # Where only supervisors have the skill (complaints), everyone
                              # else is the last ring once a quarter of the target ran out
                              # (after all of it, complaint callers hung up more than others).
                              overflow_queue=f"{OVERFLOW}/{channel}" if supervised_only else "",
                              overflow_after=target / 4 if supervised_only else 0.0,
                              supervisor_wait=SUPERVISOR_WAIT if supervised else 0.0,
                              vip_queue=f"{engine_queue}/vip" if desk else ""),
                callback_threshold=targets.callback_threshold,
                overflow_threshold=targets.overflow_threshold,
                simple_intents=tuple(i.name for i in intents if i.simple),
                # The scenario's bot answers every channel (`customers.bot_resolution`).
                voice_bot=True,
                # The engine learns the handle time (accept to wrap-up done); this is its first guess.
                expected_handle_time=handle[(queue, channel)] + mean_wrap_up,
            )
            self.engine.put_queue(config)
            if desk:
                # The VIP queue: the same rules, served by the queue's agents and the VIP desk.
                self.engine.put_queue(dataclasses.replace(
                    config, id=config.policy.vip_queue, groups=(skill, VIP_DESK),
                    policy=dataclasses.replace(config.policy, vip_queue="")))

        everyone = tuple(sorted({skill for t in scenario.teams if not (t.supervisor or t.vip_desk)
                                 for skill in t.skills}))
        for channel, (percent, seconds) in targets.service_level.items():
            self.engine.put_queue(QueueConfig(
                id=f"{OVERFLOW}/{channel}", groups=everyone, service_level_percent=percent * 100,
                policy=Policy(offer_timeout=scenario.offers.timeout),
                service_level_seconds=int(seconds), callback_threshold=targets.callback_threshold,
                expected_handle_time=max(handle.values()) + mean_wrap_up))

    @staticmethod
    def _engine_queues(scenario: Scenario) -> dict[tuple[str, str, str], list[Intent]]:
        queues: dict[tuple[str, str, str], list[Intent]] = {}
        for intent in scenario.intents:
            for channel in intent.volume:
                queues.setdefault((intent.queue, intent.skill, channel), []).append(intent)
        return queues

    # Strategy ------------------------------------------------------------------------------

    def login(self, agent: SimAgent, now: float) -> None:
        self._now = now
        if not self.engine.has_agent(agent.id):
            team = agent.team
            if self._configured is not None:
                self.engine.put_agent(dataclasses.replace(self._configured[team.name], id=agent.id))
            else:
                self.engine.put_agent(Agent(
                    id=agent.id, display_name=agent.id, groups=(VIP_DESK,) if team.vip_desk else tuple(team.skills),
                    skills=dict(team.skills),
                    languages=team.languages, capacity={Channel(c): n for c, n in team.channels.items()},
                    supervisor=team.supervisor))
        self.engine.set_agent_status(agent.id, AgentStatus.AVAILABLE, "shift start")
        self._take_offers()

    def logout(self, agent_id: str, now: float) -> None:
        self._now = now
        self.engine.set_agent_status(agent_id, AgentStatus.OFFLINE, "shift end")
        self._take_offers()

    def arrive(self, contact: Contact, now: float) -> Admission:
        self._now = now
        self._contacts[contact.id] = contact
        work = self.engine.enqueue(Work(
            id=contact.id,
            queue_id=self._queue_of(contact),
            channel=Channel(contact.channel), customer_id=contact.customer_id, language=contact.language,
            intent=contact.intent.name, vip=contact.vip, urgent=contact.urgent, emotion_score=contact.emotion,
            preferred_agent_id=contact.preferred_agent))
        estimate = work.estimated_wait
        if work.state is WorkState.OVERFLOWED_TO_BOT:
            # The simulator plays the bot (and draws whether it helped); the engine's bot line empties.
            self.engine.take_bot_work(BOT, [work.queue_id])
            # The live bot's own first rule: what it hands to a person before searching anything
            # (a call: it answers in writing only) goes back to the line at once, keeping its place.
            handoff = before_search(ANY_QUESTION, channel=work.channel, intent=work.intent, skills=())
            if handoff is not None:
                work = self.engine.complete_bot_work(work.id, resolved=False, reason=handoff.reason)
                # The customer hears the wait of the place it kept, as on arrival.
                estimate = self.engine.position(work.id).estimated_wait
            else:
                self.engine.complete_bot_work(work.id, resolved=True, reason="simulated self-service")
                self.engine.drain()
                del self._contacts[contact.id]
                return Admission(overflow=True)
        callback = (self._offer_callbacks and work.state is WorkState.WAITING and work.channel is Channel.PHONE
                    and self.engine.position(work.id).callback_offered)
        self._take_offers()
        return Admission(estimated_wait=estimate, callback_offered=callback)

    def abandon(self, contact_id: str, now: float) -> None:
        self._now = now
        self.engine.abandon(contact_id)
        del self._contacts[contact_id]
        self._take_offers()

    def schedule_callback(self, contact_id: str, now: float) -> None:
        self._now = now
        self.engine.schedule_callback(contact_id, number=self._contacts[contact_id].customer_id)
        self._take_offers()

    def call_finished(self, contact_id: str, attempt: int, reached: bool, now: float) -> bool:
        """As routing does with sessions' `outbound_call_finished`: the outcome joins the call
        history, and the engine counts the answer or books the next call (`callbacks.after_call`)."""
        self._now = now
        contact = self._contacts[contact_id]
        hour = hour_of_week(self._epoch + now, "UTC")
        own = self._customer_calls.setdefault(contact.customer_id, CallCounts())
        segment = self._segment_calls.setdefault(segment_of(contact.language, contact.vip), CallCounts())
        own.add(hour, reached)
        segment.add(hour, reached)
        callbacks.after_call(self.engine, contact_id, attempt, reached, "answered" if reached else "no_answer",
                             default=self._attempts, rates=None if reached else AnswerRates(own, segment))
        going_on = self.engine.live_work(contact_id) is not None
        if not going_on:
            del self._contacts[contact_id]
        self._take_offers()
        return going_on

    def transfer(self, contact: Contact, agent_id: str, now: float) -> None:
        self._now = now
        # Back to the contact's own queue (from the overflow ring too), never to the agent.
        work = self.engine.get(contact.id)
        home = self._queue_of(contact)
        self.engine.transfer(contact.id, TransferReason.NEEDS_SKILL, f"{agent_id} could not help",
                             target_queue_id=work.queue_id if home in work.transferred_from_queues else home)
        self._take_offers()

    def release(self, agent_id: str, contact_id: str, now: float) -> None:
        self._now = now
        self.engine.complete(agent_id, contact_id, "handled")
        del self._contacts[contact_id]
        self._take_offers()

    def dispatch(self, now: float) -> list[tuple[Contact, str]]:
        pending, self._pending = self._pending, []
        return pending

    def next_wakeup(self) -> float | None:
        # In the simulator's seconds: the engine's own deadline, the next answer, the next return
        # (asked after every event of the run: no lists built).
        deadline = self.engine.next_deadline()
        soonest = None if deadline is None else deadline - self._epoch
        for heap in (self._answering, self._breaks):
            if heap and (soonest is None or heap[0][0] < soonest):
                soonest = heap[0][0]
        return soonest

    def wake(self, now: float) -> None:
        self._now = now
        while self._answering and self._answering[0][0] <= now:
            _, _, agent_id, work_id, attempt = heapq.heappop(self._answering)
            self._accept(agent_id, work_id, attempt)
        while self._breaks and self._breaks[0][0] <= now:
            _, agent_id = heapq.heappop(self._breaks)
            if self.engine.agent(agent_id).status is AgentStatus.BREAK:
                self.engine.set_agent_status(agent_id, AgentStatus.AVAILABLE, "back from break")
        self.engine.tick()
        self._take_offers()

    def _take_offers(self) -> None:
        """Offers and RONA breaks the engine made: each offer answered as the scenario says."""
        while notices := self.engine.drain().notices:
            for notice in notices:
                if notice.kind == "work_offered" and notice.work is not None:
                    self._answer(notice.agent_id, notice.work)
                elif (notice.kind == "agent_state_changed" and notice.agent is not None
                      and notice.agent.status is AgentStatus.BREAK and notice.reason.startswith("rona")):
                    heapq.heappush(self._breaks, (self._now + self._offers.back_after_break, notice.agent_id))

    def _answer(self, agent_id: str, work: Work) -> None:
        offers = self._offers
        if offers.no_answer and self._rng.random() < offers.no_answer:
            return  # nobody at the desk: the engine's offer timeout takes it back
        if offers.answer is None:
            self._accept(agent_id, work.id, work.offer_attempts)
            return
        heapq.heappush(self._answering, (self._now + draw(self._rng, offers.answer), next(self._serial),
                                         agent_id, work.id, work.offer_attempts))

    def _accept(self, agent_id: str, work_id: str, attempt: int) -> None:
        """Accept the offer if it still stands (not timed out, withdrawn or abandoned meanwhile)."""
        work = self.engine.live_work(work_id)
        if (work is None or work.state is not WorkState.OFFERED or work.offered_agent_id != agent_id
                or work.offer_attempts != attempt):
            return
        self.engine.accept(agent_id, work_id)
        self._pending.append((self._contacts[work_id], agent_id))
