"""`omni report`: the KPI report (JSON + HTML) from the running stack's stored sessions, or from
the records a simulation saved."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "report", help="write the KPI report (daily/weekly/monthly) from stored sessions or simulation records")
    parser.add_argument("--records", type=Path,
                        help="records.jsonl written by `omni simulate` (default: the running stack's sessions)")
    parser.add_argument("--since", type=_date, help="first day to include (YYYY-MM-DD, UTC)")
    parser.add_argument("--until", type=_date, help="first day NOT to include (YYYY-MM-DD, UTC)")
    parser.add_argument("--interval-minutes", type=int, default=30, help="intraday chart resolution")
    parser.add_argument("--out", type=Path, help="report directory (default <data-dir>/reports/live)")
    parser.set_defaults(func=cmd_report)


def _date(text: str) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-23, got {text!r}") from exc


def cmd_report(args: argparse.Namespace) -> int:
    from omni.kpis import records, stored
    from omni.simulator import report
    from omni.simulator.live import StackAccess, StackNotRunning, fetch_sessions

    if args.interval_minutes <= 0:
        raise SystemExit("--interval-minutes must be positive")
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
        except StackNotRunning as exc:
            raise SystemExit(str(exc)) from exc
        contacts, agents = stored.contact_records(sessions), []
        meta = {"mode": "live", "source": access.info.addresses["sessions"]}
        out = args.out or args.data_dir / "reports" / "live"
    built = report.build(contacts, agents, meta=meta, interval_seconds=args.interval_minutes * 60.0)
    json_path, html_path = report.write(built, out)
    overall = built["overall"]
    print(f"{overall['offered']} contacts, answered {report.fmt(overall['answer_rate'], '%')}, "
          f"self-service {overall['overflowed']}, abandoned {overall['abandoned']}, "
          f"SL {report.fmt(overall['service_level'], '%')}, ASA {report.fmt(overall['asa_seconds'], 's')}")
    print(f"report: {html_path}\n        {json_path}")
    return 0
