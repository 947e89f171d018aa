"""How many routing decisions per second, and how fast is one, with a realistic backlog?

1,000 agents (each in 3 of 50 groups, some English- or Chinese-only, a tenth supervisors),
10,000 waiting calls across 50 queues (5 % VIP, some urgent, mixed languages). Steady state:
an agent finishes a call, the engine picks their next call (priority with aging, skills,
language, affinity, supervisor holds), the agent accepts, a new call arrives so the backlog
stays at 10,000. One decision = complete + choose + offer, timed per call. The same loop runs
a plain FIFO ACD (oldest call of the agent's queues, no policy) in the same process.

The estimated wait told to callers is measured by bench/wait_estimate.py.

    .venv/bin/python bench/routing_decisions.py [--decisions 20000] [--seed 7]
        [--waiting 10000 [--waiting 100000]]

By default the backlog is 10,000 and then 100,000 waiting (a decision must not slow down with the
backlog: lines are sorted lists with O(log n) join, leave and place); the last line states the
headline against the targets.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import random
import time
from collections.abc import Callable

from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import Policy, QueueConfig
from omni.routing.domain.work import Work
from omni.runtime.channels import Channel

QUEUES, AGENTS, WAITING = 50, 1000, 10_000
# Issue 18's targets: decisions/s and p99 at 10,000 waiting, and the share of that rate kept at 100,000.
TARGET_RATE, TARGET_P99, TARGET_KEPT = 25_000, 200e-6, 0.8


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def make_call(rng: random.Random, n: int) -> Work:
    return Work(id=f"W-{n}", queue_id=f"q{rng.randrange(QUEUES):02}", channel=Channel.PHONE,
                vip=rng.random() < 0.05, urgent=rng.random() < 0.01,
                language=rng.choice(("en", "zh", "zh", "")),
                preferred_agent_id=f"A-{rng.randrange(AGENTS)}" if rng.random() < 0.1 else "")


def engine_run(decisions: int, seed: int, waiting: int) -> list[float]:
    rng = random.Random(seed)
    clock = Clock()
    engine = RoutingEngine(clock)
    for q in range(QUEUES):
        engine.put_queue(QueueConfig(id=f"q{q:02}", groups=(f"q{q:02}",),
                                     policy=Policy(escalate_to_supervisor=q % 5 == 0, affinity_wait=20)))
    for a in range(AGENTS):
        groups = tuple(f"q{g:02}" for g in rng.sample(range(QUEUES), 3))
        languages = rng.choice((("en", "zh"), ("en", "zh"), ("en",), ("zh",)))
        engine.put_agent(Agent(id=f"A-{a}", groups=groups, languages=languages, supervisor=a % 10 == 0,
                               capacity={Channel.PHONE: 1}))
    n = 0
    for n in range(waiting + AGENTS):
        engine.enqueue(make_call(rng, n))
    for a in range(AGENTS):
        engine.set_agent_status(f"A-{a}", AgentStatus.AVAILABLE)
        for work_id in list(engine.agent(f"A-{a}").offered):
            engine.accept(f"A-{a}", work_id)
    engine.drain()
    busy = [a for a in engine.agents() if a.holding]
    latencies: list[float] = []
    for _ in range(decisions):
        clock.now += 0.05
        agent = rng.choice(busy)
        (work_id,) = agent.holding
        started = time.perf_counter()
        engine.complete(agent.id, work_id, "done")
        latencies.append(time.perf_counter() - started)
        for offered in list(agent.offered):
            engine.accept(agent.id, offered)
        n += 1
        engine.enqueue(make_call(rng, n))
        # The service hands over (persists and publishes) what changed after every change.
        engine.drain()
    return latencies


def fifo_run(decisions: int, seed: int, waiting: int) -> list[float]:
    """A plain ACD: per-queue FIFO lines; a free agent takes the oldest call of their queues."""
    rng = random.Random(seed)
    lines: dict[str, collections.deque[tuple[int, str]]] = {f"q{q:02}": collections.deque() for q in range(QUEUES)}
    groups = {f"A-{a}": [f"q{g:02}" for g in rng.sample(range(QUEUES), 3)] for a in range(AGENTS)}
    holding: dict[str, str] = {}
    n = 0
    for n in range(waiting + AGENTS):
        call = make_call(rng, n)
        lines[call.queue_id].append((n, call.id))

    def take(agent_id: str) -> None:
        heads = [(lines[q][0][0], q) for q in groups[agent_id] if lines[q]]
        if heads:
            holding[agent_id] = lines[min(heads)[1]].popleft()[1]

    for agent_id in groups:
        take(agent_id)
    busy = list(holding)
    latencies: list[float] = []
    for _ in range(decisions):
        agent_id = rng.choice(busy)
        started = time.perf_counter()
        holding.pop(agent_id, None)
        take(agent_id)
        latencies.append(time.perf_counter() - started)
        n += 1
        call = make_call(rng, n)
        lines[call.queue_id].append((n, call.id))
    return latencies


def report(name: str, latencies: list[float]) -> float:
    """Print the run's figures; its decisions per second."""
    rate = len(latencies) / sum(latencies)
    print(f"  {name:<28} {rate:>12,.0f} decisions/s   p50 {percentile(latencies, 50) * 1e6:8.1f} µs"
          f"   p99 {percentile(latencies, 99) * 1e6:8.1f} µs")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--waiting", type=int, action="append",
                        help=f"backlog of waiting calls (default {WAITING:,}); repeat to compare sizes")
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs")
    runs: list[tuple[str, Callable[[int, int, int], list[float]]]] = [
        ("routing engine (policy)", engine_run), ("plain FIFO baseline", fifo_run)]
    headline: list[tuple[int, float, float]] = []
    for waiting in args.waiting or [WAITING, 10 * WAITING]:
        print(f"{AGENTS} agents, {waiting:,} waiting across {QUEUES} queues, {args.decisions} decisions each:")
        for name, run in runs:
            latencies = run(args.decisions, args.seed, waiting)
            rate = report(name, latencies)
            if run is engine_run:
                headline.append((waiting, rate, percentile(latencies, 99)))
    (first, rate, p99), *more = headline
    kept = "".join(f"; {w:,} waiting: {r:,.0f}/s = {r / rate:.2f}×" for w, r, _ in more)
    print(f"routing decisions: {rate:,.0f}/s, p99 {p99 * 1e3:.3f} ms at {first:,} waiting{kept} "
          f"(plain FIFO alongside above); target ≥ {TARGET_RATE:,}/s, p99 ≤ {TARGET_P99 * 1e3:.1f} ms, "
          f"≥ {TARGET_KEPT}× at 10× the backlog")


if __name__ == "__main__":
    main()
