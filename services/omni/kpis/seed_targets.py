"""The seed documents' routing targets (issue 19's "must show"), measured on one run's records.

Each row is a target, its figure per strategy, and whether the routing policy's figure meets it;
`omni simulate --compare --write-docs` puts the table beside the strategy comparison, so the
verdicts in docs/kpis.md are always those of the tables next to them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from omni.kpis import figures as kpis
from omni.kpis.formatting import fmt
from omni.kpis.records import ContactRecord

# Seed 000: VIPs wait at most 15 s, calls are answered 80 % within 20 s (three rings), complaints
# are handled within 15 minutes; the seeds' repeat transfers fall from 20 % to 5 %.
VIP_WAIT = 15.0
CALL_SECONDS, CALL_LEVEL = 20.0, 0.8
REPEAT_TRANSFERS = 0.05
COMPLAINTS, COMPLAINT_WAIT = "complaints", 900.0
# The column the verdict is given for, and the one that stands for today's contact center.
POLICY, TODAY = "routing", "fifo"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Figures:
    vip_phone_p95: float | None
    call_service_level: float | None
    repeat_transfers: float | None
    complaints_answered: float | None
    others_answered: float | None
    complaints_p90: float | None
    abandoned: float | None


def _answered(records: Sequence[ContactRecord]) -> float | None:
    return sum(1 for r in records if r.outcome == "answered") / len(records) if records else None


def measure(records: Sequence[ContactRecord]) -> Figures:
    """Waits are arrival to the first agent of answered contacts who held (callbacks excluded);
    percentiles nearest-rank."""
    phone = [r for r in records if r.channel == "phone"]
    vip_waits = [r.answered - r.arrived for r in phone
                 if r.vip and r.answered is not None and not r.callback and r.outcome == "answered"]
    complaints = [r for r in records if r.queue == COMPLAINTS]
    overall = kpis.compute(records)
    return Figures(
        vip_phone_p95=kpis.percentile(vip_waits, 95),
        call_service_level=kpis.compute(phone, targets={"phone": CALL_SECONDS}).service_level,
        repeat_transfers=overall.repeat_transfer_rate,
        complaints_answered=_answered(complaints),
        others_answered=_answered([r for r in records if r.queue != COMPLAINTS]),
        complaints_p90=kpis.percentile([r.answered - r.arrived for r in complaints
                                        if r.answered is not None and r.outcome == "answered"], 90),
        abandoned=overall.abandon_rate,
    )


def verdicts(policy: Figures, today: Figures | None) -> dict[str, bool]:
    """Which targets the policy's figures meet (abandonment: against today's, the FIFO ACD's)."""

    def at_most(value: float | None, limit: float | None) -> bool:
        return value is not None and limit is not None and value <= limit

    return {
        "vip_phone_p95": at_most(policy.vip_phone_p95, VIP_WAIT),
        "call_service_level": policy.call_service_level is not None and policy.call_service_level >= CALL_LEVEL,
        "repeat_transfers": at_most(policy.repeat_transfers, REPEAT_TRANSFERS),
        "complaints_answered": at_most(policy.others_answered, policy.complaints_answered),
        "complaints_p90": at_most(policy.complaints_p90, COMPLAINT_WAIT),
        "abandoned": at_most(policy.abandoned, today.abandoned if today is not None else None),
    }


# (label, figure, unit)
_ROWS = (
    (f"VIP phone wait p95 ≤ {VIP_WAIT:g} s", "vip_phone_p95", "s"),
    (f"calls: service level ({CALL_SECONDS:g} s) ≥ {CALL_LEVEL:.0%}", "call_service_level", "%"),
    (f"repeat transfers (twice+) ≤ {REPEAT_TRANSFERS:.0%}", "repeat_transfers", "%"),
    ("complaints: answer rate ≥ the other queues'", "complaints_answered", "%"),
    ("other queues: answer rate", "others_answered", "%"),
    (f"complaints: p90 wait to an agent ≤ {COMPLAINT_WAIT:g} s", "complaints_p90", "s"),
    ("abandoned ≤ FIFO's", "abandoned", "%"),
)


def markdown(runs: Mapping[str, Mapping[str, Sequence[ContactRecord]]]) -> str:
    """scenario -> strategy -> records, as one table per scenario with the policy's verdicts."""
    out = []
    for scenario, by_strategy in runs.items():
        strategies = list(by_strategy)
        figures = {name: measure(records) for name, records in by_strategy.items()}
        met = verdicts(figures[POLICY], figures.get(TODAY)) if POLICY in figures else {}
        out.append(f"#### {scenario}: the seed targets\n")
        out.append("| target | " + " | ".join(strategies) + " | met |")
        out.append("| --- |" + " ---: |" * len(strategies) + " --- |")
        for label, key, unit in _ROWS:
            verdict = "" if key not in met else "yes" if met[key] else "**no**"
            cells = [fmt(getattr(figures[name], key), unit) for name in strategies]
            out.append(f"| {label} | " + " | ".join(cells) + f" | {verdict} |")
        out.append("")
    return "\n".join(out)
