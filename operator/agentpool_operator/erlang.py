"""Human staffing an AgentPool's queues need for their service-level target, by Erlang C.

The queueing maths lives in `omni.workforce.erlang` (shared with the simulator and reports);
this module turns a pool's observed load and target into the figures its status shows.
"""

from __future__ import annotations

import dataclasses
import math

from agentpool_operator.scaling import PoolLoad
from omni.workforce import erlang


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceLevelTarget:
    # e.g. 80 % of contacts answered within 20 s.
    percent: float
    seconds: float
    # Share of paid time agents are not on the phones (breaks, training, absence).
    shrinkage_percent: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.percent < 100:
            raise ValueError(f"serviceLevel.percent {self.percent} must be between 0 and 100 (exclusive)")
        if self.seconds <= 0:
            raise ValueError(f"serviceLevel.seconds {self.seconds} must be positive")
        if not 0 <= self.shrinkage_percent < 100:
            raise ValueError(f"serviceLevel.shrinkagePercent {self.shrinkage_percent} must be in [0, 100)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Staffing:
    erlangs: float
    # Agents on the phones that meet the target, and rostered agents once shrinkage is added.
    agents: int
    rostered_agents: int
    expected_service_level: float
    expected_average_speed_of_answer: float


def recommended_staffing(load: PoolLoad, target: ServiceLevelTarget) -> Staffing | None:
    """None when the load says nothing yet (no arrivals or no handle time observed)."""
    if load.arrivals_per_second <= 0 or load.average_handle_seconds <= 0:
        return None
    erlangs = erlang.traffic_intensity(load.arrivals_per_second, load.average_handle_seconds)
    agents = erlang.agents_needed(load.arrivals_per_second, load.average_handle_seconds,
                                  service_level_target=target.percent / 100, target_seconds=target.seconds)
    rostered = math.ceil(round(agents / (1 - target.shrinkage_percent / 100), 9))
    return Staffing(
        erlangs=erlangs,
        agents=agents,
        rostered_agents=rostered,
        expected_service_level=erlang.service_level(agents, erlangs, load.average_handle_seconds, target.seconds),
        expected_average_speed_of_answer=erlang.average_speed_of_answer(agents, erlangs, load.average_handle_seconds),
    )
