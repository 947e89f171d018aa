"""New work goes to the agent the policy would choose among every agent of its queue, though the
engine asks only the heads of its vacancy buckets (domain/vacancies.py)."""

from __future__ import annotations

import random

import pytest

from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import Policy, QueueConfig, Ring
from omni.routing.domain.transfers import TransferReason
from omni.routing.domain.work import Work, WorkState
from omni.runtime.channels import Channel
from omni.runtime.errors import FailedPrecondition
from tests.routing.conftest import Clock

SKILLS = ("billing", "support")
CHANNELS = (Channel.PHONE, Channel.CHAT, Channel.EMAIL)


def floor(clock: Clock, rng: random.Random) -> RoutingEngine:
    engine = RoutingEngine(clock)
    for skill in SKILLS:
        for channel in CHANNELS:
            engine.put_queue(QueueConfig(
                id=f"{skill}/{channel}", groups=(skill,), intents=("complaint",) if skill == "support" else (),
                policy=Policy(required_skills=(skill,), rings=(Ring(0, 4), Ring(5, 2), Ring(10, 1)),
                              supervisor_wait=4, affinity_wait=6, offer_timeout=8)))
    for n in range(24):
        skills = {s: rng.randint(1, 5) for s in SKILLS} | ({"accessibility:hearing": 1} if n % 5 == 0 else {})
        engine.put_agent(Agent(
            id=f"A-{n:02}", groups=SKILLS, skills=skills, languages=rng.choice((("en",), ("zh",), ("en", "zh"))),
            supervisor=n % 6 == 0,
            capacity={Channel.PHONE: 0 if n % 7 == 3 else 1, Channel.CHAT: rng.choice((1, 2, 3)), Channel.EMAIL: 1}))
        engine.set_agent_status(f"A-{n:02}", AgentStatus.AVAILABLE)
    return engine


def day(clock: Clock, engine: RoutingEngine, rng: random.Random) -> list[tuple[str, str, str]]:
    """A random stretch of arrivals, answers, rejections, breaks, transfers and time passing;
    every decision made, in order."""
    decisions: list[tuple[str, str, str]] = []
    agents = [a.id for a in engine.agents()]
    for n in range(700):
        clock.now += rng.choice((0.0, 0.5, 1.0, 3.0))
        roll = rng.random()
        live = list(engine.live())
        try:
            if roll < 0.35:
                channel = rng.choice(CHANNELS)
                engine.enqueue(Work(
                    id=f"W-{n}", queue_id=f"{rng.choice(SKILLS)}/{channel}", channel=channel,
                    language=rng.choice(("en", "zh", "")), vip=rng.random() < 0.1, urgent=rng.random() < 0.1,
                    preferred_agent_id=rng.choice(agents) if rng.random() < 0.2 else "",
                    accessibility=("hearing",) if rng.random() < 0.05 else ()))
            elif roll < 0.55 and live:
                work = rng.choice(live)
                if work.state is WorkState.OFFERED:
                    if rng.random() < 0.8:
                        engine.accept(work.offered_agent_id, work.id)
                    else:
                        engine.reject(work.offered_agent_id, work.id)
                elif work.state is WorkState.ASSIGNED:
                    if rng.random() < 0.1:
                        engine.transfer(work.id, TransferReason.NEEDS_SKILL, "",
                                        target_queue_id=f"{rng.choice(SKILLS)}/{work.channel}")
                    else:
                        engine.complete(work.assigned_agent_id, work.id)
            elif roll < 0.62:
                engine.set_agent_status(rng.choice(agents), rng.choice((AgentStatus.BREAK, AgentStatus.AVAILABLE,
                                                                        AgentStatus.AVAILABLE)))
            elif roll < 0.66 and live:
                work = rng.choice(live)
                if work.state is not WorkState.ASSIGNED:
                    engine.abandon(work.id)
            else:
                engine.tick()
        except FailedPrecondition:
            pass  # a transfer back where the work came from: refused alike in both engines
        decisions += [(notice.kind, notice.work.id if notice.work else "", notice.agent_id)
                      for notice in engine.drain().notices]
    return decisions


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vacancy_buckets_choose_the_agent_every_agent_asked_would(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    clock, reference_clock = Clock(), Clock()
    engine = floor(clock, random.Random(seed))
    reference = floor(reference_clock, random.Random(seed))

    def every_agent(queue: QueueConfig, work: Work, now: float, preferred: Agent | None) -> list[Agent]:
        return [a for a in reference.agents() if set(a.groups) & set(queue.groups)]

    monkeypatch.setattr(reference._vacancies, "candidates", every_agent)
    decisions = day(clock, engine, random.Random(seed * 31))
    assert decisions == day(reference_clock, reference, random.Random(seed * 31))
    offers = [d for d in decisions if d[0] == "work_offered"]
    assert len(offers) > 100  # the stretch did route plenty
