"""Deadlines and timers: what the engine's `tick()` has to do at which moment.

A deadline carries a token; the engine checks it against the current state when the deadline
comes due, so a deadline that no longer applies (the offer was answered, the desktop came back)
is simply dropped then instead of being searched for and cancelled.
"""

from __future__ import annotations

import enum
import heapq
import itertools
from collections.abc import Iterator


class Due(enum.StrEnum):
    # An offer not answered in time (token: the offer attempt).
    OFFER = "offer"
    # A hold ends (affinity, supervisor, missed offer, callback not before): route the work again.
    HOLD = "hold"
    # Waiting work moves on to its queue's overflow queue (token: when it reached the queue).
    OVERFLOW = "overflow"
    # A desktop stayed away for the grace period (token: the disconnect count).
    GRACE = "grace"
    # A bot worker's claim lapses (token: the expiry it was claimed until).
    BOT_CLAIM = "bot_claim"


class Deadlines:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Due, str, float]] = []
        # Ties at one moment come due in the order they were set.
        self._tie = itertools.count()
        self._disconnects: dict[str, float] = {}

    def at(self, when: float, kind: Due, key: str, token: float) -> None:
        heapq.heappush(self._heap, (when, next(self._tie), kind, key, token))

    def due(self, now: float) -> Iterator[tuple[Due, str, float]]:
        """Pop the deadlines due by `now`, earliest first; one set meanwhile that is due comes too."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, kind, key, token = heapq.heappop(heap)
            yield kind, key, token

    def next(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def disconnected(self, agent_id: str, when: float) -> None:
        """The agent's desktop went away: a grace deadline that a reconnect voids."""
        token = self._disconnects.get(agent_id, 0.0) + 1
        self._disconnects[agent_id] = token
        self.at(when, Due.GRACE, agent_id, token)

    def connected(self, agent_id: str) -> None:
        self._disconnects[agent_id] = self._disconnects.get(agent_id, 0.0) + 1

    def grace_holds(self, agent_id: str, token: float) -> bool:
        """The grace deadline with `token` is the agent's latest and no reconnect came since."""
        return self._disconnects.get(agent_id) == token
