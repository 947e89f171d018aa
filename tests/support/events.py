"""One recorder of what services publish, for tests that check events or wait for them.

It listens with a plain (core) NATS subscription per domain, as an outside observer would: it
sees every publish, including repeats that JetStream then drops as duplicates (compare envelope
ids to count distinct events), and it sees one service's events on one domain in the order the
service published them. That order is what makes a recorded event a barrier: once a service's
later event is here, everything it published on that domain before is here too.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import nats
from google.protobuf.message import Message
from nats.js.api import ConsumerInfo

from omni.runtime.events import EventBus, stream_name, subject_for, unpack
from omnichannel.common.v1.event_pb2 import EventEnvelope
from tests.support.polling import WITHIN, eventually

M = TypeVar("M", bound=Message)


class EventRecorder:
    """Every event published on some domains' subjects since `start`, in arrival order."""

    def __init__(self, domains: tuple[str, ...]) -> None:
        self.domains = domains
        self.envelopes: list[EventEnvelope] = []
        self._nc: Any = None

    @classmethod
    async def start(cls, nats_url: str, *domains: str) -> EventRecorder:
        """Recording from now on (the subscription is confirmed by the server before this returns)."""
        recorder = cls(domains)
        recorder._nc = await nats.connect(nats_url, name="test-event-recorder")

        async def received(msg: Any) -> None:
            recorder.envelopes.append(EventEnvelope.FromString(msg.data))

        for domain in domains:
            await recorder._nc.subscribe(subject_for(domain, ">"), cb=received)
        await recorder._nc.flush()
        return recorder

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.drain()

    async def __aenter__(self) -> EventRecorder:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()

    def of(self, *event_types: str) -> list[EventEnvelope]:
        """The envelopes of these types (of every type if none are named), in arrival order."""
        return [e for e in self.envelopes if not event_types or e.type in event_types]

    def types(self) -> list[str]:
        return [e.type for e in self.envelopes]

    def payloads(self, event_type: str, payload: type[M], where: Callable[[M], object] | None = None) -> list[M]:
        """The payloads of the `event_type` events recorded so far that match `where`."""
        found = [unpack(e, payload) for e in self.of(event_type)]
        return [p for p in found if where is None or where(p)]

    async def wait(self, event_type: str, payload: type[M], where: Callable[[M], object] | None = None, *,
                   count: int = 1, within: float = WITHIN) -> list[M]:
        """Wait until at least `count` `event_type` events matching `where` were published; all
        those recorded by then."""

        async def matching() -> list[M]:
            return self.payloads(event_type, payload, where)

        what = f"{count} {event_type} event(s){' matching the condition' if where else ''} on {self.domains}"
        try:
            return await eventually(matching, lambda found: len(found) >= count, what=what, within=within)
        except AssertionError as failure:
            raise AssertionError(f"{failure}; recorded: {self.types()}") from None


async def all_acknowledged(bus: EventBus, domain: str, durable: str, *, within: float = WITHIN) -> ConsumerInfo:
    """Wait until the durable consumer `durable` of a whole domain has acknowledged (or terminated)
    every event the domain's stream holds now.

    The server then has nothing left to deliver to it, not even again: whatever its handler did
    with those events is all it will ever do. (An event that failed and waits to be retried is
    still pending, so this does not hold while one does.)"""
    stream = stream_name(domain)
    last = (await bus.js.stream_info(stream)).state.last_seq

    async def state() -> ConsumerInfo:
        info: ConsumerInfo = await bus.js.consumer_info(stream, durable)
        return info

    def settled(info: ConsumerInfo) -> bool:
        floor = info.ack_floor.stream_seq if info.ack_floor else 0
        return info.num_pending == 0 and info.num_ack_pending == 0 and (floor or 0) >= last

    return await eventually(state, settled, what=f"consumer {durable} acknowledging all {last} event(s) of {stream}",
                            within=within)


__all__ = ["EventRecorder", "all_acknowledged"]
