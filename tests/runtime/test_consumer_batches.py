"""A batch consumer on a real nats-server: events fetched while a batch runs wait in the next
batch, and when an earlier event of their key fails meanwhile they are handled after its retry,
not before it (one key's events in stream order, batches or not)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from google.protobuf.wrappers_pb2 import StringValue

from omni.runtime.consumer import Consumer
from omni.runtime.events import Delivery, EventBus, stream_name
from omni.runtime.failure_kinds import Contended, TransientError
from tests.support.events import all_acknowledged
from tests.support.polling import eventually


def _value(delivery: Delivery) -> str:
    payload = StringValue()
    delivery.envelope.payload.Unpack(payload)
    return payload.value


async def test_events_waiting_behind_a_batch_keep_their_order_when_an_earlier_one_is_retried(nats) -> None:
    bus = await EventBus.connect(nats.url, "test-batches")
    handled: list[str] = []
    batches: list[list[str]] = []
    release = asyncio.Event()
    failed_once: set[str] = set()

    async def one(delivery: Delivery) -> None:
        value = _value(delivery)
        if value == "a1" and value not in failed_once:
            failed_once.add(value)
            raise TransientError("the customer's document is busy")
        handled.append(value)

    async def many(deliveries: Sequence[Delivery]) -> None:
        values = [_value(d) for d in deliveries]
        batches.append(values)
        if len(batches) == 1:
            # The first batch holds on until the next events are fetched, then fails as a whole
            # (as a batch whose write conflict outlasted its retries): its events go one by one.
            await release.wait()
            raise Contended("a document of the batch is held")
        handled.extend(values)

    async def publish(*values: str) -> None:
        for value in values:
            await bus.publish("tickets", "ticket_updated", f"tickets/{value[0]}", StringValue(value=value),
                              event_id=value)

    consumer = Consumer(bus, name="ordered", domain="tickets", handler=one, batch_handler=many, batch=8,
                        backoff=(0.2,), retry_cap=0.5, key=lambda envelope: (envelope.subject,))
    await publish("a1", "b1")
    await consumer.start()
    try:
        await eventually(lambda: asyncio.sleep(0, batches), what="the first batch taken")
        await publish("a2", "b2")
        # Both fetched (unacknowledged) while the first batch runs: they wait behind it.
        await eventually(lambda: bus.js.consumer_info(stream_name("tickets"), consumer.durable),
                         lambda info: info.num_ack_pending == 4, what="the later events fetched")
        release.set()
        await all_acknowledged(bus, "tickets", consumer.durable)
        await eventually(lambda: asyncio.sleep(0, handled), lambda seen: len(seen) == 4, what="every event handled")
        assert batches[0] == ["a1", "b1"]
        assert [v for v in handled if v[0] == "a"] == ["a1", "a2"]
        assert [v for v in handled if v[0] == "b"] == ["b1", "b2"]
    finally:
        release.set()
        await consumer.stop()
        await bus.close()
