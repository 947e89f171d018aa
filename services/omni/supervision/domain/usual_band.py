"""The usual band of a queue's hourly figures: a robust seasonal baseline.

For a queue's figure of one hour (service level, abandonment rate, contacts offered), the usual
band is the median of the same figure at the same hour of the week over past weeks (at most
`weeks`), plus and minus `k` scaled median absolute deviations (MAD × 1.4826, the normal
distribution's standard deviation for a robust estimate). With fewer than `min_weeks` weeks of
history the same hour of the day over past days stands in (at least `min_days` of them); with
less than that, no judgement. The band is never narrower than `k` times the counting noise of the
hour itself (√n for a count, √(p(1−p)/n) for a rate over n contacts) nor than a fixed floor: a
few weeks' MAD of a busy hour can be tiny by chance, and an hour of 20 contacts moves a rate by
5 points with one contact. Each figure alarms on its bad side only: service level below,
abandonment above; volume either way.

Hours are clock hours in UTC; a queue's first hours of history are never judged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import statistics
from collections.abc import Mapping, Sequence

from omni.supervision.domain.alerts import Alert, AlertKind, Subject, new_alert

MAD_SCALE = 1.4826


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str
    # "low" (only a value below the band alarms), "high", or "both".
    bad_side: str
    # The narrowest half-width the band may have, in the figure's unit.
    min_spread: float
    # The figure of the hour that counts the contacts a rate is over; "" for a count itself.
    over: str = ""
    # How the figure reads in an alert.
    unit: str = ""

    def noise(self, median: float, hour: HourFigures) -> float:
        """The counting noise of the hour's figure (one standard deviation)."""
        if not self.over:
            return math.sqrt(max(median, 0.0))
        n = hour.figures.get(self.over, 0.0)
        p = min(max(median, 0.0), 1.0)
        return math.sqrt(p * (1 - p) / n) if n > 0 else 0.0


METRICS = (Metric("service_level", "low", 0.05, "decided", "%"),
           Metric("abandonment_rate", "high", 0.03, "offered", "%"),
           Metric("offered", "both", 3.0))


@dataclasses.dataclass(frozen=True)
class BandRules:
    k: float = 3.0
    weeks: int = 8
    min_weeks: int = 4
    days: int = 14
    min_days: int = 7


@dataclasses.dataclass(frozen=True)
class HourFigures:
    """One queue's figures over one clock hour; a figure is missing when there was too little to judge."""

    queue_id: str
    hour_start: dt.datetime
    figures: Mapping[str, float]


@dataclasses.dataclass(frozen=True)
class Band:
    median: float
    low: float
    high: float
    # "hour of week, 4 weeks" or "hour of day, 9 days".
    basis: str


def band(values: Sequence[float], metric: Metric, hour: HourFigures, k: float, basis: str) -> Band:
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values) * MAD_SCALE
    half = max(k * mad, k * metric.noise(median, hour), metric.min_spread)
    return Band(median, median - half, median + half, basis)


def usual_band(hour: HourFigures, metric: Metric, history: Sequence[HourFigures], rules: BandRules) -> Band | None:
    """The band of `metric` for `hour` from `history` (earlier hours of the same queue); None when
    the history is too short."""
    start = hour.hour_start
    weekly = [h.figures[metric.name] for h in history if metric.name in h.figures
              and h.hour_start < start and (start - h.hour_start) % dt.timedelta(weeks=1) == dt.timedelta(0)
              and start - h.hour_start <= dt.timedelta(weeks=rules.weeks)]
    if len(weekly) >= rules.min_weeks:
        return band(weekly, metric, hour, rules.k, f"hour of week, {len(weekly)} weeks")
    daily = [h.figures[metric.name] for h in history if metric.name in h.figures
             and h.hour_start < start and (start - h.hour_start) % dt.timedelta(days=1) == dt.timedelta(0)
             and start - h.hour_start <= dt.timedelta(days=rules.days)]
    if len(daily) >= rules.min_days:
        return band(daily, metric, hour, rules.k, f"hour of day, {len(daily)} days")
    return None


def outside(metric: Metric, value: float, usual: Band) -> bool:
    low, high = value < usual.low, value > usual.high
    return {"low": low, "high": high}.get(metric.bad_side, low or high)


def _shown(metric: Metric, value: float) -> str:
    return f"{value:.0%}" if metric.unit == "%" else f"{value:g}"


def band_alerts(hour: HourFigures, history: Sequence[HourFigures], rules: BandRules,
                now: dt.datetime) -> list[Alert]:
    """An alert for each of the hour's figures outside its usual band."""
    alerts = []
    for metric in METRICS:
        value = hour.figures.get(metric.name)
        usual = usual_band(hour, metric, history, rules) if value is not None else None
        if value is None or usual is None or not outside(metric, value, usual):
            continue
        alerts.append(new_alert(
            AlertKind.KPI_OUTSIDE_BAND, f"kpi_band:{hour.queue_id}:{metric.name}:{hour.hour_start.isoformat()}", now,
            Subject(queue_id=hour.queue_id),
            f"{metric.name.replace('_', ' ')} {_shown(metric, value)} from {hour.hour_start:%H:00} UTC is outside its "
            f"usual {_shown(metric, max(usual.low, 0.0))}–{_shown(metric, usual.high)} "
            f"(median {_shown(metric, usual.median)}, {usual.basis})"))
    return alerts


def hour_figures(queue_id: str, hour_start: dt.datetime, offered: int, answered: int, abandoned: int,
                 service_level: float, min_decided: int) -> HourFigures:
    """The figures of an hour worth judging: rates only when enough contacts decided them."""
    figures: dict[str, float] = {"offered": float(offered), "decided": float(answered + abandoned)}
    if answered + abandoned >= min_decided:
        figures["service_level"] = service_level
    if offered >= min_decided:
        figures["abandonment_rate"] = abandoned / offered
    return HourFigures(queue_id, hour_start, figures)
