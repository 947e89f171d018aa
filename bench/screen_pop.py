"""How long does the screen pop take — `GetCustomerContext` by the caller's number, over gRPC,
for a customer with 50 interactions among many — next to one indexed `find_one` on the same
MongoDB-protocol server in the same run?

Starts nats-server and SecantusDB and a tickets service in-process, bulk-loads C customers (one
phone identity each, two tickets each) and I interactions spread over them (the one measured
customer has 50 of them, on two tickets), then alternates R screen pops with R `find_one` calls
by `_id` on the identities collection, so both see the same load on the shared machine.

    .venv/bin/python bench/screen_pop.py [--customers 100000] [--interactions 1000000] [--rounds 300]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
from bson.binary import Binary

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import backing_servers
from omni.devstack.stack import stop_on_signals
from omni.runtime.auth import Role, bearer
from omni.runtime.clock import utcnow
from omni.runtime.server import ServiceHost
from omni.tickets.service import SPEC
from omni.tickets.settings import TicketSettings
from omnichannel.common.v1 import common_pb2
from omnichannel.tickets.v1 import tickets_pb2 as pb
from omnichannel.tickets.v1 import tickets_pb2_grpc

SECRET = "bench-secret-0123456789-0123456789"
CHUNK = 2000
MEASURED = 0  # the customer whose screen pops: C-1000000 with 50 interactions
MEASURED_INTERACTIONS = 50


def number(customer: int) -> str:
    return f"+86139{customer // 10000:04d}{customer % 10000:04d}"


def customers(count: int, now: dt.datetime) -> Iterator[dict[str, Any]]:
    for c in range(count):
        yield {"_id": f"C-{1_000_000 + c}", "display_name": f"Customer {c}", "language": "zh",
               "identities": [{"kind": "phone", "value": number(c)}], "tier": "", "tags": [],
               "preferred_agent_id": "", "last_agent_id": "", "merged_into": "", "conflicts": [], "version": 1,
               "created_at": now, "updated_at": now, "origin_key": f"bench:C-{c}"}


def identities(count: int) -> Iterator[dict[str, Any]]:
    for c in range(count):
        yield {"_id": f"phone:{number(c)}", "customer_id": f"C-{1_000_000 + c}", "kind": "phone", "value": number(c)}


def tickets(count: int, now: dt.datetime) -> Iterator[dict[str, Any]]:
    for c in range(count):
        for k, status in enumerate(("open", "closed")):
            yield {"_id": f"T-{2_000_000 + 2 * c + k}", "customer_id": f"C-{1_000_000 + c}", "subject": "bench",
                   "status": status, "priority": 2, "queue": "billing", "group": "billing", "topic": "billing",
                   "assignee_id": "", "tags": [], "origin_channel": "phone", "notes": [], "links": [], "sla": {},
                   "csat": 0, "disposition": "", "version": 1, "created_at": now, "updated_at": now,
                   "reopen_count": 0, "interaction_count": 0, "merged_into": "", "origin_key": f"bench:T-{c}-{k}"}


def interactions(count: int, customer_count: int, now: dt.datetime) -> Iterator[dict[str, Any]]:
    """`count` interactions: the measured customer's 50 first, the rest round-robin over the others."""
    others = max(customer_count - 1, 1)
    for i in range(count):
        c = MEASURED if i < MEASURED_INTERACTIONS else 1 + (i % others)
        ticket = f"T-{2_000_000 + 2 * c + i % 2}"
        raw = common_pb2.Interaction(id=f"I-{i}", channel=common_pb2.CHANNEL_PHONE, session_id=f"S-{i}",
                                     direction=common_pb2.DIRECTION_INBOUND, queue="billing",
                                     text="my bill is wrong, please call me back",
                                     customer=common_pb2.CustomerRef(identities=[common_pb2.Identity(
                                         kind=common_pb2.IDENTITY_KIND_PHONE, value=number(c))]))
        yield {"_id": f"I-{i}", "ticket_id": ticket, "customer_id": f"C-{1_000_000 + c}", "session_id": f"S-{i}",
               "occurred_at": now - dt.timedelta(minutes=count - i), "raw": Binary(raw.SerializeToString()),
               "message_id": "", "created_ticket": False,
               # What ingestion keeps with each interaction: the events it published for it.
               "outbox": [{"type": "interaction_threaded", "subject": f"tickets/{ticket}", "id": f"I-{i}:threaded",
                           "payload": Binary(b"x" * 120)}]}


