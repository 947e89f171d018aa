"""Issue 13, item 8: a dead consumer is not a healthy service. Before, an exception from the
dead-letter publish (or from ack/nak) ended the consumer's task for good while health stayed
SERVING: events piled up unseen. Now a failed answer to the server is logged and the event comes
back; the fetch loop is restarted with back-off; and while a consumer cannot be restarted the
service's health is NOT_SERVING."""

from __future__ import annotations

import asyncio

import grpc
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc

from omni.devstack.processes import ManagedProcess
from omni.runtime import dead_letters
from omni.runtime.consumer import Consumer
from omni.runtime.events import DEADLETTER_STREAM, Delivery, EventBus, PermanentError, stream_name
from omni.runtime.server import ServiceHost
from tests.conftest import StartService
from tests.runtime import probe
from tests.support.polling import eventually


async def test_a_dead_letter_that_cannot_be_published_does_not_stop_the_consumer(nats: ManagedProcess) -> None:
    bus = await EventBus.connect(nats.url, "test")
    handled: list[str] = []

    async def handler(delivery: Delivery) -> None:
        value = delivery.envelope.payload.value.decode(errors="replace")
        if "junk" in value:
            raise PermanentError("not an interaction")
        handled.append(delivery.envelope.subject)

    # Keyed by subject: the letter being retried holds back only the events of its own ticket.
    consumer = Consumer(bus, name="resilient", domain="tickets", handler=handler, max_attempts=2, backoff=(0.05,),
                        retry_cap=0.2, key=lambda envelope: (envelope.subject,))
    await consumer.start()
    try:
        # No dead-letter stream: publishing a letter finds no responder.
        await bus.js.delete_stream(DEADLETTER_STREAM)
        await bus.publish("tickets", "ticket_created", "tickets/junk", StringValue(value="junk"))
        await bus.publish("tickets", "ticket_created", "tickets/T-1", StringValue(value="fine"))
        await eventually(lambda: _copy(handled), lambda seen: "tickets/T-1" in seen,
                         what="the event after the undeliverable letter handled")
        # The letter is kept trying, and lands once its stream is back.
        await bus.ensure_streams()
        [letter] = await eventually(lambda: dead_letters.read_dead_letters(bus, consumer.durable),
                                    what="the letter published once its stream exists", within=30)
        assert letter.event.subject == "tickets/junk"
        await bus.publish("tickets", "ticket_created", "tickets/T-2", StringValue(value="fine"))
        await eventually(lambda: _copy(handled), lambda seen: "tickets/T-2" in seen, what="the consumer still running")
    finally:
        await consumer.stop()
        await bus.close()


async def test_health_is_not_serving_while_a_consumer_cannot_be_restarted(
        start_service: StartService, nats: ManagedProcess) -> None:
    host: ServiceHost = await start_service(probe.SPEC)
    assert host.runtime is not None
    handled: list[str] = []

    async def on_event(delivery: Delivery) -> None:
        handled.append(delivery.envelope.subject)

    consumer = host.runtime.consumer("knowledge", on_event, name="probe")
    await consumer.start()
    bus = host.runtime.bus
    channel = grpc.aio.insecure_channel(host.address)
    health = health_pb2_grpc.HealthStub(channel)
    try:
        assert await _status(health) == health_pb2.HealthCheckResponse.SERVING
        # The stream (and with it the durable consumer) is gone: fetching fails, and so does every restart.
        await bus.js.delete_stream(stream_name("knowledge"))
        await eventually(lambda: _status(health), lambda status: status == health_pb2.HealthCheckResponse.NOT_SERVING,
                         what="health NOT_SERVING", within=60)

        await bus.ensure_streams()
        await eventually(lambda: _status(health), lambda status: status == health_pb2.HealthCheckResponse.SERVING,
                         what="health SERVING once the consumer restarted", within=60)
        await bus.publish("knowledge", "article_published", "articles/K-1", StringValue(value="x"))
        await eventually(lambda: _copy(handled), lambda seen: "articles/K-1" in seen,
                         what="the restarted consumer handling events")
    finally:
        await channel.close()


async def _status(health: health_pb2_grpc.HealthStub) -> int:
    answer = await health.Check(health_pb2.HealthCheckRequest(service=""))
    return int(answer.status)


async def _copy(items: list[str]) -> list[str]:
    await asyncio.sleep(0)
    return list(items)
