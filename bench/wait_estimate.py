"""How close is the wait a caller is told on arrival to the wait they then have?

One queue on a virtual clock: Poisson arrivals, agents who answer at once, handle times drawn
from a log-normal distribution (what real calls look like: most short, a long tail) with the
queue's true mean, or exponential ones (`--handle exponential`, Erlang C's own assumption).
Every caller is told the routing engine's estimate (`Work.estimated_wait`); the same run also
computes, for each caller, the plain reference place × true AHT ÷ agents, and a bound: the median
of `--samples` simulated futures drawn from the true distribution, given how long each current
call has already lasted (what an estimator that knew the true distribution and used the calls'
elapsed times could tell at best, up to sampling noise). It prints the distribution of
estimated − actual wait of all three.

    .venv/bin/python bench/wait_estimate.py [--calls 6000] [--agents 12] [--aht 180] [--load 0.92]
        [--sigma 1.0] [--handle lognormal|exponential] [--samples 100] [--seed 7]
"""

from __future__ import annotations

import argparse
import heapq
import math
import os
import platform
import random
import statistics
from collections.abc import Callable

from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.work import Work
from omni.runtime.channels import Channel


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def handle_times(kind: str, aht: float, sigma: float, rng: random.Random) -> Callable[[], float]:
    if kind == "exponential":
        return lambda: rng.expovariate(1 / aht)
    mu = math.log(aht) - sigma * sigma / 2  # so that the mean is `aht`
    return lambda: rng.lognormvariate(mu, sigma)


def simulated_wait(place: int, elapsed: list[float], agents: int, draw: Callable[[], float], samples: int) -> float:
    """Median over `samples` futures of the time until `place` agents have come free, each
    current call lasting a draw longer than what it has lasted so far (rejection sampling)."""
    waits: list[float] = []
    for _ in range(samples):
        ends = [0.0] * (agents - len(elapsed))
        for lasted in elapsed:
            total = draw()
            while total <= lasted:
                total = draw()
            ends.append(total - lasted)
        heapq.heapify(ends)
        for _ in range(place - 1):
            heapq.heappush(ends, heapq.heappop(ends) + draw())
        waits.append(ends[0])
    return statistics.median(waits)


def run(args: argparse.Namespace) -> tuple[list[float], list[float], list[float]]:
    """estimated − actual wait of every caller: the engine's, place × AHT ÷ agents, the bound."""
    rng = random.Random(args.seed)
    draw = handle_times(args.handle, args.aht, args.sigma, rng)
    future = handle_times(args.handle, args.aht, args.sigma, random.Random(args.seed + 1))
    clock = Clock()
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="q", groups=("q",), expected_handle_time=args.aht))
    for a in range(args.agents):
        engine.put_agent(Agent(id=f"A-{a}", groups=("q",), capacity={Channel.PHONE: 1}))
        engine.set_agent_status(f"A-{a}", AgentStatus.AVAILABLE)
    rate = args.load * args.agents / args.aht
    events: list[tuple[float, int, str, str]] = []
    tie = iter(range(10**9))
    t = clock.now
    for n in range(args.calls):
        t += rng.expovariate(rate)
        heapq.heappush(events, (t, next(tie), "arrive", f"W-{n}"))
    told: dict[str, tuple[float, float, float]] = {}
    answered: dict[str, float] = {}  # work in progress → when it was answered
    engine_errors: list[float] = []
    reference_errors: list[float] = []
    bound_errors: list[float] = []

    def answer_offers() -> None:
        for notice in engine.drain().notices:
            if notice.kind == "work_offered" and notice.work is not None:
                work = engine.accept(notice.agent_id, notice.work.id)
                waited = work.answer_time - work.enqueue_time
                estimate, reference, bound = told.pop(work.id)
                engine_errors.append(estimate - waited)
                reference_errors.append(reference - waited)
                bound_errors.append(bound - waited)
                answered[work.id] = clock.now
                heapq.heappush(events, (clock.now + draw(), next(tie), "done", work.id))

    while events:
        clock.now, _, kind, work_id = heapq.heappop(events)
        if kind == "arrive":
            work = engine.enqueue(Work(id=work_id, queue_id="q", channel=Channel.PHONE))
            place = engine.position(work_id).position
            bound = 0.0
            if place:
                elapsed = [clock.now - since for since in answered.values()]
                bound = simulated_wait(place, elapsed, args.agents, future, args.samples)
            told[work_id] = (work.estimated_wait, place * args.aht / args.agents, bound)
        else:
            del answered[work_id]
            agent_id = engine.get(work_id).assigned_agent_id
            engine.complete(agent_id, work_id, "done")
        answer_offers()
    return engine_errors, reference_errors, bound_errors


def p90(values: list[float]) -> float:
    ordered = sorted(abs(v) for v in values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def describe(name: str, errors: list[float]) -> None:
    absolute = [abs(e) for e in errors]
    print(f"  {name:<34} mean {statistics.fmean(errors):+7.1f} s   median |err| {statistics.median(absolute):6.1f} s   "
          f"p90 |err| {p90(errors):6.1f} s   within 10 s {sum(a <= 10 for a in absolute) / len(absolute):4.0%}   "
          f"within 30 s {sum(a <= 30 for a in absolute) / len(absolute):4.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=6000)
    parser.add_argument("--agents", type=int, default=12)
    parser.add_argument("--aht", type=float, default=180.0)
    parser.add_argument("--load", type=float, default=0.92)
    parser.add_argument("--sigma", type=float, default=1.0, help="of the log-normal's logarithm")
    parser.add_argument("--handle", choices=("lognormal", "exponential"), default="lognormal")
    parser.add_argument("--samples", type=int, default=100, help="simulated futures per caller for the bound")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs")
    shape = f"log-normal σ {args.sigma}" if args.handle == "lognormal" else "exponential"
    print(f"estimated − actual wait, {args.calls} calls, {args.agents} agents, AHT {args.aht:.0f} s ({shape}), "
          f"load {args.load}:")
    ours, reference, bound = run(args)
    describe("routing engine", ours)
    describe("place × true AHT ÷ agents", reference)
    describe("bound: true law + elapsed times", bound)
    print(f"wait estimate: p90 |error| {p90(ours):.1f} s = {p90(ours) / p90(reference):.2f} × place × AHT ÷ slots "
          f"({p90(reference):.1f} s, same run; bound {p90(bound) / p90(reference):.2f}×); target ≤ 0.8×")


if __name__ == "__main__":
    main()
