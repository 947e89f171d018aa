"""Traffic from a scenario: who contacts us when, about what, how patient, how long it takes.

Arrivals are a Poisson process per (intent, channel) whose rate follows the scenario's
time-of-day profile (piecewise constant per hour). Every draw comes from one seeded
`random.Random`, so a seed reproduces the day exactly.
"""

from __future__ import annotations

import dataclasses
import math
import random

from omni.simulator.scenario import AgentTeam, Distribution, Intent, Scenario

ANGRY_EMOTION = 8


@dataclasses.dataclass(slots=True, eq=False)
class Contact:
    """One contact in flight; the simulator and the strategies share it."""

    id: str
    customer_id: str
    matter_id: str
    channel: str
    intent: Intent
    language: str
    vip: bool
    urgent: bool
    emotion: int
    # Simulation seconds (0 = midnight of the first day).
    arrival: float
    # Seconds the customer holds before giving up (inf: never).
    patience: float
    # Handle time with a fully proficient agent.
    handle: float
    follow_up: bool = False
    # The agent who last helped this customer ("" when nobody has).
    preferred_agent: str = ""
    transfers: int = 0

    @property
    def queue(self) -> str:
        return self.intent.queue

    @property
    def angry(self) -> bool:
        return self.emotion >= ANGRY_EMOTION


@dataclasses.dataclass(slots=True, frozen=True)
class CustomerProfile:
    vip: bool
    language: str


@dataclasses.dataclass(slots=True, eq=False)
class SimAgent:
    id: str
    team: AgentTeam


def draw(rng: random.Random, dist: Distribution) -> float:
    """One duration from `dist` with `rng`."""
    if dist.kind == "fixed":
        return dist.mean
    if dist.kind == "exponential":
        return rng.expovariate(1.0 / dist.mean)
    sigma2 = math.log1p(dist.cv * dist.cv)
    return rng.lognormvariate(math.log(dist.mean) - sigma2 / 2, math.sqrt(sigma2))


class Traffic:
    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        self.scenario = scenario
        self.rng = random.Random(scenario.seed if seed is None else seed)
        self._customers: dict[str, CustomerProfile] = {}
        self._last_agent: dict[str, str] = {}
        self._serial = 0
        languages = scenario.customers.languages
        self._language_names = list(languages)
        self._language_weights = list(languages.values())

    def sample(self, dist: Distribution) -> float:
        return draw(self.rng, dist)

    def agents(self) -> list[SimAgent]:
        return [SimAgent(f"{team.name}-{n + 1:03d}", team) for team in self.scenario.teams for n in range(team.count)]

    def arrivals(self, day: int) -> list[Contact]:
        """Every first contact of day `day` (0-based), in arrival order."""
        scenario = self.scenario
        offset = day * 86_400.0
        segments = self._hour_segments()
        weight_total = sum(w * (end - start) for start, end, w in segments)
        contacts: list[Contact] = []
        for intent in scenario.intents:
            for channel, volume in intent.volume.items():
                for start, end, weight in segments:
                    rate = volume * weight / weight_total  # contacts per second in this segment
                    if rate <= 0:
                        continue
                    t = start + self.rng.expovariate(rate)
                    while t < end:
                        contacts.append(self.new_contact(intent, channel, offset + t))
                        t += self.rng.expovariate(rate)
        contacts.sort(key=lambda c: c.arrival)
        return contacts

    def _hour_segments(self) -> list[tuple[float, float, float]]:
        scenario = self.scenario
        segments = []
        t = scenario.open_seconds
        while t < scenario.close_seconds:
            hour = int(t // 3600)
            end = min(scenario.close_seconds, (hour + 1) * 3600.0)
            segments.append((t, end, scenario.profile.get(hour, 1.0)))
            t = end
        return segments

    def customer(self, customer_id: str) -> CustomerProfile:
        profile = self._customers.get(customer_id)
        if profile is None:
            mix = self.scenario.customers
            profile = CustomerProfile(
                vip=self.rng.random() < mix.vip_share,
                language=self.rng.choices(self._language_names, self._language_weights)[0],
            )
            self._customers[customer_id] = profile
        return profile

    def new_contact(self, intent: Intent, channel: str, arrival: float, *, customer_id: str = "",
                    matter_id: str = "") -> Contact:
        mix = self.scenario.customers
        self._serial += 1
        contact_id = f"C{self._serial:07d}"
        if not customer_id:
            customer_id = f"CU{self.rng.randrange(mix.population):06d}"
        profile = self.customer(customer_id)
        angry = self.rng.random() < mix.angry_share
        patience_dist = mix.patience.get(channel)
        return Contact(
            id=contact_id,
            customer_id=customer_id,
            matter_id=matter_id or f"M-{contact_id}",
            channel=channel,
            intent=intent,
            language=profile.language,
            vip=profile.vip,
            urgent=self.rng.random() < mix.urgent_share,
            emotion=self.rng.randint(ANGRY_EMOTION, 10) if angry else self.rng.randint(0, 5),
            arrival=arrival,
            patience=self.sample(patience_dist) if patience_dist else math.inf,
            handle=self.sample(intent.handle[channel]),
            follow_up=bool(matter_id),
            preferred_agent=self._last_agent.get(customer_id, ""),
        )

    def follow_up(self, contact: Contact, now: float) -> Contact:
        """The same customer comes back about the same matter, maybe on another channel."""
        mix = self.scenario.customers
        channel = contact.channel
        others = [c for c in contact.intent.volume if c != channel]
        if others and self.rng.random() < mix.channel_switch:
            channel = self.rng.choice(others)
        return self.new_contact(contact.intent, channel, now + self.sample(mix.repeat_delay),
                                customer_id=contact.customer_id, matter_id=contact.matter_id)

    def remember_agent(self, customer_id: str, agent_id: str) -> None:
        self._last_agent[customer_id] = agent_id
