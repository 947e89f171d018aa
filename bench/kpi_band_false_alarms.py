"""How often does the usual-band KPI alert fire on ordinary traffic?

Runs the simulator's fast mode (the routing policy) over `--weeks` weeks of the bundled
normal-day scenario, day after day with no incident in it, cuts each queue's contacts into clock
hours (service level, abandonment rate and contacts offered per hour, as supervision keeps them
from routing's statistics), and judges every hour of the last week against its usual band
(supervision's own rule, `omni.supervision.domain.usual_band`: the same hour of the previous
weeks). Every alarm on this traffic is a false alarm. Next to it, in the same run, a fixed
threshold (service level below the queue's target, abandonment above 20 %, judged on the same
hours) as the baseline.

    .venv/bin/python bench/kpi_band_false_alarms.py [--weeks 5] [--seed 7] [--scale 0.25] [--k 3]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime as dt
import os
import platform
import time

from omni.kpis import figures as kpis
from omni.kpis.records import ContactRecord
from omni.simulator import compare, scenario
from omni.supervision.domain.usual_band import METRICS, BandRules, HourFigures, band_alerts, hour_figures

MIN_DECIDED = 5
FIXED_ABANDONMENT = 0.2


def hours_of(records: list[ContactRecord], targets: dict[str, float]) -> list[HourFigures]:
    by_hour: dict[tuple[str, dt.datetime], list[ContactRecord]] = collections.defaultdict(list)
    for record in records:
        start = dt.datetime.fromtimestamp(record.arrived, dt.UTC).replace(minute=0, second=0, microsecond=0)
        by_hour[(record.queue, start)].append(record)
    hours = []
    for (queue, start), contacts in sorted(by_hour.items()):
        k = kpis.compute(contacts, targets=targets)
        hours.append(hour_figures(queue, start, k.offered, k.answered, k.abandoned, k.service_level or 0.0,
                                  MIN_DECIDED))
    return hours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weeks", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=0.25, help="the day's contacts and agents times this")
    parser.add_argument("--k", type=float, default=BandRules.k, help="scaled MADs either side (OMNI_BAND_K)")
    args = parser.parse_args()
    if args.weeks < 2:
        parser.error("--weeks must be at least 2 (history, then the judged week)")
    base = scenario.load("normal-day").scaled(args.scale)
    day = dataclasses.replace(base, days=7 * args.weeks)
    started = time.perf_counter()
    result = compare.run(day, "routing", seed=args.seed)
    targets = compare.targets_of(day)
    hours = hours_of(result.contacts, targets)
    judged_from = max(h.hour_start for h in hours) - dt.timedelta(days=7)
    rules = BandRules(k=args.k)
    by_queue: dict[str, list[HourFigures]] = collections.defaultdict(list)
    for hour in hours:
        by_queue[hour.queue_id].append(hour)
    judged = alarms = fixed = judged_fixed = 0
    per_metric: collections.Counter[str] = collections.Counter()
    sl_target = min(fraction for fraction, _ in day.targets.service_level.values())
    for queue_hours in by_queue.values():
        for hour in queue_hours:
            if hour.hour_start <= judged_from:
                continue
            earlier = [h for h in queue_hours if h.hour_start < hour.hour_start]
            found = band_alerts(hour, earlier, rules, hour.hour_start)
            judged += sum(1 for m in METRICS if m.name in hour.figures)
            alarms += len(found)
            for alert in found:
                per_metric[alert.detail.split(" from ")[0].rsplit(" ", 1)[0]] += 1
            level, abandon = hour.figures.get("service_level"), hour.figures.get("abandonment_rate")
            judged_fixed += (level is not None) + (abandon is not None)
            fixed += (level is not None and level < sl_target) + (abandon is not None and abandon > FIXED_ABANDONMENT)
    wall = time.perf_counter() - started
    print(f"machine: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cpus; load average {os.getloadavg()[0]:.1f}")
    print(f"{args.weeks} weeks of normal-day traffic scaled {args.scale:g} ({len(result.contacts)} contacts, "
          f"seed {args.seed}, "
          f"{wall:.1f} s wall); the last week's queue-hours judged")
    print(f"usual band (k={rules.k:g}, same hour of {rules.min_weeks}+ past weeks): {alarms} alarms in "
          f"{judged} judged figures = {alarms / max(judged, 1):.2%} false alarms"
          + (f" ({', '.join(f'{n} {m}' for m, n in sorted(per_metric.items()))})" if per_metric else ""))
    print(f"fixed thresholds (service level < {sl_target:.0%}, abandonment > {FIXED_ABANDONMENT:.0%}): "
          f"{fixed} alarms in {judged_fixed} judged figures = {fixed / max(judged_fixed, 1):.2%}")


if __name__ == "__main__":
    main()
