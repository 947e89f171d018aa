"""How long does the fast mode take for a simulated 8-hour day of 20,000 contacts, and is it
deterministic with a seed?

Runs the bundled normal-day scenario (08:00-16:00) scaled to 20,000 first contacts (agents
scaled alike) under every available strategy, twice with the same seed, and prints wall time,
event count, contacts (first contacts + follow-ups) and whether the two runs were identical.

    .venv/bin/python bench/simulator_day.py [--contacts 20000] [--seed N]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform

from omni.kpis import figures as kpis
from omni.simulator import compare, fast, scenario


def fingerprint(result: fast.RunResult) -> str:
    rows = [dataclasses.asdict(r) for r in result.contacts]
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    base = scenario.load("normal-day")
    day = base.scaled(args.contacts / base.daily_volume())
    hours = (day.close_seconds - day.open_seconds) / 3600
    print(f"machine: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cpus")
    print(f"scenario: {day.name} scaled to ~{day.daily_volume():.0f} first contacts over {hours:.0f} h, "
          f"{sum(t.count for t in day.teams)} agents")
    for strategy in compare.strategy_factories():
        first = compare.run(day, strategy, seed=args.seed)
        second = compare.run(day, strategy, seed=args.seed)
        figures = kpis.compute(first.contacts, first.agents, targets=compare.targets_of(day))
        same = fingerprint(first) == fingerprint(second)
        print(f"{strategy:>8}: {len(first.contacts)} contacts, {first.events} events, "
              f"wall {first.wall_seconds:.2f} s / {second.wall_seconds:.2f} s, deterministic: {same}, "
              f"answered {figures.answered}, SL {figures.service_level or 0:.3f}")


if __name__ == "__main__":
    main()
