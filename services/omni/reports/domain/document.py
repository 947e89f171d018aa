"""A period's KPI report as a self-contained HTML page (tables, inline SVG charts and one style
element; no script, so the gateway serves it with a CSP that allows no script at all)
and as CSV: overall, then per queue, channel and agent."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from collections.abc import Callable, Sequence

from omni.kpis import figures
from omni.kpis.follow_ups import FollowUpFigures
from omni.kpis.formatting import fmt
from omni.kpis.records import ContactRecord
from omni.reports.domain import charts
from omni.reports.domain.periods import Period, PeriodKind

# (field of figures.Kpis, column heading, unit): "%" ratios, "s" seconds, "" counts and scores.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("offered", "Offered", ""),
    ("answered", "Answered", ""),
    ("service_level", "Service level", "%"),
    ("asa_seconds", "ASA", "s"),
    ("aht_seconds", "AHT", "s"),
    ("fcr", "FCR", "%"),
    ("abandon_rate", "Abandoned", "%"),
    ("transfer_rate", "Transferred", "%"),
    ("csat_average", "CSAT (1-5)", ""),
    ("csat_responses", "CSAT answers", ""),
    ("nps", "NPS", ""),
    ("nps_responses", "NPS answers", ""),
    ("callbacks", "Callbacks", ""),
    ("callbacks_kept", "Callbacks kept", ""),
    ("callbacks_failed", "Callbacks failed", ""),
    ("attempts_per_contact", "Attempts per contact", ""),
    ("contact_rate", "Contact rate", "%"),
)
DIMENSIONS: tuple[tuple[str, str, Callable[[ContactRecord], str]], ...] = (
    ("queue", "Queue", lambda r: r.queue),
    ("channel", "Channel", lambda r: r.channel),
    ("agent", "Agent", lambda r: r.agent_id),
)
STYLESHEET = ("body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2530}table{border-collapse:collapse;"
        "margin:0 0 1.5rem}th,td{border:1px solid #d4d9e0;padding:.3rem .6rem;text-align:right}"
        "th:first-child,td:first-child{text-align:left}")


def groups(records: Sequence[ContactRecord]) -> list[tuple[str, str, figures.Kpis]]:
    """(dimension, key, KPIs): overall first, then each dimension's keys (agents: those who answered)."""
    rows = [("overall", "all", figures.compute(records))]
    for dimension, _, key in DIMENSIONS:
        counted = [r for r in records if key(r)]
        rows.extend((dimension, name, k) for name, k in figures.grouped(counted, key).items())
    return rows


def to_csv(rows: Sequence[tuple[str, str, figures.Kpis]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["dimension", "key", *(field for field, _, _ in COLUMNS)])
    for dimension, key, k in rows:
        writer.writerow([dimension, _csv_safe(key), *(_raw(getattr(k, field)) for field, _, _ in COLUMNS)])
    return out.getvalue()


def to_html(period: Period, rows: Sequence[tuple[str, str, figures.Kpis]], records: Sequence[ContactRecord],
            generated: dt.datetime, done_on_time: FollowUpFigures | None = None) -> str:
    title = f"KPI report, {_label(period)}"
    sections = [f"<h1>{html.escape(title)}</h1>",
                f"<p>{period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M} UTC · {len(records)} contacts · "
                f"generated {generated:%Y-%m-%d %H:%M} UTC</p>",
                _table("Overall", "", [r for r in rows if r[0] == "overall"])]
    if done_on_time is not None:
        sections.append(_follow_ups(done_on_time))
    if period.kind is not PeriodKind.DAY:
        daily = figures.rollup(records, [], "day")
        sections.append(charts.bars("Contacts per day", [(day, float(k.offered)) for day, k in daily.items()]))
    hours = figures.contact_rate_by_hour(records)
    if hours:
        sections.append(_hours_table(hours))
    for dimension, heading, _ in DIMENSIONS:
        mine = [r for r in rows if r[0] == dimension]
        if not mine:
            continue
        sections.append(_table(f"By {heading.lower()}", heading, mine))
        sections.append(charts.bars(f"Service level by {heading.lower()}",
                                    [(key, _percent(k.service_level)) for _, key, k in mine], unit=" %", maximum=100))
        if any(k.csat_average is not None for _, _, k in mine):
            sections.append(charts.bars(f"CSAT by {heading.lower()}", [(key, k.csat_average) for _, key, k in mine],
                                        maximum=5))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<style>{STYLESHEET}</style></head><body>'
            + "".join(sections) + "</body></html>")


def _follow_ups(done: FollowUpFigures) -> str:
    """Follow-ups due in the period: how many were done on time (docs/outbound.md)."""
    cells = (("Due", fmt(done.due, "")), ("Done on time", fmt(done.on_time_rate, "%")),
             ("On time", fmt(done.done_on_time, "")), ("Late", fmt(done.late, "")),
             ("Overdue", fmt(done.overdue, "")), ("Cancelled", fmt(done.cancelled, "")))
    head = "".join(f"<th>{html.escape(name)}</th>" for name, _ in cells)
    body = "".join(f"<td>{html.escape(value)}</td>" for _, value in cells)
    return f"<h2>Follow-ups</h2><table><tr>{head}</tr><tr>{body}</tr></table>"


def _label(period: Period) -> str:
    if period.kind is PeriodKind.DAY:
        return period.start.strftime("%Y-%m-%d")
    if period.kind is PeriodKind.WEEK:
        year, week, _ = period.start.isocalendar()
        return f"week {year}-W{week:02d}"
    return period.start.strftime("%B %Y")


def _table(caption: str, heading: str, rows: Sequence[tuple[str, str, figures.Kpis]]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for _, name, _ in COLUMNS)
    body = "".join(
        f"<tr><td>{html.escape(key)}</td>" + "".join(f"<td>{html.escape(fmt(getattr(k, field), unit))}</td>"
                                                     for field, _, unit in COLUMNS) + "</tr>"
        for _, key, k in rows)
    return f"<h2>{html.escape(caption)}</h2><table><tr><th>{html.escape(heading)}</th>{head}</tr>{body}</table>"


def _hours_table(hours: Sequence[figures.HourOfCalls]) -> str:
    body = "".join(f"<tr><td>{h.hour:02d}:00</td><td>{h.calls}</td><td>{h.reached}</td>"
                   f"<td>{html.escape(fmt(h.contact_rate, '%'))}</td></tr>" for h in hours)
    return ("<h2>Callback calls by hour (UTC)</h2><table><tr><th>Hour</th><th>Calls</th><th>Answered</th>"
            f"<th>Contact rate</th></tr>{body}</table>")


def _percent(value: float | None) -> float | None:
    return None if value is None else value * 100


def _raw(value: object) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _csv_safe(text: str) -> str:
    """A key a spreadsheet would read as a formula (=, +, -, @) is quoted with an apostrophe."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
