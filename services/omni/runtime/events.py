"""The event bus on NATS JetStream.

Subjects are `omnichannel.<domain>.<type>`, one stream per domain, every event in one
`EventEnvelope`. Publishers set `Nats-Msg-Id` to the event id so the server drops
duplicates. Consumers are durable pull consumers with explicit ack; a handler that fails
is retried with back-off, one that fails permanently (or too often) goes to the
dead-letter stream with its error. Trace context travels in the NATS headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import nats
from google.protobuf.message import DecodeError, Message
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from opentelemetry import trace

from omni.runtime.clock import utcnow
from omni.runtime.telemetry import extract_context, inject_headers, tracer
from omnichannel.common.v1.event_pb2 import DeadLetter, EventEnvelope

log = logging.getLogger("omni.events")

SUBJECT_ROOT = "omnichannel"
DEADLETTER_STREAM = "DEADLETTER"
DOMAINS = ("sessions", "tickets", "routing", "knowledge", "supervision")

M = TypeVar("M", bound=Message)


def stream_name(domain: str) -> str:
    return domain.upper()


def subject_for(domain: str, event_type: str) -> str:
    return f"{SUBJECT_ROOT}.{domain}.{event_type}"


class PermanentError(Exception):
    """The event can never be handled (bad data, unknown reference): dead-letter it now."""


def unpack(envelope: EventEnvelope, message_type: type[M]) -> M:
    payload = message_type()
    if not envelope.payload.Unpack(payload):
        raise PermanentError(
            f"event {envelope.id} ({envelope.type}) carries {envelope.payload.TypeName()}, "
            f"expected {message_type.DESCRIPTOR.full_name}"
        )
    return payload


@dataclasses.dataclass(frozen=True)
class Delivery:
    envelope: EventEnvelope
    subject: str
    attempt: int


Handler = Callable[[Delivery], Awaitable[None]]
# Handles a fetched batch as one unit (e.g. one transaction): all of it takes effect or none.
BatchHandler = Callable[[Sequence[Delivery]], Awaitable[None]]


class EventBus:
    def __init__(self, nc: NatsClient, producer: str, *, stream_replicas: int = 1) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.producer = producer
        self._replicas = stream_replicas

    @classmethod
    async def connect(cls, url: str, producer: str, **kwargs: int) -> EventBus:
        nc = await nats.connect(
            url,
            name=f"omnichannel-{producer}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
        )
        bus = cls(nc, producer, **kwargs)
        await bus.ensure_streams()
        return bus

    async def ensure_streams(self) -> None:
        """Create or update every stream; safe for several services to run at once."""
        for domain in (*DOMAINS, "deadletter"):
            name = stream_name(domain)
            config = StreamConfig(
                name=name,
                subjects=[f"{SUBJECT_ROOT}.{domain}.>"],
                num_replicas=self._replicas,
                # Two minutes of publish-id memory: covers client retries after a reconnect.
                duplicate_window=120.0,
            )
            try:
                await self.js.add_stream(config)
            except BadRequestError:
                # Exists with other settings (e.g. replicas raised by an operator): keep them.
                existing = (await self.js.stream_info(name)).config
                if set(existing.subjects or ()) != set(config.subjects or ()):
                    existing.subjects = config.subjects
                    await self.js.update_stream(existing)

    async def publish(
        self,
        domain: str,
        event_type: str,
        subject: str,
        payload: Message,
        *,
        event_id: str | None = None,
    ) -> EventEnvelope:
        """Publish one fact. Returns the envelope; a repeated `event_id` is dropped by the server."""
        envelope = EventEnvelope(
            id=event_id or uuid.uuid4().hex,
            type=event_type,
            subject=subject,
            producer=self.producer,
        )
        envelope.occurred_at.FromDatetime(utcnow())
        envelope.payload.Pack(payload)
        nats_subject = subject_for(domain, event_type)
        with tracer(__name__).start_as_current_span(f"publish {nats_subject}", kind=trace.SpanKind.PRODUCER):
            headers = inject_headers({"Nats-Msg-Id": envelope.id})
            ack = await self.js.publish(nats_subject, envelope.SerializeToString(), headers=headers)
        if ack.duplicate:
            log.info("duplicate event %s dropped by the server", envelope.id)
        return envelope

    async def close(self) -> None:
        if not self.nc.is_closed:
            await self.nc.drain()


class Consumer:
    """A durable pull consumer running `handler` for each event on `domain` (optionally filtered).

    Delivery is at-least-once; pair the handler with `ProcessedEvents.run_once` (or a natural
    idempotency key) so that effects happen once.
    """

    def __init__(
        self,
        bus: EventBus,
        *,
        name: str,
        domain: str,
        handler: Handler,
        event_types: Sequence[str] = (),
        max_attempts: int = 5,
        backoff: Sequence[float] = (1.0, 5.0, 30.0),
        batch: int = 32,
        ack_wait: float = 30.0,
        inactive_threshold: float | None = None,
        start_time: dt.datetime | None = None,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        """`inactive_threshold` (seconds): the server deletes the consumer after that long without a
        fetch, so per-replica consumers of crashed replicas do not pile up. `start_time`: deliver
        events from then on instead of the whole stream (a replica that just loaded its state).
        `batch_handler`: each fetch of several events goes to it at once and is acked after it
        returns; if it fails, nothing is acked and each event goes through `handler` on its own
        (with its own retries and dead letter), so a batch is only ever a faster way to the same
        outcome."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._bus = bus
        self.name = name
        self._domain = domain
        self._handler = handler
        self._filters = [subject_for(domain, t) for t in event_types] or [f"{SUBJECT_ROOT}.{domain}.>"]
        self._max_attempts = max_attempts
        self._backoff = tuple(backoff) or (1.0,)
        self._batch = batch
        self._ack_wait = ack_wait
        self._inactive_threshold = inactive_threshold
        self._start_time = start_time
        self._batch_handler = batch_handler
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def durable(self) -> str:
        return f"{self.name}-{self._domain}".replace(".", "_")

    async def start(self) -> None:
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL if self._start_time is None else DeliverPolicy.BY_START_TIME,
            opt_start_time=self._start_time,
            inactive_threshold=self._inactive_threshold,
            ack_wait=self._ack_wait,
            # The dead-letter decision is ours (it needs the error), so the server never gives up.
            max_deliver=-1,
            max_ack_pending=self._batch * 4,
            filter_subjects=self._filters if len(self._filters) > 1 else None,
            filter_subject=self._filters[0] if len(self._filters) == 1 else None,
        )
        stream = stream_name(self._domain)
        try:
            existing = await self._bus.js.consumer_info(stream, self.durable)
        except NotFoundError:
            await self._bus.js.add_consumer(stream, config)
        else:
            had = existing.config.filter_subjects or [existing.config.filter_subject]
            if sorted(f for f in had if f) != sorted(self._filters):
                # The event types changed with a new release: start over; handlers are idempotent.
                log.warning("consumer %s changed its filter; recreating it", self.durable)
                await self._bus.js.delete_consumer(stream, self.durable)
                await self._bus.js.add_consumer(stream, config)
        self._subscription = await self._bus.js.pull_subscribe_bind(self.durable, stream=stream)
        self._task = asyncio.create_task(self._run(), name=f"consumer {self.durable}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            # An open pull subscription keeps nc.drain() waiting for its full timeout.
            with contextlib.suppress(nats.errors.Error):
                await self._subscription.unsubscribe()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                messages = await self._subscription.fetch(self._batch, timeout=0.5)
            except TimeoutError:
                # nats-py raises its own TimeoutError or, when the deadline runs out between its
                # two pull requests, the builtin one: both only mean "nothing to fetch yet".
                continue
            except (nats.errors.ConnectionClosedError, nats.errors.DrainTimeoutError):
                return
            except Exception:
                log.exception("fetch failed on %s; retrying", self.durable)
                await asyncio.sleep(1.0)
                continue
            if len(messages) > 1 and self._batch_handler is not None and await self._deliver_batch(messages):
                continue
            for message in messages:
                await self._deliver(message)

    async def _deliver_batch(self, messages: Sequence[Msg]) -> bool:
        """True when the batch handler took every message (all acked); False leaves them all unacked."""
        assert self._batch_handler is not None
        with tracer(__name__).start_as_current_span(f"consume batch {self.durable}",
                                                    kind=trace.SpanKind.CONSUMER) as span:
            span.set_attribute("messaging.consumer", self.durable)
            span.set_attribute("messaging.batch.message_count", len(messages))
            try:
                deliveries = [Delivery(envelope=EventEnvelope.FromString(m.data), subject=m.subject,
                                       attempt=m.metadata.num_delivered) for m in messages]
                await self._batch_handler(deliveries)
            except Exception as exc:
                span.record_exception(exc)
                log.info("batch of %d on %s failed (%s: %s); handling its events one by one",
                         len(messages), self.durable, type(exc).__name__, exc)
                return False
        for message in messages:
            await message.ack()
        return True

    async def _deliver(self, message: Msg) -> None:
        attempt = message.metadata.num_delivered
        try:
            envelope = EventEnvelope.FromString(message.data)
        except DecodeError as exc:
            await self._dead_letter(message, EventEnvelope(), f"undecodable envelope: {exc}", attempt)
            return
        span_name = f"consume {message.subject}"
        with tracer(__name__).start_as_current_span(
            span_name, context=extract_context(message.headers), kind=trace.SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.consumer", self.durable)
            span.set_attribute("messaging.message.id", envelope.id)
            try:
                await self._handler(Delivery(envelope=envelope, subject=message.subject, attempt=attempt))
            except PermanentError as exc:
                await self._dead_letter(message, envelope, str(exc), attempt)
                return
            except Exception as exc:
                span.record_exception(exc)
                if attempt >= self._max_attempts:
                    await self._dead_letter(message, envelope, f"{type(exc).__name__}: {exc}", attempt)
                    return
                delay = self._backoff[min(attempt - 1, len(self._backoff) - 1)]
                log.warning(
                    "event %s failed on %s (attempt %d/%d), retrying in %.1fs: %s",
                    envelope.id, self.durable, attempt, self._max_attempts, delay, exc,
                )
                await message.nak(delay=delay)
                return
        await message.ack()

    async def _dead_letter(self, message: Msg, envelope: EventEnvelope, error: str, attempt: int) -> None:
        letter = DeadLetter(
            event=envelope,
            consumer=self.durable,
            error=error,
            attempts=attempt,
            original_subject=message.subject,
        )
        letter.failed_at.FromDatetime(utcnow())
        log.error("event %s dead-lettered by %s after %d attempt(s): %s", envelope.id, self.durable, attempt, error)
        await self._bus.js.publish(
            f"{SUBJECT_ROOT}.deadletter.{self.durable}",
            letter.SerializeToString(),
            headers={"Nats-Msg-Id": f"{self.durable}:{envelope.id or message.reply}"},
        )
        # term() tells the server never to redeliver it; the copy in DEADLETTER is the record.
        await message.term()


async def read_dead_letters(bus: EventBus, consumer_durable: str, limit: int = 100) -> list[DeadLetter]:
    """Read (without consuming) the dead letters of one consumer, oldest first."""
    subject = f"{SUBJECT_ROOT}.deadletter.{consumer_durable}"
    try:
        info = await bus.js.stream_info(DEADLETTER_STREAM)
    except NotFoundError:
        return []
    letters: list[DeadLetter] = []
    seq = info.state.first_seq
    while seq and seq <= info.state.last_seq and len(letters) < limit:
        with contextlib.suppress(NotFoundError):
            raw = await bus.js.get_msg(DEADLETTER_STREAM, seq)
            if raw.subject == subject and raw.data:
                letters.append(DeadLetter.FromString(raw.data))
        seq += 1
    return letters


__all__ = [
    "BatchHandler",
    "Consumer",
    "Delivery",
    "EventBus",
    "PermanentError",
    "read_dead_letters",
    "unpack",
]
