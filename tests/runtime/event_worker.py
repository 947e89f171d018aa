"""A consumer process for the crash test: counts each event once, in a transaction.

Like a service, it holds a transaction lease (short here): a killed worker's open transaction
holds the counter until the restarted one reaps its sessions, not for the server's whole
transaction lifetime (60 s)."""

from __future__ import annotations

import asyncio
import os
import signal

from omni.runtime import storage
from omni.runtime.consumer import Consumer
from omni.runtime.events import Delivery, EventBus
from omni.runtime.transactions import TransactionLeases, Transactions

LEASE_SECONDS = 2.0


async def main() -> None:
    bus = await EventBus.connect(os.environ["NATS_URL"], "worker")
    client = storage.connect(os.environ["MONGO_URL"])
    db = client[os.environ["MONGO_DB"]]
    await storage.ensure_indexes(db, storage.processed_event_indexes(3600))
    leases = TransactionLeases(client, db, LEASE_SECONDS)
    keeping = asyncio.create_task(leases.keep())
    processed = storage.ProcessedEvents(client, db, "worker", Transactions(client, leases=leases))

    async def count(delivery: Delivery) -> None:
        async def effect(session: object) -> None:
            await db["effects"].update_one({"_id": "counter"}, {"$inc": {"n": 1}}, upsert=True, session=session)
            await db["seen"].insert_one({"_id": delivery.envelope.id}, session=session)

        await processed.run_once(delivery.envelope.id, effect)  # type: ignore[arg-type]

    consumer = Consumer(bus, name="worker", domain="sessions", handler=count, batch=20, ack_wait=2.0)
    await consumer.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await consumer.stop()
    keeping.cancel()
    await leases.release()
    await bus.close()
    await client.close()


if __name__ == "__main__":
    asyncio.run(main())
