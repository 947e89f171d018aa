"""`omni report`: the KPI report (JSON + HTML) from the running stack's stored sessions, or from
the records a simulation saved; `--period day|week|month`: the same report the reports service
makes on schedule (HTML with charts + CSV per queue, channel and agent), for the current period so
far or, with `--previous`, the last completed one."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING

from omni.kpis.formatting import callbacks_summary, fmt

if TYPE_CHECKING:
    from omni.kpis.follow_ups import FollowUpFigures


def follow_up_line(figures: FollowUpFigures) -> str:
    return (f"follow-ups: {figures.due} due, done on time {fmt(figures.on_time_rate, '%')} "
            f"({figures.done_on_time} on time, {figures.late} late, {figures.overdue} overdue, "
            f"{figures.cancelled} cancelled)")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "report", help="write the KPI report (daily/weekly/monthly) from stored sessions or simulation records")
    parser.add_argument("--records", type=Path,
                        help="records.jsonl written by `omni simulate` (default: the running stack's sessions)")
    parser.add_argument("--since", type=_date, help="first day to include (YYYY-MM-DD, UTC)")
    parser.add_argument("--until", type=_date, help="first day NOT to include (YYYY-MM-DD, UTC)")
    parser.add_argument("--interval-minutes", type=int, default=30, help="intraday chart resolution")
    parser.add_argument("--out", type=Path, help="report directory (default <data-dir>/reports/live)")
    parser.add_argument("--period", choices=("day", "week", "month"),
                        help="the period report (HTML + CSV) of the running stack: this day/week/month so far")
    parser.add_argument("--previous", action="store_true", help="with --period: the last completed period")
    parser.set_defaults(func=cmd_report)


def _date(text: str) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-23, got {text!r}") from exc


def cmd_report(args: argparse.Namespace) -> int:
    from omni.kpis import records, stored
    from omni.kpis.follow_ups import figures as follow_up_figures
    from omni.simulator import report
    from omni.simulator.live import StackAccess, StackNotRunning, fetch_follow_ups, fetch_sessions

    done_on_time: FollowUpFigures | None = None

    if args.interval_minutes <= 0:
        raise SystemExit("--interval-minutes must be positive")
    if args.period:
        return _period_report(args)
    if args.records:
        if not args.records.exists():
            raise SystemExit(f"{args.records} not found")
        try:
            contacts, agents = records.load(args.records)
        except ValueError as exc:
            raise SystemExit(str(exc)) from exc
        since = args.since.timestamp() if args.since else float("-inf")
        until = args.until.timestamp() if args.until else float("inf")
        contacts = [c for c in contacts if since <= c.arrived < until]
        meta = {"mode": "records", "source": str(args.records)}
        out = args.out or args.records.parent
    else:
        try:
            access = StackAccess.open(args.data_dir)
            sessions = asyncio.run(fetch_sessions(access, since=args.since, until=args.until))
            follow_ups = asyncio.run(fetch_follow_ups(access, since=args.since, until=args.until))
        except StackNotRunning as exc:
            raise SystemExit(str(exc)) from exc
        contacts, agents = stored.contact_records(sessions), []
        done_on_time = follow_up_figures(stored.follow_up_records(follow_ups), time.time())
        meta = {"mode": "live", "source": access.info.addresses["sessions"]}
        out = args.out or args.data_dir / "reports" / "live"
    built = report.build(contacts, agents, meta=meta, interval_seconds=args.interval_minutes * 60.0)
    if done_on_time is not None:
        built["follow_ups"] = dataclasses.asdict(done_on_time)
    json_path, html_path = report.write(built, out)
    overall = built["overall"]
    print(f"{overall['offered']} contacts, answered {fmt(overall['answer_rate'], '%')}, "
          f"self-service {overall['overflowed']}, abandoned {overall['abandoned']}, "
          f"SL {fmt(overall['service_level'], '%')}, ASA {fmt(overall['asa_seconds'], 's')}")
    if overall["callbacks"]:
        print(callbacks_summary(overall, built["contact_rate_by_hour"]))
    if done_on_time is not None:
        print(follow_up_line(done_on_time))
    print(f"report: {html_path}\n        {json_path}")
    return 0


def _period_report(args: argparse.Namespace) -> int:
    """Built by the reports service's own code from the stack's stored sessions (UTC periods)."""
    from omni.kpis import stored
    from omni.kpis.follow_ups import figures as follow_up_figures
    from omni.reports.domain import document
    from omni.reports.domain.periods import PeriodKind, containing
    from omni.simulator.live import StackAccess, StackNotRunning, fetch_follow_ups, fetch_sessions

    period = containing(PeriodKind(args.period), dt.datetime.now(dt.UTC))
    if args.previous:
        period = period.previous()
    try:
        access = StackAccess.open(args.data_dir)
        sessions = asyncio.run(fetch_sessions(access, since=period.start - dt.timedelta(hours=6), until=period.end))
        follow_ups = asyncio.run(fetch_follow_ups(access, since=period.start, until=period.end))
    except StackNotRunning as exc:
        raise SystemExit(str(exc)) from exc
    done_on_time = follow_up_figures(stored.follow_up_records(follow_ups), time.time())
    records = [r for r in stored.contact_records(sessions)
               if period.start.timestamp() <= r.arrived < period.end.timestamp()]
    rows = document.groups(records)
    out = args.out or args.data_dir / "reports" / "periods"
    out.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = out / f"{period.name}.html", out / f"{period.name}.csv"
    html_path.write_text(document.to_html(period, rows, records, dt.datetime.now(dt.UTC), done_on_time))
    csv_path.write_text(document.to_csv(rows))
    overall = rows[0][2]
    print(f"{period.name}: {overall.offered} contacts, SL {fmt(overall.service_level, '%')}, "
          f"ASA {fmt(overall.asa_seconds, 's')}, AHT {fmt(overall.aht_seconds, 's')}, FCR {fmt(overall.fcr, '%')}, "
          f"abandoned {fmt(overall.abandon_rate, '%')}, transferred {fmt(overall.transfer_rate, '%')}, "
          f"CSAT {fmt(overall.csat_average, '')} ({overall.csat_responses}), NPS {fmt(overall.nps, '')}")
    print(follow_up_line(done_on_time))
    for dimension in ("queue", "channel", "agent"):
        keys = [f"{key} {k.offered}" for d, key, k in rows if d == dimension]
        print(f"  by {dimension}: {', '.join(keys) or '-'}")
    print(f"report: {html_path}\n        {csv_path}")
    return 0

