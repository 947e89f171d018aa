"""`omni`: run the local stack, mint tokens, the agent desktop, the live tour, simulations, KPI reports and
dead letters."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from omni.devstack.local_issuer import LocalIssuer
from omni.runtime.auth import DESK_AUDIENCES, Role

DEFAULT_DATA_DIR = Path(".omni")


def local_issuer(data_dir: Path) -> LocalIssuer:
    """The local issuer's key: OMNI_ISSUER_KEY_FILE, else the one `make run` made in the data dir."""
    try:
        return LocalIssuer.load(data_dir, os.environ.get("OMNI_ISSUER_KEY_FILE", ""))
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(str(exc)) from None


def cmd_token(args: argparse.Namespace) -> int:
    groups = [g for g in args.groups.split(",") if g]
    print(local_issuer(args.data_dir).mint(args.subject, Role(args.role), groups=groups, session_id=args.session,
                                           audiences=args.audience or DESK_AUDIENCES, ttl_seconds=args.ttl))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from omni.devstack.stack import run

    return run(args.data_dir, ephemeral=args.ephemeral, seed=not args.no_seed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omni", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="local stack state (default .omni)")
    commands = parser.add_subparsers(dest="command", required=True)

    token = commands.add_parser("token", help="mint a bearer token with the local issuer's key (dev stack)")
    token.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
    token.add_argument("--subject", default="A-1001", help="agent / customer / service id")
    token.add_argument("--groups", default="", help="comma-separated groups the caller belongs to")
    token.add_argument("--session", default="", help="customer tokens: the session they may see")
    token.add_argument("--audience", action="append", default=[],
                       help="a service the token is for, e.g. omnichannel.tickets (repeatable; default: the "
                            "desk's: every service and the web gateway)")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    token.set_defaults(func=cmd_token)

    run = commands.add_parser("run", help="start NATS, MongoDB and every service locally with demo data")
    run.add_argument("--ephemeral", action="store_true", help="use free ports instead of the defaults")
    run.add_argument("--no-seed", action="store_true", help="do not load demo data")
    run.set_defaults(func=cmd_run)

    from omni.cli import agent, deadletters, followup, report, simulate, tour

    agent.add_parser(commands)
    deadletters.add_parser(commands)
    followup.add_parser(commands)
    simulate.add_parser(commands)
    report.add_parser(commands)
    tour.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
