"""What does each shape of write cost on the one-machine store (SecantusDB)?

The services choose their writes by these figures: a versioned write is an update filtered on
`{_id, version}` followed by a read, not findAndModify; a batch replaces the tickets it joined
instead of `$set`-ing every field. Starts a SecantusDB, fills a collection of `--documents`
session-shaped documents and one of ticket-shaped documents with the tickets' indexes, and times
in the same run:

- one document changed by findAndModify on `{_id, version}`, by `update_one` on `{_id, version}`
  followed by `find_one` of one field, and (the baseline) one `find_one` by `_id`;
- a bulk write of 64 tickets: `$set` of every field, replacement, insertion.

    .venv/bin/python bench/store_writes.py [--documents 2000] [--rounds 100]
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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pymongo import InsertOne, ReplaceOne, ReturnDocument, UpdateOne

from omni.devstack.processes import free_port, mongo_server
from omni.devstack.stack import stop_on_signals
from omni.runtime import storage
from omni.tickets.domain.lifecycle import Priority, Status
from omni.tickets.domain.model import Ticket
from omni.tickets.repository import INDEXES, TICKETS, ticket_to_doc

BULK = 64


def session_doc(n: int) -> dict[str, Any]:
    return {"_id": f"S-{n}", "version": 1, "queue": "web", "state": "queued", "outbox": [],
            "messages": [{"id": f"M-{k}", "text": "is my parcel on its way?"} for k in range(3)]}


def ticket_doc(n: int, origin: str) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    ticket = Ticket(id=f"T-{n}", customer_id=f"C-{n // 4}", subject="parcel late", status=Status.OPEN,
                    priority=Priority.NORMAL, queue="delivery", topic="delivery", created_at=now, updated_at=now,
                    first_at=now, last_at=now, interaction_count=1, origin_key=origin)
    return ticket_to_doc(ticket)


async def per_call(rounds: int, call: Callable[[int], Awaitable[object]]) -> float:
    """Mean milliseconds of `call(i)` for i in range(rounds), one after the other."""
    start = time.perf_counter()
    for i in range(rounds):
        await call(i)
    return (time.perf_counter() - start) * 1000 / rounds


async def run(documents: int, rounds: int, work: Path) -> None:
    mongo = mongo_server(free_port(), work / "mongo")
    try:
        client = storage.connect(mongo.url)
        db = client["bench_store_writes"]
        sessions, tickets = db["sessions"], db[TICKETS]
        await sessions.insert_many([session_doc(n) for n in range(documents)])
        await tickets.create_indexes(INDEXES[TICKETS])
        await tickets.insert_many([ticket_doc(n, f"interaction:{n}") for n in range(documents)])
        rng = random.Random(7)
        picked = [rng.randrange(documents) for _ in range(rounds)]
        versions = dict.fromkeys(picked, 1)

        async def find_one(i: int) -> object:
            return await sessions.find_one({"_id": f"S-{picked[i]}"})

        async def find_and_modify(i: int) -> object:
            n = picked[i]
            versions[n] += 1
            return await sessions.find_one_and_update(
                {"_id": f"S-{n}", "version": versions[n] - 1},
                {"$inc": {"version": 1}, "$push": {"outbox": {"id": f"E-{i}"}}},
                projection={"outbox": 1}, return_document=ReturnDocument.AFTER)

        async def update_then_read(i: int) -> object:
            n = picked[i]
            versions[n] += 1
            await sessions.update_one({"_id": f"S-{n}", "version": versions[n] - 1},
                                      {"$inc": {"version": 1}, "$push": {"outbox": {"id": f"E-{i}"}}})
            return await sessions.find_one({"_id": f"S-{n}"}, {"outbox": 1})

        read = await per_call(rounds, find_one)
        fam = await per_call(rounds, find_and_modify)
        update = await per_call(rounds, update_then_read)

        bulk_rounds = max(rounds // 10, 3)
        batches = [rng.sample(range(documents), BULK) for _ in range(bulk_rounds)]

        def changed(n: int, i: int) -> dict[str, Any]:
            doc = ticket_doc(n, f"interaction:{n}")
            doc["interaction_count"] = doc["version"] = i + 2
            return doc

        async def set_every_field(i: int) -> object:
            ops = []
            for n in batches[i]:
                doc = changed(n, i)
                doc.pop("_id")
                ops.append(UpdateOne({"_id": f"T-{n}"}, {"$set": doc}))
            return await tickets.bulk_write(ops)

        async def replace(i: int) -> object:
            return await tickets.bulk_write([ReplaceOne({"_id": f"T-{n}"}, changed(n, i)) for n in batches[i]])

        async def insert(i: int) -> object:
            fresh = [ticket_doc(documents + i * BULK + k, f"new:{i}:{k}") for k in range(BULK)]
            return await tickets.bulk_write([InsertOne(doc) for doc in fresh])

        set_ms = await per_call(bulk_rounds, set_every_field)
        replace_ms = await per_call(bulk_rounds, replace)
        insert_ms = await per_call(bulk_rounds, insert)
        await client.close()
    finally:
        mongo.stop()
    print(f"machine: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cpus; {documents:,} documents per collection, {rounds} rounds")
    print(f"find_one by _id (baseline):                     {read:6.2f} ms")
    print(f"findAndModify on {{_id, version}}:                {fam:6.2f} ms = {fam / read:5.1f} × find_one")
    print(f"update_one on {{_id, version}}, then find_one:    {update:6.2f} ms = {update / read:5.1f} × find_one")
    print(f"{BULK} tickets ({len(INDEXES[TICKETS])} indexes besides _id): $set of every field {set_ms:6.1f} ms, "
          f"replaced {replace_ms:6.1f} ms, inserted {insert_ms:6.1f} ms")
    print(f"store writes: a versioned write costs {update:.2f} ms as update + read against {fam:.2f} ms as "
          f"findAndModify ({fam / update:.1f}×); a ticket replaced costs {replace_ms / set_ms:.2f}× its $set")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    if args.documents < BULK or args.rounds < 1:
        parser.error(f"--documents must be at least {BULK} and --rounds at least 1")
    stop_on_signals()  # a killed run stops the server it started
    with tempfile.TemporaryDirectory(prefix="store-writes-") as work:
        asyncio.run(run(args.documents, args.rounds, Path(work)))


if __name__ == "__main__":
    main()
