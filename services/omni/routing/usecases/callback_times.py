"""The times a waiting customer may choose for their callback (`domain/callback_slots.py`):
the queue's history read from storage, its roster and booked callbacks from the engine."""

from __future__ import annotations

from omni.routing.domain import access, callbacks
from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.callback_slots import WEEK, Slot, SlotRules, forecast, hourly, slots
from omni.routing.domain.work import WAITING_STATES, WorkState
from omni.routing.repository import RoutingRepository
from omni.routing.usecases.engine_room import EngineRoom
from omni.routing.usecases.work import WorkUseCases
from omni.runtime.auth import Principal
from omni.runtime.errors import FailedPrecondition

DEFAULT_SLOTS = 12
# Answer times read for the forecast at most (a busy queue's four weeks).
HISTORY_LIMIT = 200_000
# A queue's hourly history is read again after this long: it moves by the hour, while every
# customer offered a callback asks for slots.
HISTORY_SECONDS = 900.0


class CallbackTimes:
    def __init__(self, room: EngineRoom, repository: RoutingRepository, work: WorkUseCases, *,
                 attempts: AttemptPolicy, rules: SlotRules) -> None:
        self._room = room
        self._repository = repository
        self._work = work
        self._attempts = attempts
        self._rules = rules
        # Queue id -> (read at, answered per hour of the week).
        self._history: dict[str, tuple[float, dict[int, float]]] = {}

    async def slots(self, principal: Principal, work_id: str, limit: int) -> tuple[list[Slot], str]:
        """Up to `limit` slots (0: the default) for the work's callback, and the queue's time zone."""
        work = await self._work.get(principal, work_id)
        access.check_callback_booking(principal, work)
        if work.state not in WAITING_STATES:
            raise FailedPrecondition(f"work {work.id} is {work.state.value}; a callback time is chosen while waiting")
        self._room.claims.serve_queue(work.queue_id)
        engine = self._room.engine
        queue = engine.queue(work.queue_id)
        policy, zone = callbacks.policy_of(engine, work, self._attempts)
        now = engine.clock()
        # The queue's current handle time (routing's running estimate, 3 min before any contact).
        handle = engine.queue_stats(queue.id, 0.0).average_handle_time
        expected = forecast(await self._hourly(queue.id, zone, now), agents=engine.serving(queue.id),
                            average_handle_time=handle)
        booked = [w.not_before for w in engine.live()
                  if w.queue_id == queue.id and w.state is WorkState.CALLBACK_SCHEDULED and w.not_before > now]
        return slots(queue, policy, now, expected, booked, self._rules, limit or DEFAULT_SLOTS), zone

    async def _hourly(self, queue_id: str, zone: str, now: float) -> dict[int, float]:
        read_at, by_hour = self._history.get(queue_id, (0.0, {}))
        if now - read_at >= HISTORY_SECONDS:
            weeks = self._rules.history_weeks
            answered = await self._repository.answer_times(queue_id, now - weeks * WEEK, HISTORY_LIMIT)
            by_hour = hourly(answered, weeks, zone)
            self._history[queue_id] = (now, by_hour)
        return by_hour
