"""`omni tour`: a customer calls, chats and emails the running stack; an agent answers each;
then what happened (offers, waits, the ticket they ended up on)."""

from __future__ import annotations

import argparse
import asyncio


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("tour", help="a short live scenario against the running stack (`make run`)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each step")
    parser.set_defaults(func=cmd_tour)


def cmd_tour(args: argparse.Namespace) -> int:
    from omni.simulator import tour
    from omni.simulator.live import StackAccess, StackNotRunning

    try:
        access = StackAccess.open(args.data_dir)
    except StackNotRunning as exc:
        raise SystemExit(str(exc)) from exc
    try:
        result = asyncio.run(tour.run(access, step_seconds=args.timeout))
    except tour.TourFailed as exc:
        print(f"tour stopped: {exc}")
        return 1
    return 0 if result.one_ticket_for_all_channels else 1
