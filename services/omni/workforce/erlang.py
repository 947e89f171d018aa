"""Erlang C (M/M/c): probability of waiting, average speed of answer, service level, staffing.

The textbook model of a contact-center queue: Poisson arrivals at rate λ, exponential handle
times with mean AHT, c agents, infinite patience. Traffic intensity A = λ × AHT (Erlangs).
"""

from __future__ import annotations

import math


def traffic_intensity(arrivals_per_second: float, average_handle_seconds: float) -> float:
    """Offered load in Erlangs."""
    if arrivals_per_second < 0 or average_handle_seconds < 0:
        raise ValueError("arrival rate and handle time must not be negative")
    return arrivals_per_second * average_handle_seconds


def probability_of_waiting(agents: int, erlangs: float) -> float:
    """Erlang C: the chance an arriving contact has to wait (1.0 when the queue is unstable)."""
    if agents <= 0:
        return 1.0
    if erlangs <= 0:
        return 0.0
    if erlangs >= agents:
        return 1.0
    # Erlang B by its stable recurrence, then C from B: no factorials, no overflow.
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = erlangs * blocking / (k + erlangs * blocking)
    return agents * blocking / (agents - erlangs * (1.0 - blocking))


def average_speed_of_answer(agents: int, erlangs: float, average_handle_seconds: float) -> float:
    """Mean wait over all contacts, in seconds (inf when agents cannot keep up)."""
    if erlangs <= 0:
        return 0.0
    if agents <= erlangs:
        return math.inf
    return probability_of_waiting(agents, erlangs) * average_handle_seconds / (agents - erlangs)


def service_level(agents: int, erlangs: float, average_handle_seconds: float, target_seconds: float) -> float:
    """Fraction of contacts answered within `target_seconds`."""
    if erlangs <= 0:
        return 1.0
    if agents <= erlangs:
        return 0.0
    wait = probability_of_waiting(agents, erlangs)
    return 1.0 - wait * math.exp(-(agents - erlangs) * target_seconds / average_handle_seconds)


def agents_needed(
    arrivals_per_second: float,
    average_handle_seconds: float,
    *,
    service_level_target: float,
    target_seconds: float,
    max_agents: int = 100_000,
) -> int:
    """The fewest agents that answer `service_level_target` of contacts within `target_seconds`."""
    if not 0 < service_level_target < 1:
        raise ValueError("service_level_target is a fraction between 0 and 1, e.g. 0.8")
    erlangs = traffic_intensity(arrivals_per_second, average_handle_seconds)
    if erlangs == 0:
        return 0
    agents = max(1, math.floor(erlangs) + 1)
    while service_level(agents, erlangs, average_handle_seconds, target_seconds) < service_level_target:
        agents += 1
        if agents > max_agents:
            raise ValueError(f"more than {max_agents} agents needed; check the arrival rate and handle time")
    return agents
