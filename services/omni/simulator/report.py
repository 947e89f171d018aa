"""The KPI report: one JSON document and an HTML page with charts a supervisor reads.

Both modes (fast simulation, live stack) feed contact and agent records in; the report format
does not depend on where they came from.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import io
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: reports are written by servers and CI too
import matplotlib.pyplot as plt

from omni.kpis import figures as kpis
from omni.kpis.formatting import fmt
from omni.kpis.records import AgentRecord, ContactRecord

REPORT_VERSION = 1
_ROLLUPS: tuple[tuple[str, kpis.Period], ...] = (("daily", "day"), ("weekly", "week"), ("monthly", "month"))


def build(records: Sequence[ContactRecord], agents: Sequence[AgentRecord], *, meta: Mapping[str, Any],
          targets: Mapping[str, float] = kpis.DEFAULT_TARGETS, interval_seconds: float = 1800.0) -> dict[str, Any]:
    """The report as plain data (what `report.json` holds)."""
    return {
        "version": REPORT_VERSION,
        "meta": {**meta, "targets_seconds": dict(targets),
                 "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
        "overall": kpis.compute(records, agents, targets=targets).as_dict(),
        "by_queue": {k: v.as_dict() for k, v in kpis.grouped(records, lambda r: r.queue, targets=targets).items()},
        "by_channel": {k: v.as_dict()
                       for k, v in kpis.grouped(records, lambda r: r.channel, targets=targets).items()},
        "occupancy_by_team": kpis.occupancy_by_team(agents),
        **{label: {k: v.as_dict() for k, v in kpis.rollup(records, agents, period, targets=targets).items()}
           for label, period in _ROLLUPS},
        "intervals": [dataclasses.asdict(i) for i in kpis.intervals(records, interval_seconds, targets=targets)],
        "contact_rate_by_hour": [{**dataclasses.asdict(h), "contact_rate": h.contact_rate}
                                 for h in kpis.contact_rate_by_hour(records)],
    }


def write(report: Mapping[str, Any], directory: Path) -> tuple[Path, Path]:
    """Write `report.json` and `report.html` into `directory`; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "report.json"
    json_path.write_text(json.dumps(report, indent=2, default=str))
    html_path = directory / "report.html"
    html_path.write_text(render_html(report))
    return json_path, html_path


# ---------------------------------------------------------------------------------------------
# HTML

_KPI_ROWS: tuple[tuple[str, str, str], ...] = (
    ("offered", "Offered", "n"),
    ("answered", "Answered", "n"),
    ("answer_rate", "Answer rate", "%"),
    ("abandon_rate", "Abandoned", "%"),
    ("service_level", "Service level", "%"),
    ("asa_seconds", "ASA", "s"),
    ("longest_wait_seconds", "Longest wait", "s"),
    ("aht_seconds", "AHT", "s"),
    ("occupancy", "Occupancy", "%"),
    ("transfer_rate", "Transferred", "%"),
    ("repeat_transfer_rate", "Transferred twice+", "%"),
    ("fcr", "First-contact resolution", "%"),
    ("callback_share", "Callbacks", "%"),
    ("callbacks_kept", "Callbacks that reached the customer", "n"),
    ("callbacks_failed", "Callbacks never answered", "n"),
    ("calls_per_callback", "Calls per callback", "x"),
    ("calls_made", "Callback calls made", "n"),
    ("contact_rate", "Contact rate (calls answered)", "%"),
    ("attempts_per_contact", "Attempts per contact", "x"),
    ("overflowed", "To self-service bot", "n"),
    ("vip_asa_seconds", "VIP ASA", "s"),
    ("vip_p90_wait_seconds", "VIP 90th pct wait", "s"),
    ("csat_average", "CSAT (1-5)", "n"),
    ("nps", "NPS", "n"),
)


