"""Contact-center KPIs from contact and agent records: pure functions, no I/O.

Definitions (docs/kpis.md explains each and why):
- offered: contacts that reached a human queue or the bot; answered / abandoned / overflowed
  (to the bot) / unanswered (still waiting at close) partition them.
- service level: answered within the channel's target seconds ÷ (answered + abandoned);
  callbacks are excluded (their customer did not hold).
- ASA: mean wait of answered contacts who held (callbacks excluded). AHT: mean handle time.
- occupancy: load-weighted busy time ÷ logged-in time.
- transfer rate: answered contacts transferred at least once; repeat transfer: twice or more.
- FCR: first contacts of a matter that were answered and resolved it, ÷ answered first contacts.
- EWT error: announced wait − actual wait for answered contacts that held.
- callbacks: booked; kept (a call reached the customer) and failed (every call went unanswered);
  calls per callback over those with at least one call; attempts per contact: calls made ÷
  callbacks kept; contact rate: calls that reached the customer ÷ calls made, also per hour of the
  day the call started (docs/outbound.md).
- CSAT: mean of the 1..5 answers; NPS: % promoters (9-10) − % detractors (0-6) of the 0..10 answers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

from omni.kpis.records import AgentRecord, ContactRecord

Period = Literal["day", "week", "month"]
DEFAULT_TARGETS: Mapping[str, float] = {"phone": 20.0, "chat": 60.0, "email": 14_400.0}
EWT_BINS = (-300.0, -120.0, -60.0, -30.0, -10.0, 10.0, 30.0, 60.0, 120.0, 300.0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class EwtError:
    """Announced minus actual wait, seconds (negative: we promised less than it took)."""

    samples: int
    mean: float | None
    mean_absolute: float | None
    p50_absolute: float | None
    p90_absolute: float | None
    within_10s: float | None
    # Counts per bin: (-inf, -300], (-300, -120], ... (300, inf).
    histogram: tuple[int, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Kpis:
    offered: int
    answered: int
    abandoned: int
    overflowed: int
    unanswered: int
    answer_rate: float | None
    abandon_rate: float | None
    service_level: float | None
    asa_seconds: float | None
    longest_wait_seconds: float | None
    aht_seconds: float | None
    occupancy: float | None
    transfer_rate: float | None
    repeat_transfer_rate: float | None
    fcr: float | None
    callback_share: float | None
    callbacks: int
    callbacks_kept: int
    callbacks_failed: int
    calls_per_callback: float | None
    calls_made: int
    contact_rate: float | None
    attempts_per_contact: float | None
    vip_asa_seconds: float | None
    vip_p90_wait_seconds: float | None
    # Mean CSAT (1..5) of the answered surveys, and how many there were.
    csat_average: float | None = None
    csat_responses: int = 0
    # NPS: % promoters (9-10) minus % detractors (0-6) of the NPS answers, -100..100.
    nps: float | None = None
    nps_responses: int = 0
    ewt_error: EwtError

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ewt_error(records: Iterable[ContactRecord]) -> EwtError:
    errors = [r.estimated_wait - (r.answered - r.arrived) for r in records
              if r.estimated_wait is not None and r.answered is not None and not r.callback]
    absolute = [abs(e) for e in errors]
    histogram = [0] * (len(EWT_BINS) + 1)
    for error in errors:
        histogram[sum(1 for edge in EWT_BINS if error > edge)] += 1
    return EwtError(
        samples=len(errors),
        mean=_mean(errors),
        mean_absolute=_mean(absolute),
        p50_absolute=percentile(absolute, 50),
        p90_absolute=percentile(absolute, 90),
        within_10s=_ratio(sum(1 for a in absolute if a <= 10), len(absolute)),
        histogram=tuple(histogram),
    )


def compute(records: Sequence[ContactRecord], agents: Sequence[AgentRecord] = (), *,
            targets: Mapping[str, float] = DEFAULT_TARGETS) -> Kpis:
    answered = [r for r in records if r.outcome == "answered"]
    abandoned = [r for r in records if r.outcome == "abandoned"]
    held = [r for r in answered if not r.callback and r.answered is not None]
    waits = [r.answered - r.arrived for r in held if r.answered is not None]
    within = sum(1 for r, w in zip(held, waits, strict=True) if w <= targets.get(r.channel, 20.0))
    sl_base = len(held) + len(abandoned)
    vip_waits = [r.answered - r.arrived for r in held if r.vip and r.answered is not None]
    firsts = [r for r in answered if not r.follow_up]
    logged_in = sum(a.logged_in_seconds for a in agents)
    all_waits = waits + [w for r in abandoned if (w := r.wait) is not None]
    csat = [r.csat for r in records if r.csat]
    nps = [r.nps for r in records if r.nps is not None]
    calls = [call for r in records for call in r.calls]
    return Kpis(
        offered=len(records),
        answered=len(answered),
        abandoned=len(abandoned),
        overflowed=sum(1 for r in records if r.outcome == "overflowed"),
        unanswered=sum(1 for r in records if r.outcome == "unanswered"),
        answer_rate=_ratio(len(answered), len(records)),
        abandon_rate=_ratio(len(abandoned), len(records)),
        service_level=_ratio(within, sl_base),
        asa_seconds=_mean(waits),
        longest_wait_seconds=max(all_waits) if all_waits else None,
        aht_seconds=_mean([r.handle_seconds for r in answered if r.ended is not None]),
        occupancy=_ratio(sum(a.busy_seconds for a in agents), logged_in) if agents else None,
        transfer_rate=_ratio(sum(1 for r in answered if r.transfers >= 1), len(answered)),
        repeat_transfer_rate=_ratio(sum(1 for r in answered if r.transfers >= 2), len(answered)),
        fcr=_ratio(sum(1 for r in firsts if r.resolved), len(firsts)),
        callback_share=_ratio(sum(1 for r in records if r.callback), len(records)),
        callbacks=sum(1 for r in records if r.callback),
        callbacks_kept=sum(1 for r in records if r.callback_reached is True),
        callbacks_failed=sum(1 for r in records if r.callback_reached is False),
        calls_per_callback=_mean([float(r.callback_attempts) for r in records if r.callback_attempts]),
        calls_made=len(calls),
        contact_rate=_ratio(sum(1 for _, reached in calls if reached), len(calls)),
        attempts_per_contact=_ratio(len(calls), sum(1 for r in records if r.callback_reached is True)),
        vip_asa_seconds=_mean(vip_waits),
        vip_p90_wait_seconds=percentile(vip_waits, 90),
        csat_average=_mean(csat),
        csat_responses=len(csat),
        nps=net_promoter_score(nps),
        nps_responses=len(nps),
        ewt_error=ewt_error(records),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class HourOfCalls:
    """The outbound calls of callbacks that started in one hour of the day (UTC)."""

    hour: int
    calls: int
    reached: int

    @property
    def contact_rate(self) -> float:
        return self.reached / self.calls


def contact_rate_by_hour(records: Iterable[ContactRecord]) -> list[HourOfCalls]:
    """Calls made and reaching the customer per hour of the day they started, hours with calls only."""
    made: dict[int, list[bool]] = {}
    for record in records:
        for at, reached in record.calls:
            made.setdefault(dt.datetime.fromtimestamp(at, tz=dt.UTC).hour, []).append(reached)
    return [HourOfCalls(hour=hour, calls=len(outcomes), reached=sum(outcomes))
            for hour, outcomes in sorted(made.items())]


def net_promoter_score(answers: Sequence[int]) -> float | None:
    """% promoters (9-10) minus % detractors (0-6)."""
    if not answers:
        return None
    return 100.0 * (sum(1 for n in answers if n >= 9) - sum(1 for n in answers if n <= 6)) / len(answers)


def grouped(records: Sequence[ContactRecord], key: Callable[[ContactRecord], str], *,
            targets: Mapping[str, float] = DEFAULT_TARGETS) -> dict[str, Kpis]:
    """KPIs per queue, channel, ... (occupancy is per team: see `occupancy_by_team`)."""
    groups: dict[str, list[ContactRecord]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return {name: compute(group, targets=targets) for name, group in sorted(groups.items())}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelSplit:
    """Overall KPIs and the same per channel: waits mean different things on a call (seconds)
    and an email (hours), so a comparison of strategies reads them apart."""

    overall: Kpis
    by_channel: Mapping[str, Kpis]


def split_by_channel(records: Sequence[ContactRecord], agents: Sequence[AgentRecord] = (), *,
                     targets: Mapping[str, float] = DEFAULT_TARGETS) -> ChannelSplit:
    return ChannelSplit(overall=compute(records, agents, targets=targets),
                        by_channel=grouped(records, lambda r: r.channel, targets=targets))


def occupancy_by_team(agents: Sequence[AgentRecord]) -> dict[str, float]:
    busy: dict[str, float] = {}
    logged: dict[str, float] = {}
    for agent in agents:
        busy[agent.team] = busy.get(agent.team, 0.0) + agent.busy_seconds
        logged[agent.team] = logged.get(agent.team, 0.0) + agent.logged_in_seconds
    return {team: busy[team] / logged[team] for team in sorted(busy) if logged[team]}


def period_of(timestamp: float, period: Period) -> str:
    """'2026-11-23' (day), '2026-W48' (ISO week), '2026-11' (month), in UTC."""
    day = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).date()
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def rollup(records: Sequence[ContactRecord], agents: Sequence[AgentRecord], period: Period, *,
           targets: Mapping[str, float] = DEFAULT_TARGETS) -> dict[str, Kpis]:
    """KPIs per calendar day, ISO week or month (by arrival time)."""
    by_contact: dict[str, list[ContactRecord]] = {}
    for record in records:
        by_contact.setdefault(period_of(record.arrived, period), []).append(record)
    by_agent: dict[str, list[AgentRecord]] = {}
    for agent in agents:
        by_agent.setdefault(period_of(agent.shift_start, period), []).append(agent)
    return {label: compute(group, by_agent.get(label, []), targets=targets)
            for label, group in sorted(by_contact.items())}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Interval:
    start: float
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    asa_seconds: float | None


def intervals(records: Sequence[ContactRecord], width_seconds: float = 1800.0, *,
              targets: Mapping[str, float] = DEFAULT_TARGETS) -> list[Interval]:
    """Per-interval figures (by arrival), the supervisor's intraday view."""
    buckets: dict[float, list[ContactRecord]] = {}
    for record in records:
        buckets.setdefault(record.arrived // width_seconds * width_seconds, []).append(record)
    result = []
    for start in sorted(buckets):
        k = compute(buckets[start], targets=targets)
        result.append(Interval(start=start, offered=k.offered, answered=k.answered, abandoned=k.abandoned,
                               service_level=k.service_level, asa_seconds=k.asa_seconds))
    return result
