"""How many interactions per second does tickets thread end to end, next to the raw insert rate
of the same MongoDB-protocol server?

Starts nats-server and SecantusDB, a tickets service in-process, publishes N
`interaction_received` events (N/10 customers, 10 contacts each over phone/chat/email on two
topics, in shuffled order) and times publish → every interaction stored on its ticket (the
threading consumer acknowledged every event), then checks the customers and tickets made against
what the threading rules make of the plan in the order published. In the
same run it times N/10 plain `insert_one` calls into a scratch collection of the same server,
before and after the ingest (the machine is shared: the mean of the two is the baseline).

    .venv/bin/python bench/tickets_ingest.py [--interactions 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import tempfile
import time
from pathlib import Path

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import backing_servers
from omni.devstack.stack import stop_on_signals
from omni.runtime import storage
from omni.runtime.clock import utcnow
from omni.runtime.events import EventBus
from omni.runtime.server import ServiceHost
from omni.tickets.service import SPEC
from omni.tickets.settings import TicketSettings
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1.events_pb2 import InteractionReceived

# Publishes awaiting their acknowledgement at once.
PUBLISHING = 64
CHANNELS = (common_pb2.CHANNEL_PHONE, common_pb2.CHANNEL_CHAT, common_pb2.CHANNEL_EMAIL)


def plan(count: int, seed: int) -> list[common_pb2.Interaction]:
    base = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    found: list[common_pb2.Interaction] = []
    for i in range(count):
        customer, k = divmod(i, 10)
        channel = CHANNELS[k % 3]
        number = f"+86 139 {customer // 10000:04d} {customer % 10000:04d}"
        identities = [common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_PHONE, value=number)]
        if channel == common_pb2.CHANNEL_EMAIL:
            identities.insert(0, common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_EMAIL, value=f"c{customer}@x.cn"))
        msg = common_pb2.Interaction(id=f"bench-{i}", channel=channel, direction=common_pb2.DIRECTION_INBOUND,
                                     session_id=f"bench-s-{i}", queue=("billing", "delivery")[k % 2], text="hi",
                                     customer=common_pb2.CustomerRef(identities=identities))
        msg.occurred_at.FromDatetime(base + dt.timedelta(seconds=customer + k * 600))
        found.append(msg)
    random.Random(seed).shuffle(found)
    return found


def expected_tickets(messages: list[common_pb2.Interaction]) -> int:
    """What the threading rules make of `messages` in the order published (docs/tickets.md): each
    email references nothing, so it is a new matter (3 tickets per customer); a call or chat joins
    the customer's active ticket on its queue, so it opens one only when it comes before every
    other contact of its queue that opened one (all are within the same-topic window)."""
    opened: set[tuple[str, str]] = set()
    count = 0
    for msg in messages:
        topic = (msg.customer.identities[-1].value, msg.queue)
        if msg.channel == common_pb2.CHANNEL_EMAIL or topic not in opened:
            count += 1
        opened.add(topic)
    return count


async def raw_insert_rate(mongo_url: str, count: int, collection: str) -> float:
    client = storage.connect(mongo_url)
    scratch = client["bench_raw"][collection]
    start = time.perf_counter()
    for i in range(count):
        await scratch.insert_one({"_id": i, "text": "hi", "at": utcnow()})
    elapsed = time.perf_counter() - start
    await client.close()
    return count / elapsed


async def run(count: int, seed: int, work: Path) -> None:
    with backing_servers(work) as (nats, mongo):
        settings = TicketSettings(grpc_listen="127.0.0.1:0", nats_url=nats.url, mongo_url=mongo.url,
                                  mongo_database="bench_tickets", replica_secret="bench-replica-secret-0123456789-0123",
                                  token_jwks=str(LocalIssuer.create(work / "tokens").jwks_file),
                                  shutdown_delay=0.1, sla_check_seconds=3600)
        raw_before = await raw_insert_rate(mongo.url, max(count // 10, 200), "before")
        store_cpu_before = mongo.cpu_seconds()
        host = ServiceHost(SPEC, settings)
        await host.start()
        assert host.runtime is not None
        interactions = host.runtime.db["interactions"]
        bus = await EventBus.connect(nats.url, "bench-sessions")
        messages = plan(count, seed)
        start = time.perf_counter()
        # As sessions' many conversations do: several publishes awaiting their acks at once (one
        # connection, so the stream keeps the order they were sent in).
        for first in range(0, count, PUBLISHING):
            await asyncio.gather(*(bus.publish("sessions", "interaction_received", f"sessions/{msg.session_id}",
                                               InteractionReceived(interaction=msg), event_id=msg.id)
                                   for msg in messages[first:first + PUBLISHING]))
        published = time.perf_counter() - start
        # Done when the threading consumer has every event acknowledged (it acks after the commit).
        # Asked of NATS, not of the store: a count on SecantusDB reads every document, and polling
        # it would take the store's time from the ingest being measured.
        stored = 0
        while stored < count:
            await asyncio.sleep(0.2)
            info = await bus.js.consumer_info("SESSIONS", "tickets-sessions")
            if info.delivered.stream_seq >= count and not info.num_pending and not info.num_ack_pending:
                stored = await interactions.count_documents({})
        elapsed = time.perf_counter() - start
        store_cpu = mongo.cpu_seconds() - store_cpu_before
        tickets = await host.runtime.db["tickets"].count_documents({})
        customers = await host.runtime.db["customers"].count_documents({})
        await bus.close()
        await host.stop()
        raw_after = await raw_insert_rate(mongo.url, max(count // 10, 200), "after")
    print(f"machine: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cpus")
    expected = (count // 10, expected_tickets(messages))
    print(f"interactions: {count} (published in {published:.1f} s), customers: {customers} (expected {expected[0]}), "
          f"tickets: {tickets} (expected {expected[1]}){'' if (customers, tickets) == expected else ' WRONG'}")
    rate, raw = count / elapsed, (raw_before + raw_after) / 2
    print(f"end to end (publish → threaded and stored): {rate:,.1f} interactions/s ({elapsed:.1f} s)")
    print(f"store CPU while threading:                  {store_cpu:.1f} s = {store_cpu * 1000 / count:.2f} ms "
          f"per interaction (the MongoDB-protocol server's user + system time)")
    print(f"raw insert_one on the same server:          {raw_before:,.1f} docs/s before, {raw_after:,.1f} after")
    print(f"ingest: {rate:,.1f} interactions/s = {rate / raw:.2f} × raw insert_one ({raw:,.1f} docs/s); "
          f"target ≥ 0.5× (one interaction per transaction: 0.045×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interactions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    stop_on_signals()  # a killed run stops the servers it started
    if args.interactions < 10 or args.interactions % 10:
        parser.error("--interactions must be a positive multiple of 10 (10 contacts per customer)")
    with tempfile.TemporaryDirectory(prefix="tickets-bench-") as work:
        asyncio.run(run(args.interactions, args.seed, Path(work)))


if __name__ == "__main__":
    main()
