"""Wait estimates: the live queue for the near term, Erlang C for the steady state.

A waiting item's estimate is its place among the work the same agents take (one channel and
language of its queue's line) times how fast that part of the line has been moving (`Pace`);
docs/routing.md ("Queue experience") explains the method and its measured error.
"""

from __future__ import annotations

import math

from omni.workforce import erlang

# Estimates are capped (a queue nobody serves has no finite wait); a day is "very long".
MAX_ESTIMATE = 24 * 3600.0
# The pace follows about the last 1 / PACE_WEIGHT departures of its part of the line; the
# queue's handle time it starts from counts as PRIOR_DEPARTURES of them.
PACE_WEIGHT = 0.02
PRIOR_DEPARTURES = 5


def live_wait(position: int, servers: int, average_handle_seconds: float) -> float:
    """Expected wait of the item at `position` (1-based) with `servers` busy slots.

    With every slot busy and handle times roughly exponential, one slot frees every
    AHT / servers seconds on average, and the item needs `position` of them (Erlang C's
    M/M/c model, given the place in line).
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
    """Observed handle time: an exponentially weighted mean that starts from a guess worth
    `prior` samples."""

    def __init__(self, initial_seconds: float, weight: float = 0.1, prior: int = 0) -> None:
        self.value = initial_seconds
        self.samples = 0
        self._weight = weight
        self._prior = prior

    def observe(self, seconds: float) -> None:
        self.samples += 1
        # The first few samples count as much as the guess (fully when it has no weight), so a
        # bad guess fades fast.
        weight = max(self._weight, 1.0 / (self.samples + self._prior))
        self.value += weight * (seconds - self.value)


class Pace:
    """How fast one part of a queue's line moves, as an effective handle time: the seconds
    between departures while someone of that part waited, times the slots serving it.

    Where the agents serve nothing else this is their handle time. Where they take other work
    first (calls before emails, other queues' older work) it is longer by as much as their slots
    are taken up by that work, which the plain handle time cannot see. Abandons count as
    departures: whoever was behind moves up all the same.
    """

    def __init__(self, handle_seconds: float) -> None:
        self.handle = HandleTime(handle_seconds, weight=PACE_WEIGHT, prior=PRIOR_DEPARTURES)
        self._backlog_since: float | None = None
        self._last_departure = 0.0

    def joined(self, now: float) -> None:
        """Someone joined this part of the line while nobody of it waited."""
        self._backlog_since = now

    def left(self, now: float, servers: int, still_waiting: int) -> None:
        since = self._backlog_since
        # Work routed the moment it arrived never waited: it says nothing about the pace.
        if since is not None and since < now and servers > 0:
            self.handle.observe((now - max(since, self._last_departure)) * servers)
        self._last_departure = now
        if not still_waiting:
            self._backlog_since = None

    def wait(self, place: int, servers: int) -> float:
        return live_wait(place, servers, self.handle.value)