async def load(db: Any, name: str, docs: Iterator[dict[str, Any]]) -> tuple[int, float]:
    start = time.perf_counter()
    total, chunk = 0, []
    for doc in docs:
        chunk.append(doc)
        if len(chunk) == CHUNK:
            await db[name].insert_many(chunk, ordered=False)
            total, chunk = total + len(chunk), []
    if chunk:
        await db[name].insert_many(chunk, ordered=False)
        total += len(chunk)
    return total, time.perf_counter() - start


def quantile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q * 100) - 1]


async def run(customer_count: int, interaction_count: int, rounds: int, work: Path) -> None:
    with backing_servers(work) as (nats, mongo):
        issuer = LocalIssuer.create(work / "tokens")
        settings = TicketSettings(grpc_listen="127.0.0.1:0", nats_url=nats.url, mongo_url=mongo.url,
                                  mongo_database="bench_screen_pop", token_jwks=str(issuer.jwks_file),
                                  replica_secret=SECRET, shutdown_delay=0.1, sla_check_seconds=3600)
        host = ServiceHost(SPEC, settings)
        await host.start()  # creates the service's indexes before the load
        assert host.runtime is not None
        db = host.runtime.db
        now = utcnow()
        loaded = [await load(db, "customers", customers(customer_count, now)),
                  await load(db, "identities", identities(customer_count)),
                  await load(db, "tickets", tickets(customer_count, now)),
                  await load(db, "interactions", interactions(interaction_count, customer_count, now))]
        stub = tickets_pb2_grpc.TicketServiceStub(grpc.aio.insecure_channel(host.address))
        metadata = bearer(issuer.mint("bench-agent", Role.AGENT, groups=("billing",)))
        request = pb.GetCustomerContextRequest(
            identity=common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_PHONE, value=number(MEASURED)))
        first = await stub.GetCustomerContext(request, metadata=metadata)
        assert len(first.recent_interactions) == 20 and len(first.open_tickets) == 1, first
        identities_collection = db["identities"]
        pops: list[float] = []
        finds: list[float] = []
        for _ in range(rounds):
            start = time.perf_counter()
            await stub.GetCustomerContext(request, metadata=metadata)
            pops.append(time.perf_counter() - start)
            start = time.perf_counter()
            await identities_collection.find_one({"_id": f"phone:{number(MEASURED)}"})
            finds.append(time.perf_counter() - start)
        await host.stop()
    print(f"machine: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cpus")
    for name, (count, seconds) in zip(("customers", "identities", "tickets", "interactions"), loaded, strict=True):
        print(f"loaded {count:,} {name} in {seconds:.1f} s ({count / seconds:,.0f} docs/s, insert_many of {CHUNK})")
    pop50, pop99 = quantile(pops, 0.5) * 1000, quantile(pops, 0.99) * 1000
    find50, find99 = quantile(finds, 0.5) * 1000, quantile(finds, 0.99) * 1000
    print(f"GetCustomerContext (gRPC, by phone, 20 of 50 interactions, agent): p50 {pop50:.2f} ms, "
          f"p99 {pop99:.2f} ms over {rounds} calls")
    print(f"find_one by _id on the same server:                                p50 {find50:.2f} ms, "
          f"p99 {find99:.2f} ms")
    print(f"screen pop: p99 {pop99:.2f} ms = {pop99 / find99:.1f} × one indexed find_one (p99 {find99:.2f} ms) "
          f"with {customer_count:,} customers / {interaction_count:,} interactions; target ≤ 3×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    stop_on_signals()  # a killed run stops the servers it started
    if args.customers < 2 or args.interactions < MEASURED_INTERACTIONS + args.customers - 1 or args.rounds < 100:
        parser.error("need at least 2 customers, interactions ≥ 50 + customers - 1, rounds ≥ 100")
    with tempfile.TemporaryDirectory(prefix="screen-pop-bench-") as work:
        asyncio.run(run(args.customers, args.interactions, args.rounds, Path(work)))


if __name__ == "__main__":
    main()