def _table(columns: Mapping[str, Mapping[str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in columns)
    rows = []
    for key, label, unit in _KPI_ROWS:
        cells = "".join(f"<td>{fmt(k.get(key), unit)}</td>" for k in columns.values())
        rows.append(f"<tr><th>{label}</th>{cells}</tr>")
    ewt = "".join(f"<td>{fmt(k['ewt_error']['mean_absolute'], 's')}</td>" for k in columns.values())
    rows.append(f"<tr><th>Wait estimate error (mean |error|)</th>{ewt}</tr>")
    return f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def _hours_table(hours: Sequence[Mapping[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{h['hour']:02d}:00</th><td>{h['calls']}</td><td>{h['reached']}</td>"
                   f"<td>{fmt(h['contact_rate'], '%')}</td></tr>" for h in hours)
    return ("<table><tr><th>hour (UTC)</th><th>calls</th><th>answered</th><th>contact rate</th></tr>"
            f"{rows}</table>")


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _intraday_chart(intervals: Sequence[Mapping[str, Any]]) -> str:
    labels = [dt.datetime.fromtimestamp(i["start"], tz=dt.UTC).strftime("%m-%d %H:%M") for i in intervals]
    x = range(len(labels))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    top.bar(x, [i["answered"] for i in intervals], label="answered", color="#4c72b0")
    top.bar(x, [i["abandoned"] for i in intervals], bottom=[i["answered"] for i in intervals],
            label="abandoned", color="#dd8452")
    top.set_ylabel("contacts (by arrival)")
    top.legend(loc="upper right")
    top.set_title("Contacts and service level through the day")
    level = top.twinx()
    level.plot(x, [(i["service_level"] or 0) * 100 for i in intervals], color="#2ca02c", marker=".")
    level.set_ylabel("service level %")
    level.set_ylim(0, 105)
    bottom.plot(x, [i["asa_seconds"] or 0 for i in intervals], color="#c44e52", marker=".")
    bottom.set_ylabel("ASA (s)")
    step = max(1, len(labels) // 12)
    bottom.set_xticks(list(x)[::step], labels[::step], rotation=45, ha="right")
    return _png(fig)


def _queue_chart(by_queue: Mapping[str, Mapping[str, Any]]) -> str:
    names = list(by_queue)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], [(by_queue[n]["service_level"] or 0) * 100 for n in names], 0.4,
           label="service level %")
    ax.bar([i + 0.2 for i in x], [(by_queue[n]["abandon_rate"] or 0) * 100 for n in names], 0.4,
           label="abandoned %")
    ax.set_xticks(list(x), names)
    ax.set_title("Per queue")
    ax.legend()
    return _png(fig)


def _ewt_chart(ewt: Mapping[str, Any]) -> str:
    edges = kpis.EWT_BINS
    labels = [f"≤{edges[0]:.0f}"] + [f"{a:.0f}..{b:.0f}" for a, b in itertools.pairwise(edges)]
    labels.append(f">{edges[-1]:.0f}")
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar(range(len(labels)), ewt["histogram"], color="#8172b2")
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_xlabel("announced − actual wait (s)")
    ax.set_ylabel("contacts")
    ax.set_title("How accurate was the announced wait?")
    return _png(fig)


def _occupancy_chart(teams: Mapping[str, float]) -> str:
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.barh(list(teams), [v * 100 for v in teams.values()], color="#64b5cd")
    ax.set_xlim(0, 100)
    ax.set_xlabel("occupancy %")
    ax.set_title("Agent occupancy per team")
    return _png(fig)


def render_html(report: Mapping[str, Any]) -> str:
    meta = report["meta"]
    title = f"KPI report — {meta.get('scenario', meta.get('source', 'contact center'))}"
    subtitle = ", ".join(f"{k}: {v}" for k, v in meta.items() if k != "targets_seconds")
    targets = ", ".join(f"{c} {s:g} s" for c, s in meta["targets_seconds"].items())
    parts = [
        f"<h1>{html.escape(title)}</h1><p class=meta>{html.escape(subtitle)}</p>",
        f"<p>Service level = answered within the target ({html.escape(targets)}) ÷ (answered + abandoned).</p>",
        "<h2>Overall and per channel</h2>",
        _table({"overall": report["overall"], **report["by_channel"]}),
        "<h2>Per queue</h2>", _table(report["by_queue"]),
    ]
    if report["intervals"]:
        parts += ["<h2>Intraday</h2>", _intraday_chart(report["intervals"])]
    if report["by_queue"]:
        parts.append(_queue_chart(report["by_queue"]))
    if report["overall"]["ewt_error"]["samples"]:
        parts += ["<h2>Wait estimates</h2>", _ewt_chart(report["overall"]["ewt_error"])]
    if report["contact_rate_by_hour"]:
        parts += ["<h2>Callback calls by hour</h2>", _hours_table(report["contact_rate_by_hour"])]
    if report["occupancy_by_team"]:
        parts += ["<h2>Agents</h2>", _occupancy_chart(report["occupancy_by_team"])]
    for period in ("daily", "weekly", "monthly"):
        if report[period]:
            parts += [f"<h2>{period.capitalize()}</h2>", _table(report[period])]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
             "text-align:right}th{background:#f4f4f4}.meta{color:#666}img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


# ---------------------------------------------------------------------------------------------
# Strategy comparison

_COMPARE_ROWS = (
    ("answer_rate", "answer rate", "%"),
    ("abandon_rate", "abandoned", "%"),
    ("service_level", "service level", "%"),
    ("asa_seconds", "ASA", "s"),
    ("vip_asa_seconds", "VIP ASA", "s"),
    ("vip_p90_wait_seconds", "VIP p90 wait", "s"),
    ("transfer_rate", "transferred", "%"),
    ("repeat_transfer_rate", "transferred twice+", "%"),
    ("fcr", "FCR", "%"),
    ("callback_share", "callbacks", "%"),
    ("callbacks_kept", "callbacks kept", "n"),
    ("callbacks_failed", "callbacks failed", "n"),
    ("attempts_per_contact", "attempts per contact", "x"),
    ("contact_rate", "contact rate (calls answered)", "%"),
    ("occupancy", "occupancy", "%"),
)
# Read per channel as well: a call's wait is seconds, an email's hours.
_CHANNEL_ROWS = (
    ("asa_seconds", "ASA", "s"),
    ("vip_asa_seconds", "VIP ASA", "s"),
    ("vip_p90_wait_seconds", "VIP p90 wait", "s"),
    ("abandon_rate", "abandoned", "%"),
)


def comparison_markdown(results: Mapping[str, Mapping[str, kpis.ChannelSplit]]) -> str:
    """scenario -> strategy -> KPIs, as one Markdown table per scenario."""
    out = []
    for scenario, by_strategy in results.items():
        strategies = list(by_strategy)
        splits = list(by_strategy.values())
        out.append(f"### {scenario}\n")
        out.append("| KPI | " + " | ".join(strategies) + " |")
        out.append("| --- |" + " ---: |" * len(strategies))
        out.append("| offered | " + " | ".join(str(k.overall.offered) for k in splits) + " |")
        for key, label, unit in _COMPARE_ROWS:
            out.append(f"| {label} | " + " | ".join(fmt(getattr(k.overall, key), unit) for k in splits) + " |")
        out.append("| wait estimate mean abs error | "
                   + " | ".join(fmt(k.overall.ewt_error.mean_absolute, "s") for k in splits) + " |")
        channels = sorted({c for k in splits for c in k.by_channel}, key=_CHANNEL_ORDER.index)
        for channel in channels:
            for key, label, unit in _CHANNEL_ROWS:
                cells = [fmt(getattr(k.by_channel[channel], key), unit) if channel in k.by_channel else "–"
                         for k in splits]
                out.append(f"| {channel}: {label} | " + " | ".join(cells) + " |")
            cells = [fmt(k.by_channel[channel].ewt_error.mean_absolute, "s") if channel in k.by_channel else "–"
                     for k in splits]
            out.append(f"| {channel}: wait estimate mean abs error | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


_CHANNEL_ORDER = ("phone", "chat", "email", "sms")
