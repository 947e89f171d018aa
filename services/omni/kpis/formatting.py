"""How a KPI figure reads in a report: ratios as percentages, seconds with their unit, "–" when
there is nothing to measure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def fmt(value: object, unit: str) -> str:
    """`unit`: "%" (a 0..1 ratio), "s" (seconds), "" or "x" (a count, a score, a mean count)."""
    if value is None:
        return "–"
    if unit == "%" and isinstance(value, float):
        return f"{value * 100:.1f} %"
    if unit == "s" and isinstance(value, float):
        return f"{value:.1f} s"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def callbacks_summary(k: Mapping[str, Any], hours: Sequence[Mapping[str, Any]]) -> str:
    """One line: callbacks booked, kept and failed, attempts per contact, the contact rate overall
    and by hour of the day (`figures.Kpis` and `figures.contact_rate_by_hour` as plain data)."""
    by_hour = ", ".join(f"{h['hour']:02d}h {fmt(h['contact_rate'], '%')} of {h['calls']}" for h in hours)
    return (f"callbacks {k['callbacks']}: kept {k['callbacks_kept']}, failed {k['callbacks_failed']}; "
            f"{k['calls_made']} calls, attempts per contact {fmt(k['attempts_per_contact'], 'x')}, "
            f"contact rate {fmt(k['contact_rate'], '%')}" + (f" (by hour, UTC: {by_hour})" if by_hour else ""))
