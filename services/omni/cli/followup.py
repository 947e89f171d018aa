"""`omni followup schedule|cancel|list`: follow-up tasks from the terminal (docs/outbound.md,
"Follow-ups"), as the agent (or supervisor) the token names, over routing's gRPC API."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
from collections.abc import Awaitable, Callable

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from omni.runtime.auth import Role
from omni.runtime.clients import channel
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc

CHANNELS = {"call": common_pb2.CHANNEL_PHONE, "email": common_pb2.CHANNEL_EMAIL, "sms": common_pb2.CHANNEL_SMS}
_NAMES = {number: name for name, number in CHANNELS.items()}
_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _span(text: str) -> float:
    """'90m', '2h', '1d', '45s' in seconds."""
    match = _SPAN.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"expected a time from now like 45s, 90m, 2h or 1d, got {text!r}")
    return float(match.group(1)) * _UNIT[match.group(2)]


def _instant(text: str) -> dt.datetime:
    """An ISO time; without a zone, this machine's local time."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a time like 2026-12-01T10:00+08:00, got {text!r}") from exc
    return moment if moment.tzinfo else moment.astimezone()


def _stamp(moment: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(dt.UTC))
    return stamp


def describe(work: routing_pb2.WorkItem) -> str:
    """One line for a follow-up: id, what, when, for whom, where it stands."""
    follow_up = work.follow_up
    due = follow_up.due_time.ToDatetime(tzinfo=dt.UTC).astimezone()
    whom = f"for {work.preferred_agent_id} (then group {follow_up.group})" if work.preferred_agent_id else (
        f"for group {follow_up.group}")
    state = routing_pb2.WorkState.Name(work.state).removeprefix("WORK_STATE_").lower()
    if work.state == routing_pb2.WORK_STATE_COMPLETED:
        done = work.end_time.ToDatetime(tzinfo=dt.UTC)
        state += " on time" if done <= follow_up.deadline.ToDatetime(tzinfo=dt.UTC) else " late"
        state += f" by {work.assigned_agent_id}"
    return (f"{work.id}  {_NAMES.get(work.channel, '?')} due {due:%Y-%m-%d %H:%M %Z} {whom}, about "
            f"{follow_up.follows_work_id}: {state}" + (f" — {work.text}" if work.text else ""))


async def _schedule(stub: routing_pb2_grpc.RoutingServiceAsyncStub, args: argparse.Namespace) -> None:
    due = args.at or dt.datetime.now(dt.UTC) + dt.timedelta(seconds=args.due_in)
    work = await stub.ScheduleFollowUp(routing_pb2.ScheduleFollowUpRequest(
        work_id=args.work_id, channel=CHANNELS[args.channel], due_time=_stamp(due), group=args.group,
        note=args.note, request_id=args.request_id))
    print(f"scheduled {describe(work)}")


async def _cancel(stub: routing_pb2_grpc.RoutingServiceAsyncStub, args: argparse.Namespace) -> None:
    work = await stub.CancelFollowUp(routing_pb2.CancelFollowUpRequest(work_id=args.follow_up_id, reason=args.reason))
    print(f"cancelled {describe(work)}")


async def _list(stub: routing_pb2_grpc.RoutingServiceAsyncStub, args: argparse.Namespace) -> None:
    request = routing_pb2.ListFollowUpsRequest(page_size=200)
    if args.since:
        request.due_after.CopyFrom(_stamp(args.since))
    if args.until:
        request.due_before.CopyFrom(_stamp(args.until))
    count = 0
    while True:
        page = await stub.ListFollowUps(request)
        for work in page.work_items:
            print(describe(work))
        count += len(page.work_items)
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    print(f"{count} follow-up(s)")


def cmd_followup(args: argparse.Namespace) -> int:
    from omni.cli.agent import stack_addresses
    from omni.cli.main import local_issuer

    routing = args.routing or os.environ.get("OMNI_ROUTING_ADDR") or stack_addresses(args.data_dir).get("routing", "")
    if not routing:
        raise SystemExit("no routing address: pass --routing, set OMNI_ROUTING_ADDR or start the stack (`make run`)")
    token = args.token or local_issuer(args.data_dir).mint(
        args.agent, Role(args.role), groups=[g for g in args.groups.split(",") if g])
    action: Callable[[routing_pb2_grpc.RoutingServiceAsyncStub, argparse.Namespace], Awaitable[None]] = args.action

    async def run() -> None:
        async with channel(routing, token) as chan:
            await action(routing_pb2_grpc.RoutingServiceStub(chan), args)

    try:
        asyncio.run(run())
    except grpc.aio.AioRpcError as exc:
        print(f"refused ({exc.code().name}): {exc.details()}")
        return 1
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("followup", help="schedule, cancel or list follow-up tasks (call, email, SMS)")
    actions = parser.add_subparsers(dest="followup_action", required=True)
    schedule = actions.add_parser("schedule", help="a follow-up of a contact you handled, for you or your group")
    schedule.add_argument("work_id", help="the contact (its work/session id) to follow up")
    schedule.add_argument("--channel", choices=sorted(CHANNELS), default="call")
    when = schedule.add_mutually_exclusive_group(required=True)
    when.add_argument("--in", dest="due_in", type=_span, help="due this long from now: 45s, 90m, 2h, 1d")
    when.add_argument("--at", type=_instant, help="due at this time (ISO; without a zone: local time)")
    schedule.add_argument("--group", default="", help="for this group of yours (default: for you)")
    schedule.add_argument("--note", default="", help="what to do, shown with the offer and on the ticket")
    schedule.add_argument("--request-id", default="", help="a retry with the same id schedules nothing new")
    schedule.set_defaults(action=_schedule)
    cancel = actions.add_parser("cancel", help="cancel a follow-up not yet taken")
    cancel.add_argument("follow_up_id")
    cancel.add_argument("--reason", default="", help="why (on the ticket)")
    cancel.set_defaults(action=_cancel)
    listing = actions.add_parser("list", help="follow-ups you may see, soonest due first")
    listing.add_argument("--since", type=_instant, help="due at or after this time")
    listing.add_argument("--until", type=_instant, help="due before this time")
    listing.set_defaults(action=_list)
    for action in (schedule, cancel, listing):
        action.add_argument("--agent", default="A-1001", help="your agent id")
        action.add_argument("--groups", default="general,billing,complaints", help="groups in the minted token")
        action.add_argument("--role", choices=[Role.AGENT.value, Role.SUPERVISOR.value], default=Role.AGENT.value)
        action.add_argument("--token", default="", help="bearer token (default: minted with the stack's issuer key)")
        action.add_argument("--routing", default="", help="routing host:port (default: from the stack)")
        action.set_defaults(func=cmd_followup)
