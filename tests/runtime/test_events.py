"""Event bus on a real nats-server: dedup, redelivery, dead letters, crash recovery, tracing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.wrappers_pb2 import Int32Value, StringValue
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from omni.runtime import storage
from omni.runtime.auth import Role
from omni.runtime.consumer import Consumer
from omni.runtime.dead_letters import read_dead_letters
from omni.runtime.events import Delivery, EventBus, PermanentError, unpack
from omni.runtime.server import ServiceHost
from tests.runtime import probe
from tests.support.events import all_acknowledged
from tests.support.polling import eventually

WORKER = Path(__file__).with_name("event_worker.py")


async def test_duplicate_publish_with_same_id_is_dropped(nats) -> None:
    bus = await EventBus.connect(nats.url, "test")
    try:
        await bus.publish("tickets", "ticket_created", "tickets/T-1", StringValue(value="a"), event_id="evt-1")
        await bus.publish("tickets", "ticket_created", "tickets/T-1", StringValue(value="a"), event_id="evt-1")
        await bus.publish("tickets", "ticket_created", "tickets/T-2", StringValue(value="b"), event_id="evt-2")
        info = await bus.js.stream_info("TICKETS")
        assert info.state.messages == 2
    finally:
        await bus.close()


async def test_streams_are_provisioned_idempotently(nats) -> None:
    first = await EventBus.connect(nats.url, "a")
    second = await EventBus.connect(nats.url, "b")  # same streams again: no error
    try:
        names = {s.config.name for s in await second.js.streams_info()}
        assert {"SESSIONS", "TICKETS", "ROUTING", "KNOWLEDGE", "DEADLETTER"} <= names
    finally:
        await first.close()
        await second.close()


async def test_transient_failure_is_retried_then_handled(nats) -> None:
    bus = await EventBus.connect(nats.url, "test")
    attempts: list[int] = []
    handled = asyncio.Event()

    async def flaky(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        if delivery.attempt < 3:
            raise ConnectionError("database briefly away")
        handled.set()

    consumer = Consumer(bus, name="flaky", domain="tickets", handler=flaky, max_attempts=5, backoff=(0.05,))
    await consumer.start()
    try:
        await bus.publish("tickets", "ticket_created", "tickets/T-1", StringValue(value="x"))
        await asyncio.wait_for(handled.wait(), 10)
        assert attempts == [1, 2, 3]
        assert await read_dead_letters(bus, consumer.durable) == []
    finally:
        await consumer.stop()
        await bus.close()


async def test_always_failing_event_lands_in_dead_letter_stream_with_its_error(nats) -> None:
    bus = await EventBus.connect(nats.url, "test")
    attempts: list[int] = []

    async def broken(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        raise ValueError("customer C-404 has no identities")

    consumer = Consumer(bus, name="broken", domain="sessions", handler=broken, max_attempts=3, backoff=(0.05,))
    await consumer.start()
    try:
        sent = await bus.publish("sessions", "interaction_received", "sessions/S-1", StringValue(value="x"))

        [letter] = await eventually(lambda: read_dead_letters(bus, consumer.durable),
                                    what="the failing event in the dead-letter stream")
        assert letter.event.id == sent.id
        assert letter.attempts == 3
        assert "customer C-404 has no identities" in letter.error
        assert letter.original_subject == "omnichannel.sessions.interaction_received"
        # Terminated: the server counts it as done and will not deliver it again, so the three
        # attempts so far are all there will be.
        await all_acknowledged(bus, "sessions", consumer.durable)
        assert attempts == [1, 2, 3]
    finally:
        await consumer.stop()
        await bus.close()


async def test_permanent_error_is_dead_lettered_without_retries(nats) -> None:
    bus = await EventBus.connect(nats.url, "test")
    attempts: list[int] = []

    async def reject(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        raise PermanentError("payload is not an Interaction")

    consumer = Consumer(bus, name="strict", domain="routing", handler=reject, max_attempts=5, backoff=(0.05,))
    await consumer.start()
    try:
        await bus.publish("routing", "work_offered", "work/W-1", StringValue(value="x"))

        await eventually(lambda: read_dead_letters(bus, consumer.durable),
                         what="the rejected event in the dead-letter stream")
        await all_acknowledged(bus, "routing", consumer.durable)
        assert attempts == [1]
    finally:
        await consumer.stop()
        await bus.close()


@pytest.mark.slow
async def test_consumer_killed_half_way_handles_every_event_once_in_effect(nats, mongo, settings) -> None:
    total = 300
    bus = await EventBus.connect(nats.url, "test")
    client = storage.connect(mongo.url)
    db = client[settings.mongo_database]
    env = {**os.environ, "NATS_URL": nats.url, "MONGO_URL": mongo.url, "MONGO_DB": settings.mongo_database}
    try:
        for i in range(total):
            await bus.publish("sessions", "interaction_received", f"sessions/S-{i}", StringValue(value=str(i)),
                              event_id=f"evt-{i}")

        async def effects() -> int:
            doc = await db["effects"].find_one({"_id": "counter"})
            return int(doc["n"]) if doc else 0

        worker = subprocess.Popen([sys.executable, str(WORKER)], env=env)  # noqa: ASYNC220
        try:
            await eventually(effects, lambda n: n >= total // 2, what="half the events handled", within=120)
            worker.send_signal(signal.SIGKILL)  # no goodbye: in-flight events are unacked
            worker.wait()
            killed_at = await effects()
            assert killed_at < total
        finally:
            worker.kill()

        restarted = subprocess.Popen([sys.executable, str(WORKER)], env=env)  # noqa: ASYNC220
        try:
            # Every event acknowledged, the killed batch's too (redelivered once its ack wait ran
            # out): nothing can come again to count twice.
            await all_acknowledged(bus, "sessions", "worker-sessions", within=120)
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.wait(10)
        assert await effects() == total
        assert await db["seen"].count_documents({}) == total
        assert await db["processed_events"].count_documents({}) == total
    finally:
        await bus.close()
        await client.close()


async def test_trace_started_in_grpc_call_continues_in_the_consumer(
    start_service, token_for, spans: InMemorySpanExporter
) -> None:
    host: ServiceHost = await start_service(probe.SPEC)
    assert host.runtime is not None
    consumed = asyncio.Event()

    async def on_probed(delivery: Delivery) -> None:
        consumed.set()

    consumer = host.runtime.consumer("tickets", on_probed, event_types=["probed"], name="tracer")
    await consumer.start()
    await probe.call(host.address, "Publish", b"hello", token_for(Role.AGENT))
    await asyncio.wait_for(consumed.wait(), 10)

    async def ended() -> tuple[list[ReadableSpan], list[ReadableSpan]]:
        """The server's span of the call and the consumer's of the event, once each has ended."""
        finished = spans.get_finished_spans()
        return ([s for s in finished if s.name.endswith("Probe/Publish") and s.kind.name == "SERVER"],
                [s for s in finished if s.name.startswith("consume omnichannel.tickets.probed")])

    [server_span], [consumer_span] = await eventually(ended, lambda found: all(found),
                                                      what="the server's and the consumer's spans ended")
    finished = spans.get_finished_spans()
    assert consumer_span.context.trace_id == server_span.context.trace_id
    by_id = {s.context.span_id: s for s in finished}
    ancestor = consumer_span
    while ancestor.parent is not None and ancestor.parent.span_id in by_id:
        ancestor = by_id[ancestor.parent.span_id]
        if ancestor is server_span:
            break
    assert ancestor is server_span, "consumer span does not descend from the gRPC server span"


async def test_unpack_rejects_a_payload_of_another_type(nats) -> None:
    bus = await EventBus.connect(nats.url, "test")
    try:
        envelope = await bus.publish("tickets", "ticket_created", "tickets/T-1", StringValue(value="x"))
        assert unpack(envelope, StringValue).value == "x"
        with pytest.raises(PermanentError, match=r"expected google\.protobuf\.Int32Value"):
            unpack(envelope, Int32Value)
    finally:
        await bus.close()


async def test_existing_stream_settings_survive_a_service_start(nats) -> None:
    bus = await EventBus.connect(nats.url, "test")
    try:
        config = (await bus.js.stream_info("TICKETS")).config
        config.max_msgs = 12345  # an operator tuned the stream
        await bus.js.update_stream(config)
        again = await EventBus.connect(nats.url, "tickets")  # a service (re)starts
        await again.close()
        assert (await bus.js.stream_info("TICKETS")).config.max_msgs == 12345
    finally:
        await bus.close()
