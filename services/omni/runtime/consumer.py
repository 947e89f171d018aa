"""Durable JetStream pull consumers: what failures do to an event, in which order events are
handled, and what keeps a consumer alive.

- **Failures by kind** (`runtime/failure_kinds.py`): a transient failure (MongoDB or NATS away, a
  peer UNAVAILABLE, a write conflict) is retried with capped exponential back-off for as long as it
  takes and never dead-lettered; a permanent one is dead-lettered at once; any other is retried
  `max_attempts` times, then dead-lettered. Dead letters can be listed and replayed
  (`runtime/dead_letters.py`, `omni deadletters`).
- **Order per key, concurrency across keys.** Each event has keys (a customer's identities, a
  session; by default one key for all, i.e. one event at a time). Events sharing a key are handled one after the
  other in stream order; others at the same time, so one stuck event (a customer whose document a
  crashed process left locked) holds back only the events of its own keys. An event that must be
  retried blocks its keys: later events of those keys are sent back behind it until it is done.
- **Supervised.** The fetch loop is restarted with back-off when it fails; when it cannot be
  restarted for a reason other than a dependency being away, the consumer reports itself
  unhealthy (the service's health turns NOT_SERVING) and keeps trying.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence

import nats.errors
from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry import trace

from omni.runtime.clock import utcnow
from omni.runtime.events import SUBJECT_ROOT, BatchHandler, Delivery, EventBus, Handler, stream_name, subject_for
from omni.runtime.failure_kinds import Contended, FailureKind, classify
from omni.runtime.telemetry import extract_context, tracer
from omnichannel.common.v1.event_pb2 import DeadLetter, EventEnvelope

log = logging.getLogger("omni.events")

# The keys of an event: events sharing one are handled in stream order, one at a time.
KeyFunction = Callable[[EventEnvelope], Iterable[str]]
# Told when the consumer becomes unhealthy (False: it cannot be restarted) or healthy again.
HealthReport = Callable[["Consumer", bool], Awaitable[None]]
# Consecutive failed restarts (for reasons other than a dependency being away) before unhealthy.
RESTARTS_BEFORE_UNHEALTHY = 3
RESTART_BACKOFF_CAP = 30.0
# How long `stop` lets running handlers finish before cancelling them.
STOP_GRACE = 10.0
# How long a fetch waits on an idle stream; a stop waits for the fetch in flight (so that what
# it brings is handled here, not left for another replica after `ack_wait`). Shorter makes stops
# quicker (0.2 s: a service's stop 0.51 → 0.21 s), but the fetch's whole batch must come within
# it too, and an overloaded stack did worse: 1,000 chats at once on one machine
# (`bench/chat_load.py --chats 1000`) left 1,043 of 3,000 messages unechoed within 60 s with
# 0.2 s, 478 with 0.5 s in the next run (one run each; why was not established).
IDLE_FETCH_WAIT = 0.5
# Unacknowledged events the server lets one consumer have; an event sent back behind a blocked
# key counts until it is handled, so this leaves room for many blocked keys and the others.
MAX_ACK_PENDING = 2048


def one_at_a_time(envelope: EventEnvelope) -> Iterable[str]:
    """The default: one key for every event, so they are handled one after the other. Handlers that
    touch a shared document (a counter) would mostly conflict if run at once; a consumer whose
    events touch separate documents names its keys."""
    return ("",)


@dataclasses.dataclass(frozen=True)
class _Item:
    message: Msg
    envelope: EventEnvelope | None  # None: the envelope could not be decoded
    keys: frozenset[str]

    @property
    def seq(self) -> int:
        return int(self.message.metadata.sequence.stream)


@dataclasses.dataclass(eq=False)
class _Job:
    """Events handled together, after the jobs in `earlier` (those holding one of their keys)."""

    items: list[_Item]
    keys: set[str]
    earlier: set[asyncio.Task[None]]
    started: bool = False
    task: asyncio.Task[None] | None = None


@dataclasses.dataclass
class _Block:
    """A key whose event `seq` waits for a retry at `retry_at` (monotonic); later events wait behind it."""

    seq: int
    retry_at: float
    expires_at: float


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
        retry_cap: float = 30.0,
        batch: int = 32,
        ack_wait: float = 6.0,
        inactive_threshold: float | None = None,
        start_time: dt.datetime | None = None,
        batch_handler: BatchHandler | None = None,
        key: KeyFunction = one_at_a_time,
        on_health: HealthReport | None = None,
    ) -> None:
        """`max_attempts` and `backoff`: for failures of unknown kind. `retry_cap`: the longest pause
        between two tries of a transient failure (doubling from `backoff[0]`).
        `inactive_threshold` (seconds): the server deletes the consumer after that long without a
        fetch, so per-replica consumers of crashed replicas do not pile up. `start_time`: deliver
        events from then on instead of the whole stream (a replica that just loaded its state).
        `batch_handler`: each fetch of several events goes to it at once and is acked after it
        returns; if it fails, nothing is acked and each event goes through `handler` on its own
        (with its own retries and dead letter), so a batch is only ever a faster way to the same
        outcome. `key`: the keys of an event (see the module's doc)."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._bus = bus
        self.name = name
        self._domain = domain
        self._handler = handler
        self._filters = [subject_for(domain, t) for t in event_types] or [f"{SUBJECT_ROOT}.{domain}.>"]
        self._max_attempts = max_attempts
        self._backoff = tuple(backoff) or (1.0,)
        self._retry_cap = max(retry_cap, self._backoff[0])
        self._batch = batch
        self._ack_wait = ack_wait
        self._inactive_threshold = inactive_threshold
        self._start_time = start_time
        self._batch_handler = batch_handler
        self._key = key
        self._on_health = on_health
        self.healthy = True
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # Handlers running or waiting for an earlier event of their keys.
        self._jobs: set[asyncio.Task[None]] = set()
        self._tails: dict[str, asyncio.Task[None]] = {}
        # The batch scheduled last, while it waits for an earlier one: later events join it.
        self._waiting: _Job | None = None
        self._in_flight = 0
        self._room = asyncio.Event()
        self._blocked: dict[str, _Block] = {}
        # Failures so far of an event (by stream sequence) still being retried by this process.
        self._failures: dict[int, int] = {}

    @property
    def durable(self) -> str:
        return f"{self.name}-{self._domain}".replace(".", "_")

    async def start(self) -> None:
        await self._bind()
        self._task = asyncio.create_task(self._supervise(), name=f"consumer {self.durable}")

    async def _bind(self) -> None:
        """Create the durable consumer if it is missing (or its filter changed) and subscribe to it."""
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL if self._start_time is None else DeliverPolicy.BY_START_TIME,
            opt_start_time=self._start_time,
            inactive_threshold=self._inactive_threshold,
            ack_wait=self._ack_wait,
            # The dead-letter decision is ours (it needs the error), so the server never gives up.
            max_deliver=-1,
            max_ack_pending=max(MAX_ACK_PENDING, self._batch * 4),
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
            elif (existing.config.ack_wait, existing.config.max_ack_pending) != (config.ack_wait,
                                                                                   config.max_ack_pending):
                # Settings of an earlier release or configuration; the server edits these in place.
                await self._bus.js.add_consumer(stream, config)
        self._subscription = await self._bus.js.pull_subscribe_bind(self.durable, stream=stream)

    async def stop(self) -> None:
        self._stopping.set()
        self._room.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._jobs:
            _, running = await asyncio.wait(set(self._jobs), timeout=STOP_GRACE)
            for job in running:
                job.cancel()  # unacknowledged: the server delivers it again to whoever is left
            if running:
                await asyncio.wait(running)
        # An open pull subscription keeps nc.drain() waiting for its full timeout.
        with contextlib.suppress(nats.errors.Error, AttributeError):
            await self._subscription.unsubscribe()
        await self._report(healthy=True)  # a stopped consumer no longer holds the service's health

    async def _supervise(self) -> None:
        """Run the fetch loop; when it fails, subscribe again with growing pauses."""
        while not self._stopping.is_set():
            try:
                await self._run()
                return
            except Exception:
                log.exception("consumer %s stopped fetching; restarting it", self.durable)
            failures = 0
            while not self._stopping.is_set():
                await self._pause(min(RESTART_BACKOFF_CAP, 0.5 * 2 ** failures))
                try:
                    await self._bind()
                except Exception as exc:
                    failures += 1
                    # A dependency being away is waited out; anything else may never heal by itself.
                    if classify(exc) is not FailureKind.TRANSIENT and failures >= RESTARTS_BEFORE_UNHEALTHY:
                        await self._report(healthy=False)
                    log.error("consumer %s cannot be restarted (try %d: %s: %s)", self.durable, failures,
                              type(exc).__name__, exc)
                    continue
                log.info("consumer %s restarted", self.durable)
                await self._report(healthy=True)
                break

    async def _report(self, *, healthy: bool) -> None:
        if healthy == self.healthy:
            return
        self.healthy = healthy
        if self._on_health is not None:
            await self._on_health(self, healthy)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _run(self) -> None:
        limit = max(self._batch * 2, 1)
        away = False
        while not self._stopping.is_set():
            if self._in_flight >= limit:
                self._room.clear()
                await self._room.wait()
                continue
            try:
                messages = await self._subscription.fetch(min(self._batch, limit - self._in_flight),
                                                          timeout=IDLE_FETCH_WAIT)
            except TimeoutError:
                # nats-py raises its own TimeoutError or, when the deadline runs out between its
                # two pull requests, the builtin one: both only mean "nothing to fetch yet".
                continue
            except Exception as exc:
                if self._bus.nc.is_closed:
                    return
                if classify(exc) is not FailureKind.TRANSIENT:
                    raise
                if not away:
                    log.warning("consumer %s cannot fetch (%s: %s); trying again", self.durable,
                                type(exc).__name__, exc)
                away = True
                await self._pause(1.0)
                await self._still_there()
                continue
            away = False
            await self._dispatch(messages)

    async def _still_there(self) -> None:
        """Raise NotFoundError when the durable consumer (or its stream) was deleted: fetching from
        it only ever says "unavailable", and only a restart creates it again. Any other failure
        here (NATS away) is left to the next fetch."""
        try:
            await self._bus.js.consumer_info(stream_name(self._domain), self.durable)
        except NotFoundError:
            raise
        except Exception:
            return

    async def _dispatch(self, messages: Sequence[Msg]) -> None:
        ready: list[_Item] = []
        for message in messages:
            item = self._item(message)
            delay = self._held_for(item)
            if delay is not None:
                await self._send_back(item, delay)
                continue
            ready.append(item)
        if self._batch_handler is not None and ready and self._joined_waiting(ready):
            return
        if self._batch_handler is not None and len(ready) > 1:
            self._schedule(ready)
        else:
            for item in ready:
                self._schedule([item])

    def _item(self, message: Msg) -> _Item:
        try:
            envelope = EventEnvelope.FromString(message.data)
        except DecodeError:
            return _Item(message, None, frozenset())
        try:
            keys = frozenset(self._key(envelope))
        except Exception:
            # The handler will meet the same problem and say what it is; no order to keep.
            keys = frozenset()
        return _Item(message, envelope, keys)

    def _held_for(self, item: _Item) -> float | None:
        """Seconds to send `item` back for when an earlier event of one of its keys waits for a retry."""
        now = time.monotonic()
        wait: float | None = None
        for key in item.keys:
            block = self._blocked.get(key)
            if block is None:
                continue
            if block.expires_at < now:
                del self._blocked[key]  # its event went to another replica or was settled there
            elif block.seq < item.seq:
                wait = max(wait or 0.0, block.retry_at - now + 0.1)
        return None if wait is None else max(wait, 0.1)

    def _joined_waiting(self, ready: list[_Item]) -> bool:
        """Add `ready` to the batch scheduled last if that one still waits for an earlier job, has
        room, and `ready` would have to wait too (it shares a key with a job in flight). Under load
        each fetch brings what arrived while the last batch ran, a few events: instead of many
        small batches queued one behind the other (one transaction each), they fill one batch.
        Events sharing no key with a job in flight start on their own, as before."""
        waiting = self._waiting
        if waiting is None or waiting.started or len(waiting.items) + len(ready) > self._batch:
            return False
        keys: set[str] = set().union(*(item.keys for item in ready))
        if not any(key in self._tails for key in keys):
            return False
        assert waiting.task is not None
        for key in keys:
            tail = self._tails.get(key)
            if tail is not None and tail is not waiting.task:
                waiting.earlier.add(tail)
            self._tails[key] = waiting.task
        waiting.items.extend(ready)
        waiting.keys |= keys
        self._in_flight += len(ready)
        return True

    def _schedule(self, items: list[_Item]) -> None:
        keys: set[str] = set().union(*(item.keys for item in items))
        job = _Job(items, keys, {self._tails[k] for k in keys if k in self._tails})
        task = job.task = asyncio.create_task(self._job(job), name=f"{self.durable} job")
        for key in keys:
            self._tails[key] = task
        self._jobs.add(task)
        self._in_flight += len(items)
        if self._batch_handler is not None:
            self._waiting = job

        def done(finished: asyncio.Task[None]) -> None:
            self._jobs.discard(finished)
            self._in_flight -= len(job.items)
            for key in job.keys:
                if self._tails.get(key) is finished:
                    del self._tails[key]
            if self._waiting is job:
                self._waiting = None
            self._room.set()
            if not finished.cancelled() and finished.exception() is not None:
                log.error("consumer %s: a handler job failed", self.durable, exc_info=finished.exception())

        task.add_done_callback(done)

    async def _job(self, job: _Job) -> None:
        heartbeat = asyncio.create_task(self._working(job.items))
        try:
            # `earlier` grows while later events join this job (`_joined_waiting`).
            while pending := {task for task in job.earlier if not task.done()}:
                await asyncio.wait(pending)
            job.started = True
            if self._waiting is job:
                self._waiting = None
            items = await self._not_held(job.items)
            if len(items) > 1:
                failure = await self._deliver_batch(items)
                if failure is None:
                    return
                if classify(failure) is FailureKind.TRANSIENT and not isinstance(failure, Contended):
                    # A dependency is away: each event alone would wait for it just the same.
                    await self._retry_all(items, failure)
                    return
            # One by one, in order; a group of events sharing keys that fails holds back only itself.
            # (Not all at once: the groups of a batch would mostly contend for the same documents.)
            for group in _groups(items):
                await self._deliver_in_order(group)
        finally:
            heartbeat.cancel()

    async def _not_held(self, items: list[_Item]) -> list[_Item]:
        """`items` but those an earlier event of their keys now waits a retry for (it failed while
        they waited for their turn), and the later ones sharing a key with them: those are sent
        back behind it, so a key's events are still handled in stream order."""
        ready: list[_Item] = []
        held_keys: set[str] = set()
        delay = 0.0
        for item in items:
            held = self._held_for(item)
            if held is None and not item.keys & held_keys:
                ready.append(item)
                continue
            delay = max(delay, held or 0.0)
            held_keys |= item.keys
            await self._send_back(item, delay + 0.1)
        return ready

    async def _working(self, items: list[_Item]) -> None:
        """Tell the server, every third of `ack_wait`, that these events are being worked on (or wait
        for an earlier one of their keys): so `ack_wait` can be short, bringing a crashed process's
        events back within seconds, without a slow handler's events being delivered twice."""
        while True:
            await asyncio.sleep(self._ack_wait / 3)
            for item in items:
                with contextlib.suppress(Exception):
                    await item.message.in_progress()

    async def _deliver_in_order(self, items: list[_Item]) -> None:
        for index, item in enumerate(items):
            # An earlier event of its keys may have failed while this one waited for its turn.
            held = self._held_for(item)
            retry_in = await self._deliver(item) if held is None else held
            if retry_in is not None:
                if held is not None:
                    await self._send_back(item, held)
                for later in items[index + 1:]:
                    await self._send_back(later, retry_in + 0.1)
                return

    async def _deliver_batch(self, items: list[_Item]) -> Exception | None:
        """None when the batch handler took every event (all acked); else what it failed with,
        leaving them all unacked."""
        assert self._batch_handler is not None
        if any(item.envelope is None for item in items):
            return DecodeError("an envelope in the batch cannot be decoded")
        with tracer(__name__).start_as_current_span(f"consume batch {self.durable}",
                                                    kind=trace.SpanKind.CONSUMER) as span:
            span.set_attribute("messaging.consumer", self.durable)
            span.set_attribute("messaging.batch.message_count", len(items))
            try:
                await self._batch_handler([
                    Delivery(envelope=item.envelope, subject=item.message.subject,
                             attempt=item.message.metadata.num_delivered)
                    for item in items if item.envelope is not None])
            except Exception as exc:
                span.record_exception(exc)
                log.info("batch of %d on %s failed (%s: %s)", len(items), self.durable, type(exc).__name__, exc)
                return exc
        for item in items:
            await self._settle(item, item.message.ack)
            self._done(item)
        return None

    async def _retry_all(self, items: list[_Item], failure: Exception) -> None:
        failures = max(self._failures.get(item.seq, 0) for item in items) + 1
        delay = self._transient_delay(failures)
        if _worth_a_line(failures):
            log.warning("batch of %d on %s failed for a passing reason (try %d), retrying in %.1fs: %s: %s",
                        len(items), self.durable, failures, delay, type(failure).__name__, failure)
        for item in items:
            await self._retry(item, delay, failures)

    async def _deliver(self, item: _Item) -> float | None:
        """Handle one event: ack, retry later or dead-letter. Seconds until its retry, or None when settled."""
        message = item.message
        attempt = message.metadata.num_delivered
        if item.envelope is None:
            return await self._dead_letter(item, EventEnvelope(), "undecodable envelope", attempt)
        envelope = item.envelope
        with tracer(__name__).start_as_current_span(
            f"consume {message.subject}", context=extract_context(message.headers), kind=trace.SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.consumer", self.durable)
            span.set_attribute("messaging.message.id", envelope.id)
            try:
                await self._handler(Delivery(envelope=envelope, subject=message.subject, attempt=attempt))
            except Exception as exc:
                span.record_exception(exc)
                return await self._failed(item, exc)
        await self._settle(item, message.ack)
        self._done(item)
        return None

    async def _failed(self, item: _Item, exc: Exception) -> float | None:
        assert item.envelope is not None
        kind = classify(exc)
        failures = self._failures.get(item.seq, 0) + 1
        error = f"{type(exc).__name__}: {exc}"
        if kind is FailureKind.PERMANENT or (kind is FailureKind.UNKNOWN and failures >= self._max_attempts):
            return await self._dead_letter(item, item.envelope, str(exc) if kind is FailureKind.PERMANENT else error,
                                           failures)
        if kind is FailureKind.TRANSIENT:
            delay = self._transient_delay(failures)
            if _worth_a_line(failures):
                log.warning("event %s on %s failed for a passing reason (try %d), retrying in %.1fs: %s",
                            item.envelope.id, self.durable, failures, delay, error)
        else:
            delay = self._backoff[min(failures - 1, len(self._backoff) - 1)]
            log.warning("event %s failed on %s (attempt %d/%d), retrying in %.1fs: %s",
                        item.envelope.id, self.durable, failures, self._max_attempts, delay, error)
        return await self._retry(item, delay, failures)

    def _transient_delay(self, failures: int) -> float:
        """Doubling from the first back-off, up to the cap."""
        return float(min(self._retry_cap, self._backoff[0] * 2 ** min(failures - 1, 30)))

    async def _retry(self, item: _Item, delay: float, failures: int) -> float:
        self._failures[item.seq] = failures
        if len(self._failures) > 10_000:
            # Events that went to other replicas meanwhile; counting starts over for the rest.
            self._failures.clear()
        now = time.monotonic()
        for key in item.keys:
            self._blocked[key] = _Block(item.seq, now + delay, now + delay + self._ack_wait + 5.0)
        await self._send_back(item, delay)
        return delay

    def _done(self, item: _Item) -> None:
        self._failures.pop(item.seq, None)
        for key in item.keys:
            block = self._blocked.get(key)
            if block is not None and block.seq == item.seq:
                del self._blocked[key]

    async def _dead_letter(self, item: _Item, envelope: EventEnvelope, error: str, attempts: int) -> float | None:
        message = item.message
        letter = DeadLetter(event=envelope, consumer=self.durable, error=error, attempts=attempts,
                            original_subject=message.subject)
        letter.failed_at.FromDatetime(utcnow())
        try:
            await self._bus.js.publish(
                f"{SUBJECT_ROOT}.deadletter.{self.durable}",
                letter.SerializeToString(),
                headers={"Nats-Msg-Id": f"{self.durable}:{envelope.id or message.reply}"},
            )
        except Exception as exc:
            # Not recorded, so not given up: it comes back and fails (or passes) again.
            log.warning("event %s on %s cannot be dead-lettered yet (%s: %s)", envelope.id, self.durable,
                        type(exc).__name__, exc)
            return await self._retry(item, self._transient_delay(attempts + 1), attempts)
        log.error("event %s dead-lettered by %s after %d attempt(s): %s", envelope.id, self.durable, attempts, error)
        # term() tells the server never to redeliver it; the copy in DEADLETTER is the record.
        await self._settle(item, message.term)
        self._done(item)
        return None

    async def _send_back(self, item: _Item, delay: float) -> None:
        """Have the server deliver `item` again in `delay` seconds."""
        await self._settle(item, lambda: item.message.nak(delay=delay))

    async def _settle(self, item: _Item, answer: Callable[[], Awaitable[None]]) -> None:
        """Ack, nak or term; when the answer cannot reach the server, the event simply comes back
        after `ack_wait` (handlers are idempotent), so it is logged, not raised."""
        try:
            await answer()
        except Exception as exc:
            log.warning("consumer %s could not answer for event #%d (%s: %s); it will be delivered again",
                        self.durable, item.seq, type(exc).__name__, exc)


def _worth_a_line(failures: int) -> bool:
    """Every try while they are few, then at each doubling: an outage is a few lines, not thousands."""
    return failures <= 3 or failures & (failures - 1) == 0


def _groups(items: list[_Item]) -> list[list[_Item]]:
    """`items` split into groups whose keys overlap (transitively), each in its original order."""
    owner: dict[str, int] = {}
    parent: list[int] = []

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for index, item in enumerate(items):
        parent.append(index)
        for key in item.keys:
            if key in owner:
                parent[root(index)] = root(owner[key])
            else:
                owner[key] = index
    grouped: dict[int, list[_Item]] = {}
    for index, item in enumerate(items):
        grouped.setdefault(root(index), []).append(item)
    return list(grouped.values())


__all__ = ["Consumer", "HealthReport", "KeyFunction", "one_at_a_time"]
