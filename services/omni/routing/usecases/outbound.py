"""Callbacks whose calls did not reach the customer: routing's side of the outbound calls
(docs/outbound.md). Sessions reports each call's final result (`outbound_call_finished`); routing
keeps the outcome (the history the best time to call is learned from) and the owner of the work's
partition makes the next attempt due, or gives up, in its fenced change."""

from __future__ import annotations

import time
from collections.abc import Callable

from omni.routing.context import ContextSources
from omni.routing.domain import callbacks
from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.best_time import AnswerRates, CallCounts, HistoryLimits, hour_of_week, segment_of
from omni.routing.repository import RoutingRepository
from omni.routing.usecases.engine_room import EngineRoom
from omni.routing.usecases.work import WorkUseCases

# Segments whose counts a replica keeps at most (a segment names a language, which callers choose).
MAX_CACHED_SEGMENTS = 256


class CallHistory:
    """The outcomes of outbound calls, per customer and per segment."""

    def __init__(self, repository: RoutingRepository, limits: HistoryLimits,
                 clock: Callable[[], float] = time.time) -> None:
        self._repo = repository
        self._limits = limits
        self._clock = clock
        self._segments: dict[str, tuple[float, CallCounts]] = {}

    async def record(self, call_id: str, customer: str, segment: str, hour: int, reached: bool) -> None:
        await self._repo.record_call(call_id, customer=customer, segment=segment, hour=hour, reached=reached,
                                     at=self._clock())

    async def rates(self, customer: str, segment: str) -> AnswerRates:
        now = self._clock()
        cached = self._segments.get(segment)
        if cached is None or cached[0] <= now:
            counts = CallCounts()
            since = now - self._limits.segment_days * 86400
            for hour, reached, calls in await self._repo.segment_calls(segment, since):
                counts.add(hour, reached, calls)
            cached = (now + self._limits.segment_cache_seconds, counts)
            if len(self._segments) >= MAX_CACHED_SEGMENTS:
                self._segments.clear()
            self._segments[segment] = cached
        own = CallCounts.of(await self._repo.customer_calls(customer, self._limits.customer_calls))
        return AnswerRates(customer=own, segment=cached[1])


class OutboundWork:
    def __init__(self, room: EngineRoom, work: WorkUseCases, contexts: ContextSources, policy: AttemptPolicy,
                 history: CallHistory) -> None:
        """`policy`: the attempts of queues without a policy of their own."""
        self._room = room
        self._work = work
        self._contexts = contexts
        self._policy = policy
        self._history = history

    async def call_finished(self, work_id: str, attempt: int, reached: bool, result: str, inbox: str) -> None:
        """Call `attempt` of callback `work_id` ended with `result`: its outcome joins the
        customer's call history; unreached, the agent is freed and the callback waits for its next
        call (at the customer's best hour when the queue's policy has a best-time window). A
        redelivery (an attempt already counted) or a call of work no longer with an agent changes
        nothing."""
        live = self._room.engine.live_work(work_id)
        if live is None or not self._work.for_inbox(live.queue_id, inbox):
            return
        facts = await self._contexts.customer(live)
        customer = facts.customer_id or live.customer_id or live.callback_number
        segment = segment_of(live.language, live.vip or facts.vip)
        policy, zone = callbacks.policy_of(self._room.engine, live, self._policy)
        await self._history.record(f"{work_id}:{attempt}", customer, segment,
                                   hour_of_week(self._room.engine.clock(), zone), reached)
        rates = await self._history.rates(customer, segment) if policy.best_time_window and not reached else None
        # The customer asked for the first call; a redial is a call they did not ask for.
        unwanted = not reached and facts.do_not_contact
        async with self._room.change() as engine:
            callbacks.after_call(engine, work_id, attempt, reached, result, default=self._policy, unwanted=unwanted,
                                 rates=rates)
