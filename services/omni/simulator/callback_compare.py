"""Callbacks on the same traffic (docs/kpis.md, "Callbacks"): the routing policy without callback
offers, with them and their calls made when due (the first at the callback's place in line, the
redials at the policy's delays: calling at booking time), and with the redials put off to the
best time to call learned from the run's own calls (`omni.routing.domain.best_time`)."""

from __future__ import annotations

import dataclasses

from omni.kpis import figures as kpis
from omni.kpis.formatting import fmt
from omni.simulator.compare import targets_of
from omni.simulator.fast import FastSimulation, RunResult
from omni.simulator.routing_policy import RoutingPolicyStrategy
from omni.simulator.scenario import Scenario

NO_OFFERS, WHEN_DUE, BEST_TIME = "no callback offers", "callbacks, called when due", "callbacks, best time"
# A redial may move this far past its delay when the best time is on (the comparison's setting).
DEFAULT_WINDOW = 6 * 3600.0


def run(scenario: Scenario, *, days: int, window: float = DEFAULT_WINDOW,
        seed: int | None = None) -> dict[str, RunResult]:
    """The three variants over `days` days of the scenario, each on the same arrivals."""
    base = dataclasses.replace(scenario, days=days)
    due = dataclasses.replace(base, outbound=dataclasses.replace(base.outbound, best_time_window=0.0))
    best = dataclasses.replace(base, outbound=dataclasses.replace(base.outbound, best_time_window=window))
    return {
        NO_OFFERS: FastSimulation(due, RoutingPolicyStrategy.for_scenario(due, offer_callbacks=False), seed=seed).run(),
        WHEN_DUE: FastSimulation(due, RoutingPolicyStrategy.for_scenario(due), seed=seed).run(),
        BEST_TIME: FastSimulation(best, RoutingPolicyStrategy.for_scenario(best), seed=seed).run(),
    }


_ROWS = (
    ("offered", "offered", "n"),
    ("answer_rate", "answer rate", "%"),
    ("abandon_rate", "abandoned", "%"),
    ("callbacks", "callbacks booked", "n"),
    ("callbacks_kept", "callbacks kept (a call reached the customer)", "n"),
    ("callbacks_failed", "callbacks failed (every call unanswered)", "n"),
    ("calls_made", "calls made", "n"),
    ("attempts_per_contact", "attempts per contact", "x"),
    ("contact_rate", "contact rate (calls answered)", "%"),
)


def markdown(scenario: Scenario, results: dict[str, RunResult], *, days: int, window: float) -> str:
    targets = targets_of(scenario)
    splits = {name: kpis.split_by_channel(r.contacts, r.agents, targets=targets) for name, r in results.items()}
    names = list(results)
    out = [f"### {scenario.name}, {days} days (best-time window {window / 3600:g} h)\n",
           "| KPI | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
    for key, label, unit in _ROWS:
        out.append(f"| {label} | " + " | ".join(fmt(getattr(splits[n].overall, key), unit) for n in names) + " |")
    phone = {n: s.by_channel.get("phone") for n, s in splits.items()}
    for key, label, unit in (("abandon_rate", "phone: abandoned", "%"), ("asa_seconds", "phone: ASA", "s"),
                             ("service_level", "phone: service level", "%")):
        out.append(f"| {label} | " + " | ".join(fmt(getattr(k, key), unit) if k else "–" for k in phone.values())
                   + " |")
    open_at_end = [sum(1 for c in results[n].contacts if c.callback and c.callback_reached is None) for n in names]
    out.append("| callbacks still open at the end | " + " | ".join(str(n) for n in open_at_end) + " |")
    hours = {n: {h.hour: h for h in kpis.contact_rate_by_hour(results[n].contacts)} for n in names[1:]}
    out += ["", "Contact rate by hour of the call (answered ÷ calls):", "",
            "| hour | " + " | ".join(names[1:]) + " |", "| --- |" + " ---: |" * len(names[1:])]
    for hour in sorted({h for by_hour in hours.values() for h in by_hour}):
        cells = [f"{fmt(by_hour[hour].contact_rate, '%')} of {by_hour[hour].calls}" if hour in by_hour else "–"
                 for by_hour in hours.values()]
        out.append(f"| {hour:02d}:00 | " + " | ".join(cells) + " |")
    out.append("")
    return "\n".join(out)
