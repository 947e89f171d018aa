"""The event bus on NATS JetStream.

Subjects are `omnichannel.<domain>.<type>`, one stream per domain, every event in one
`EventEnvelope`. Publishers set `Nats-Msg-Id` to the event id so the server drops
duplicates. Every stream, the dead letters' included, is bounded in age and size
(`StreamLimits`). Consumers (`runtime/consumer.py`) are durable pull consumers with explicit ack;
trace context travels in the NATS headers.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import nats
from google.protobuf.message import Message
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError
from opentelemetry import trace

from omni.runtime.clock import utcnow
from omni.runtime.failure_kinds import PermanentError
from omni.runtime.telemetry import inject_headers, tracer
from omnichannel.common.v1.event_pb2 import EventEnvelope

log = logging.getLogger("omni.events")

SUBJECT_ROOT = "omnichannel"
DEADLETTER_DOMAIN = "deadletter"
DEADLETTER_STREAM = "DEADLETTER"
# Seconds of publish-id memory in every stream.
DUPLICATE_WINDOW = 120.0
DOMAINS = ("sessions", "tickets", "routing", "knowledge", "supervision")

M = TypeVar("M", bound=Message)


def stream_name(domain: str) -> str:
    return domain.upper()


def subject_for(domain: str, event_type: str) -> str:
    return f"{SUBJECT_ROOT}.{domain}.{event_type}"


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


@dataclasses.dataclass(frozen=True)
class StreamLimits:
    """How long and how much each stream keeps (seconds, bytes; 0: no limit). Events older or beyond
    are dropped oldest first, whether consumed or not, so the limits must outlast any outage. The
    services take them from their settings (`event_stream_max_*`, `dead_letter_max_*`)."""

    max_age: float
    max_bytes: int
    dead_letter_max_age: float
    dead_letter_max_bytes: int

    def of(self, domain: str) -> tuple[float, int]:
        if domain == DEADLETTER_DOMAIN:
            return self.dead_letter_max_age, self.dead_letter_max_bytes
        return self.max_age, self.max_bytes


class EventBus:
    def __init__(self, nc: NatsClient, producer: str, *, stream_replicas: int = 1,
                 limits: StreamLimits | None = None) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.producer = producer
        self._replicas = stream_replicas
        # None (tools, tests): new streams without limits, existing ones' left as they are.
        self.limits = limits

    @classmethod
    async def connect(cls, url: str, producer: str, *, stream_replicas: int = 1,
                      limits: StreamLimits | None = None) -> EventBus:
        nc = await nats.connect(
            url,
            name=f"omnichannel-{producer}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
        )
        bus = cls(nc, producer, stream_replicas=stream_replicas, limits=limits)
        await bus.ensure_streams()
        return bus

    async def ensure_streams(self) -> None:
        """Create or update every stream; safe for several services to run at once."""
        for domain in (*DOMAINS, DEADLETTER_DOMAIN):
            name = stream_name(domain)
            max_age, max_bytes = self.limits.of(domain) if self.limits else (0.0, 0)
            config = StreamConfig(
                name=name,
                subjects=[f"{SUBJECT_ROOT}.{domain}.>"],
                num_replicas=self._replicas,
                # Two minutes of publish-id memory: covers client retries after a reconnect.
                duplicate_window=DUPLICATE_WINDOW,
                max_age=max_age or None,
                max_bytes=max_bytes or None,
            )
            try:
                await self.js.add_stream(config)
            except BadRequestError:
                # Exists with other settings (e.g. replicas raised by an operator): keep them, except
                # the subjects and limits this release and its settings decide.
                existing = (await self.js.stream_info(name)).config
                changed = set(existing.subjects or ()) != set(config.subjects or ())
                if self.limits is not None and (existing.max_age or 0.0, existing.max_bytes or -1) != (
                        max_age or 0.0, max_bytes or -1):
                    existing.max_age, existing.max_bytes = config.max_age, config.max_bytes
                    changed = True
                if changed:
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


__all__ = [
    "BatchHandler",
    "Delivery",
    "EventBus",
    "PermanentError",
    "StreamLimits",
    "unpack",
]
