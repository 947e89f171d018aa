"""How a KPI figure reads in a report: ratios as percentages, seconds with their unit, "–" when
there is nothing to measure."""

from __future__ import annotations


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
