"""The dead letters: events a consumer gave up on (a permanent failure, or one of unknown kind that
kept failing), each with its error, in the DEADLETTER stream under
`omnichannel.deadletter.<consumer durable>`.

They wait there (within the stream's limits) until someone looks: `omni deadletters list` shows
them, `omni deadletters replay` publishes each original event again to its subject (every consumer
of that subject sees it again; they are idempotent by event id) and deletes the letter. Every
service counts the ones waiting: a gauge (`omni.events.dead_letters`, per consumer) and a log line
while any wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Iterable

from nats.js.errors import NotFoundError
from opentelemetry import metrics

from omni.runtime.events import DEADLETTER_STREAM, SUBJECT_ROOT, EventBus
from omni.runtime.telemetry import inject_headers
from omnichannel.common.v1.event_pb2 import DeadLetter

log = logging.getLogger("omni.deadletters")

PREFIX = f"{SUBJECT_ROOT}.deadletter."


@dataclasses.dataclass(frozen=True)
class StoredLetter:
    seq: int
    letter: DeadLetter


def subject_of(consumer_durable: str) -> str:
    return PREFIX + consumer_durable


async def list_letters(bus: EventBus, consumer_durable: str = "", limit: int = 100) -> list[StoredLetter]:
    """The dead letters (of one consumer, or all), oldest first, without consuming them."""
    try:
        info = await bus.js.stream_info(DEADLETTER_STREAM)
    except NotFoundError:
        return []
    found: list[StoredLetter] = []
    seq = info.state.first_seq
    while seq and seq <= info.state.last_seq and len(found) < limit:
        with contextlib.suppress(NotFoundError):
            raw = await bus.js.get_msg(DEADLETTER_STREAM, seq)
            if raw.data and (not consumer_durable or raw.subject == subject_of(consumer_durable)):
                found.append(StoredLetter(seq, DeadLetter.FromString(raw.data)))
        seq += 1
    return found


async def read_dead_letters(bus: EventBus, consumer_durable: str, limit: int = 100) -> list[DeadLetter]:
    """The dead letters of one consumer, oldest first."""
    return [stored.letter for stored in await list_letters(bus, consumer_durable, limit)]


async def replay(bus: EventBus, letters: Iterable[StoredLetter]) -> int:
    """Publish each letter's event again to its original subject, then delete the letter; how many.

    The replay gets a message id of its own: the original's may still be in the stream's
    duplicate window, and the server would drop it."""
    replayed = 0
    for stored in letters:
        letter = stored.letter
        if not letter.original_subject or not letter.event.id:
            log.warning("dead letter #%d has no event to replay (%s); left in place", stored.seq, letter.error)
            continue
        await bus.js.publish(letter.original_subject, letter.event.SerializeToString(),
                             headers=inject_headers({"Nats-Msg-Id": f"{letter.event.id}:replay:{stored.seq}"}))
        await bus.js.delete_msg(DEADLETTER_STREAM, stored.seq)
        replayed += 1
    return replayed


async def waiting(bus: EventBus) -> dict[str, int]:
    """Consumer durable → how many of its dead letters wait."""
    try:
        info = await bus.js.stream_info(DEADLETTER_STREAM, subjects_filter=f"{PREFIX}>")
    except NotFoundError:
        return {}
    return {subject.removeprefix(PREFIX): int(count) for subject, count in (info.state.subjects or {}).items()}


class Watch:
    """Counts the waiting dead letters every `interval` seconds for the gauge, and says so in the log
    while there are any (once per change, and again every `remind` seconds)."""

    def __init__(self, bus: EventBus, interval: float = 60.0, remind: float = 3600.0) -> None:
        self._bus = bus
        self._interval = interval
        self._remind = remind
        self.counts: dict[str, int] = {}

    def observe(self, provider: metrics.MeterProvider | None = None) -> None:
        meter = metrics.get_meter("omni.events", meter_provider=provider)
        meter.create_observable_gauge(
            "omni.events.dead_letters", unit="{event}", description="dead letters waiting for a replay, per consumer",
            callbacks=[lambda options: [metrics.Observation(n, {"consumer": c}) for c, n in self.counts.items()]])

    async def run(self) -> None:
        said: dict[str, int] = {}
        since = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                self.counts = await waiting(self._bus)
            except Exception as exc:  # NATS away: the last counts stand until it is back
                log.debug("cannot count dead letters: %s", exc)
            else:
                if self.counts and (self.counts != said or loop.time() - since > self._remind):
                    log.warning("%d dead letter(s) wait (%s); list them with `omni deadletters list`, replay with "
                                "`omni deadletters replay`", sum(self.counts.values()),
                                ", ".join(f"{c}: {n}" for c, n in sorted(self.counts.items())))
                    said, since = dict(self.counts), loop.time()
            await asyncio.sleep(self._interval)


__all__ = ["StoredLetter", "Watch", "list_letters", "read_dead_letters", "replay", "subject_of", "waiting"]
