"""Flood control for customer chat: a public endpoint must not let one visitor bury an agent
(or the event bus) under messages."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Lets `burst` messages through at once, then `rate` per second on average."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a chat rate limit needs rate > 0 and burst >= 1 (got {rate}, {burst})")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def wait_seconds(self) -> float:
        """How long until the next message would be let through."""
        return max(0.0, (1.0 - self._tokens) / self._rate)
