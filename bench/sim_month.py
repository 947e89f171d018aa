"""How long does the fast mode take for a month of a 1,000-agent contact center, and does the same
seed give the same month?

The bundled normal-day scenario (08:00-16:00, its skill teams, languages and customer mix) made
into a month: 22 working days, its teams scaled to 1,000 agents, its traffic scaled to about a
million contacts in the month (first contacts and the follow-ups of unresolved matters). The
routing strategy drives the routing service's own engine, as in every fast-mode run. Next to it,
in the same process, the issue's baseline: one 8-hour day of 20,000 first contacts.

Determinism: `--check-days N` runs the first N days of the month twice more with the same
seed and compares every record (the month itself prints its fingerprint, for comparing runs).

    .venv/bin/python bench/sim_month.py [--days 22] [--agents 1000] [--contacts 1000000] [--seed N]
        [--check-days 2] [--strategy routing]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import platform
import time

from omni.kpis import figures as kpis
from omni.simulator import compare, scenario
from omni.simulator.fast import RunResult

TARGET_SECONDS = 300.0
DAY_CONTACTS = 20_000


def fingerprint(result: RunResult) -> str:
    digest = hashlib.sha256()
    for record in result.contacts:
        digest.update(repr(dataclasses.astuple(record)).encode())
    for agent in result.agents:
        digest.update(repr(dataclasses.astuple(agent)).encode())
    return digest.hexdigest()[:16]


def month_of(base: scenario.Scenario, days: int, agents: int, contacts: int) -> scenario.Scenario:
    """`base` over `days` days with `agents` agents and about `contacts` contacts in all."""
    # Follow-ups of unresolved matters come on top of the first contacts: measured on the base day.
    per_first = 1.2
    volume = base.scaled(contacts / per_first / days / base.daily_volume())
    staff = agents / sum(t.count for t in base.teams)
    teams = tuple(dataclasses.replace(t, count=max(1, round(t.count * staff))) for t in base.teams)
    return dataclasses.replace(volume, name=f"{base.name} month", days=days, teams=teams)


def timed(day: scenario.Scenario, strategy: str, seed: int | None) -> tuple[RunResult, float]:
    started = time.process_time()
    result = compare.run(day, strategy, seed=seed)
    return result, time.process_time() - started


def summary(result: RunResult, day: scenario.Scenario, cpu: float) -> str:
    figures = kpis.compute(result.contacts, result.agents, targets=compare.targets_of(day))
    rate = len(result.contacts) / result.wall_seconds
    return (f"{len(result.contacts):,} contacts, {result.events:,} events: wall {result.wall_seconds:.1f} s "
            f"(cpu {cpu:.1f} s), {rate:,.0f} contacts/s; answered {figures.answered:,}, "
            f"SL {figures.service_level or 0:.3f}, abandoned {figures.abandon_rate or 0:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=22)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=1_000_000, help="contacts in the month, about")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--check-days", type=int, default=2, help="days run twice to check determinism (0: skip)")
    parser.add_argument("--strategy", default="routing", choices=sorted(compare.strategy_factories()))
    args = parser.parse_args()
    base = scenario.load("normal-day")
    month = month_of(base, args.days, args.agents, args.contacts)
    print(f"machine: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

    day = base.scaled(DAY_CONTACTS / base.daily_volume())
    result, cpu = timed(day, args.strategy, args.seed)
    day_wall = result.wall_seconds
    print(f"8-h day, {sum(t.count for t in day.teams)} agents ({args.strategy}): {summary(result, day, cpu)}")

    result, cpu = timed(month, args.strategy, args.seed)
    month_wall = result.wall_seconds
    print(f"month, {month.days} days, {sum(t.count for t in month.teams)} agents ({args.strategy}): "
          f"{summary(result, month, cpu)}, fingerprint {fingerprint(result)}")
    del result

    if args.check_days:
        part = dataclasses.replace(month, days=min(args.check_days, month.days))
        first, again = (compare.run(part, args.strategy, seed=args.seed) for _ in range(2))
        same = first.contacts == again.contacts and first.agents == again.agents
        print(f"deterministic: the first {part.days} days twice with the same seed, "
              f"{len(first.contacts):,} contacts each: {'identical' if same else 'DIFFERENT'} records")

    print(f"sim month: {month_wall:,.0f} s wall for ~{args.contacts / 1e6:g}M contacts, {args.agents:,} agents, "
          f"{month.days} days ({month_wall / 60:.1f} min) vs the 8-h day of {DAY_CONTACTS:,} in "
          f"{day_wall:.1f} s, same run; target ≤ {TARGET_SECONDS:.0f} s")


if __name__ == "__main__":
    main()
