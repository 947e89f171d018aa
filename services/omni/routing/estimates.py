"""Wait estimates: the live queue for the near term, Erlang C for the steady state."""

from __future__ import annotations

import math

from omni.workforce import erlang

# Estimates are capped (a queue nobody serves has no finite wait); a day is "very long".
MAX_ESTIMATE = 24 * 3600.0


def live_wait(position: int, servers: int, average_handle_seconds: float) -> float:
    """Expected wait of the item at `position` (1-based) with `servers` busy slots.

    With every slot busy and handle times roughly exponential, one slot frees every
    AHT / servers seconds on average, and the item needs `position` of them.
    """
    if position <= 0:
        return 0.0
    if servers <= 0:
        return MAX_ESTIMATE
    return min(MAX_ESTIMATE, position * average_handle_seconds / servers)


def steady_state_wait(arrivals_per_second: float, average_handle_seconds: float, servers: int) -> float:
    """Average speed of answer for a new arrival (Erlang C), capped when agents cannot keep up."""
    erlangs = erlang.traffic_intensity(arrivals_per_second, average_handle_seconds)
    asa = erlang.average_speed_of_answer(servers, erlangs, average_handle_seconds)
    return MAX_ESTIMATE if math.isinf(asa) else min(MAX_ESTIMATE, asa)


class HandleTime:
    """Observed handle time: an exponentially weighted mean that starts from the queue's guess."""

    def __init__(self, initial_seconds: float, weight: float = 0.1) -> None:
        self.value = initial_seconds
        self.samples = 0
        self._weight = weight

    def observe(self, seconds: float) -> None:
        self.samples += 1
        # The first few samples count fully so a bad initial guess fades fast.
        weight = max(self._weight, 1.0 / self.samples)
        self.value += weight * (seconds - self.value)
