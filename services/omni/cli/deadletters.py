"""`omni deadletters list|replay`: the events consumers gave up on, and sending them again."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from omni.runtime import dead_letters
from omni.runtime.events import EventBus

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


def nats_url(args: argparse.Namespace) -> str:
    """--nats-url, else OMNI_NATS_URL, else the local stack's (stack.json in the data dir)."""
    if args.nats_url:
        return str(args.nats_url)
    if os.environ.get("OMNI_NATS_URL"):
        return os.environ["OMNI_NATS_URL"]
    stack = Path(args.data_dir) / "stack.json"
    if stack.exists():
        from omni.devstack.stack import StackInfo

        return StackInfo.load(stack).nats_url
    return DEFAULT_NATS_URL


async def _list(args: argparse.Namespace) -> int:
    bus = await EventBus.connect(nats_url(args), "cli")
    try:
        found = await dead_letters.list_letters(bus, args.consumer, args.limit)
        for stored in found:
            letter = stored.letter
            print(f"#{stored.seq}  {letter.failed_at.ToDatetime():%Y-%m-%d %H:%M:%S}  {letter.consumer}  "
                  f"{letter.event.type} {letter.event.id} ({letter.event.subject})  after {letter.attempts} "
                  f"attempt(s): {letter.error}")
        counts = await dead_letters.waiting(bus)
        print(f"{sum(counts.values())} dead letter(s) waiting" + (
            f": {', '.join(f'{c} {n}' for c, n in sorted(counts.items()))}" if counts else ""))
    finally:
        await bus.close()
    return 0


async def _replay(args: argparse.Namespace) -> int:
    if not args.all and not args.seq:
        raise SystemExit("name the letters to replay (their #numbers from `omni deadletters list`) or pass --all")
    bus = await EventBus.connect(nats_url(args), "cli")
    try:
        found = await dead_letters.list_letters(bus, args.consumer, limit=args.limit)
        chosen = [s for s in found if args.all or s.seq in set(args.seq)]
        if missing := set(args.seq) - {s.seq for s in chosen}:
            named = ", ".join(f"#{n}" for n in sorted(missing))
            print(f"not found (already replayed, or not of this consumer): {named}")
        replayed = await dead_letters.replay(bus, chosen)
        print(f"replayed {replayed} event(s) to their subjects")
    finally:
        await bus.close()
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("deadletters", help="list the events consumers gave up on, or replay them")
    actions = parser.add_subparsers(dest="action", required=True)
    for name, run, summary in (("list", _list, "show the dead letters, oldest first, with their errors"),
                               ("replay", _replay, "publish the letters' events again and delete the letters")):
        action = actions.add_parser(name, help=summary)
        action.add_argument("--nats-url", default="", help="the bus (default: OMNI_NATS_URL, else the local stack's)")
        action.add_argument("--consumer", default="", help="only this consumer's letters, e.g. tickets-sessions")
        action.add_argument("--limit", type=int, default=1000, help="look at most at this many letters")
        if name == "replay":
            action.add_argument("seq", type=int, nargs="*", help="the letters' #numbers")
            action.add_argument("--all", action="store_true", help="every letter (of --consumer, when given)")
        action.set_defaults(func=lambda args, run=run: asyncio.run(run(args)))
