"""The routing service's own policy in the fast mode: `omni.routing.domain.engine` on the virtual clock.

The scenario maps onto the engine as a contact center would configure it: one engine queue per
business queue, skill and channel (its own service-level target), requiring that skill and
served by the group of agents who have it;
agents with their skills (proficiency), languages and per-channel capacity; contacts as work
with language, intent, VIP, urgency, emotion and the customer's last agent (affinity). The
engine decides everything else — priorities, eligibility, agent choice, wait estimates,
callbacks and overflow — exactly as in production. Its clock reads the simulator's time.

Two places where the simulator fills in for people:
- Offers are accepted at once (simulated agents always answer), so an offer is an assignment.
- Capacity is blended, as the fast mode accounts it for every strategy: a chat of an agent
  taking two uses half of them, so an agent on an email (capacity 1) takes no chat at the same
  time. The engine itself lets chats and emails run side by side; `BlendedAgent` narrows that
  so both strategies get the same agent time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import Policy, QueueConfig, Ring
from omni.routing.domain.transfers import TransferReason
from omni.routing.domain.work import Work, WorkState
from omni.runtime.channels import Channel
from omni.simulator.fast import handle_estimates
from omni.simulator.scenario import Intent, Scenario
from omni.simulator.strategies import Admission
from omni.simulator.traffic import Contact, SimAgent

_EPSILON = 1e-9
# Urgent and angry contacts wait this long for a supervisor (as the demo's complaints queue).
SUPERVISOR_WAIT = 30.0
BOT = "simulator-bot"
# The last ring of the queues only supervisors serve: any other agent (one queue per channel).
OVERFLOW = "overflow"


@dataclasses.dataclass
class BlendedAgent(Agent):
    """An agent whose channels share one capacity (see the module docstring)."""

    def used(self) -> float:
        return sum(1.0 / self.capacity[channel] for channel in self.holding.values())

    def can_take(self, channel: Channel) -> bool:
        capacity = self.capacity.get(channel, 0)
        return self.ready and capacity > 0 and self.used() + 1.0 / capacity <= 1.0 + _EPSILON

    def load(self) -> float:
        return min(1.0, self.used())


def queue_id(queue: str, skill: str, channel: str, skills_of_queue: dict[str, set[str]]) -> str:
    """The engine queue of a business queue, skill and channel ("billing/phone"; the skill is in
    the name only when the business queue spans several)."""
    return f"{queue}/{channel}" if len(skills_of_queue[queue]) == 1 else f"{queue}/{skill}/{channel}"


class RoutingPolicyStrategy:
    name = "routing"

    def __init__(self, scenario: Scenario) -> None:
        self._epoch = dt.datetime.combine(scenario.start_date, dt.time(), tzinfo=dt.UTC).timestamp()
        self._now = 0.0
        self.engine = RoutingEngine(clock=lambda: self._epoch + self._now)
        self._skills_of_queue: dict[str, set[str]] = {}
        for intent in scenario.intents:
            self._skills_of_queue.setdefault(intent.queue, set()).add(intent.skill)
        self._contacts: dict[str, Contact] = {}
        self._pending: list[tuple[Contact, str]] = []

    @classmethod
    def for_scenario(cls, scenario: Scenario) -> RoutingPolicyStrategy:
        strategy = cls(scenario)
        strategy._configure(scenario)
        return strategy

    def _configure(self, scenario: Scenario) -> None:
        targets = scenario.targets
        handle = handle_estimates(scenario)
        mean_wrap_up = sum(t.wrap_up.mean * t.count for t in scenario.teams) / sum(t.count for t in scenario.teams)
        for (queue, skill, channel), intents in self._engine_queues(scenario).items():
            percent, seconds = targets.service_level[channel]
            supervised = any(t.supervisor and skill in t.skills for t in scenario.teams)
            supervised_only = all(t.supervisor for t in scenario.teams if skill in t.skills)
            target = seconds
            self.engine.put_queue(QueueConfig(
                id=queue_id(queue, skill, channel, self._skills_of_queue),
                intents=tuple(i.name for i in intents),
                groups=(skill,),
                service_level_percent=percent * 100,
                service_level_seconds=int(seconds),
                # Served earliest deadline first: the channel's target, the VIP target.
                policy=Policy(required_skills=(skill,), vip_wait_target=targets.vip_target_seconds,
                              # Bullseye: the proficient first, wider after a quarter and half the target.
                              rings=(Ring(0, 4), Ring(target / 4, 2), Ring(target / 2, 1)),
                              wait_target=target,
                              # Where only supervisors have the skill (complaints), everyone
                              # else is the last ring once the target ran out.
                              overflow_queue=f"{OVERFLOW}/{channel}" if supervised_only else "",
                              overflow_after=target if supervised_only else 0.0,
                              supervisor_wait=SUPERVISOR_WAIT if supervised else 0.0),
                callback_threshold=targets.callback_threshold,
                overflow_threshold=targets.overflow_threshold,
                simple_intents=tuple(i.name for i in intents if i.simple),
                # The scenario's bot answers every channel (`customers.bot_resolution`).
                voice_bot=True,
                # The engine learns the handle time (accept to wrap-up done); this is its first guess.
                expected_handle_time=handle[(queue, channel)] + mean_wrap_up,
            ))

        everyone = tuple(sorted({skill for t in scenario.teams if not t.supervisor for skill in t.skills}))
        for channel, (percent, seconds) in targets.service_level.items():
            self.engine.put_queue(QueueConfig(
                id=f"{OVERFLOW}/{channel}", groups=everyone, service_level_percent=percent * 100,
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
            self.engine.put_agent(BlendedAgent(
                id=agent.id, display_name=agent.id, groups=tuple(team.skills), skills=dict(team.skills),
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
            queue_id=queue_id(contact.queue, contact.intent.skill, contact.channel, self._skills_of_queue),
            channel=Channel(contact.channel), customer_id=contact.customer_id, language=contact.language,
            intent=contact.intent.name, vip=contact.vip, urgent=contact.urgent, emotion_score=contact.emotion,
            preferred_agent_id=contact.preferred_agent))
        if work.state is WorkState.OVERFLOWED_TO_BOT:
            # The simulator plays the bot (and draws whether it helped); the engine's bot line empties.
            self.engine.take_bot_work(BOT, [work.queue_id])
            self.engine.complete_bot_work(work.id, resolved=True, reason="simulated self-service")
            self.engine.drain()
            del self._contacts[contact.id]
            return Admission(overflow=True)
        estimate = work.estimated_wait
        callback = (work.state is WorkState.WAITING and work.channel is Channel.PHONE
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

    def transfer(self, contact: Contact, agent_id: str, now: float) -> None:
        self._now = now
        # Back to the contact's own queue (from the overflow ring too), never to the agent.
        work = self.engine.get(contact.id)
        home = queue_id(contact.queue, contact.intent.skill, contact.channel, self._skills_of_queue)
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
        deadline = self.engine.next_deadline()
        return None if deadline is None else deadline - self._epoch

    def wake(self, now: float) -> None:
        self._now = now
        self.engine.tick()
        self._take_offers()

    def _take_offers(self) -> None:
        """Simulated agents accept every offer at once."""
        for notice in self.engine.drain().notices:
            if notice.kind == "work_offered" and notice.work is not None:
                work = self.engine.accept(notice.agent_id, notice.work.id)
                self._pending.append((self._contacts[work.id], notice.agent_id))
        self.engine.drain()  # the acceptances' own notices: nobody listens in the simulator

