"""How many bot-worker replicas an AgentPool should run: the HorizontalPodAutoscaler's rules.

Pure: no Kubernetes, no gRPC. The operator feeds it the pool's policy, what it remembers from
earlier decisions (kept in the AgentPool's status so a restarted operator carries on), and the
latest queue load; it answers with the replicas and why.

The rules, as the HPA applies them (kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale):
- raw recommendation = ceil(current × metric / target), where the metric is the pool's demand per
  replica; nothing changes while metric/target is within the tolerance of 1.0;
- scale-down stabilization: the pool runs the *highest* recommendation seen in the window, so a
  dip in load does not remove workers that a moment later are needed again;
- scale-up limit per decision: at most `max(current × (1 + percent/100), current + pods)`;
- then min/max bounds.
Added for a contact center: no scale-down within `cooldown_seconds` of the last change, and
when statistics are missing or stale the pool holds (never scales to zero because a
dependency was down).
"""

from __future__ import annotations

import dataclasses
import enum
import math


class Reason(enum.StrEnum):
    SCALED_UP = "ScaledUp"
    SCALED_DOWN = "ScaledDown"
    STEADY = "Steady"
    WITHIN_TOLERANCE = "WithinTolerance"
    STABILIZING = "Stabilizing"
    COOLDOWN = "Cooldown"
    NO_STATISTICS = "NoStatistics"
    STALE_STATISTICS = "StaleStatistics"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScalingPolicy:
    min_replicas: int
    max_replicas: int
    # Concurrent sessions one replica is meant to hold: the HPA's target value per pod.
    sessions_per_replica: int
    tolerance: float = 0.1
    stabilization_seconds: float = 300.0
    cooldown_seconds: float = 60.0
    scale_up_percent: float = 100.0
    scale_up_pods: int = 4
    # Statistics older than this are treated as missing.
    max_statistics_age_seconds: float = 60.0

    def __post_init__(self) -> None:
        problems = []
        if self.min_replicas < 0:
            problems.append(f"minReplicas {self.min_replicas} is negative")
        if self.max_replicas < max(1, self.min_replicas):
            problems.append(f"maxReplicas {self.max_replicas} must be at least 1 and at least minReplicas "
                            f"{self.min_replicas}")
        if self.sessions_per_replica < 1:
            problems.append(f"sessionsPerReplica {self.sessions_per_replica} must be at least 1")
        if not 0 <= self.tolerance < 1:
            problems.append(f"tolerance {self.tolerance} must be in [0, 1)")
        if min(self.stabilization_seconds, self.cooldown_seconds, self.scale_up_percent, self.scale_up_pods) < 0:
            problems.append("windows, cooldown and scale-up limits must not be negative")
        if problems:
            raise ValueError("; ".join(problems))


@dataclasses.dataclass(frozen=True)
class Recommendation:
    at: float
    replicas: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class PoolLoad:
    """The load on the queues a pool serves, summed over them."""

    as_of: float
    # Contacts waiting for a person on the pool's queues: the human line, which bots never take
    # (shown in the status, not scaled on).
    waiting: int
    # Bot lane work no worker has claimed yet, and conversations workers hold now.
    bot_waiting: int
    bot_in_progress: int
    arrivals_per_second: float
    average_handle_seconds: float

    @property
    def demand(self) -> int:
        """Sessions the pool should be able to hold right now: the bot work waiting plus the
        conversations in progress (workers busy with them are not idle capacity to remove)."""
        return self.bot_waiting + self.bot_in_progress


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScalingState:
    current_replicas: int
    last_scale_time: float | None = None
    recommendations: tuple[Recommendation, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Decision:
    replicas: int
    reason: Reason
    message: str
    # The raw recommendation of this round (None when there was nothing to base one on).
    recommended: int | None
    # The window to remember for the next round.
    recommendations: tuple[Recommendation, ...]

    def changes(self, current: int) -> bool:
        return self.replicas != current


def raw_recommendation(policy: ScalingPolicy, current: int, demand: int) -> int:
    """ceil(current × metric / target), holding when the ratio is within the tolerance."""
    if current <= 0:
        return math.ceil(demand / policy.sessions_per_replica)
    ratio = demand / (current * policy.sessions_per_replica)
    # The epsilon keeps "exactly at the tolerance" (e.g. 11 for a target of 10) inside it.
    if abs(ratio - 1.0) <= policy.tolerance + 1e-9:
        return current
    return math.ceil(current * ratio)


def _bounded(policy: ScalingPolicy, replicas: int) -> int:
    return max(policy.min_replicas, min(policy.max_replicas, replicas))


def _scale_up_limit(policy: ScalingPolicy, current: int) -> int:
    by_percent = math.floor(current * (1 + policy.scale_up_percent / 100))
    return max(by_percent, current + policy.scale_up_pods)


def desired_replicas(policy: ScalingPolicy, state: ScalingState, load: PoolLoad | None, now: float) -> Decision:
    current = state.current_replicas
    window = tuple(r for r in state.recommendations if now - r.at < policy.stabilization_seconds)

    if load is None or now - load.as_of > policy.max_statistics_age_seconds:
        reason = Reason.NO_STATISTICS if load is None else Reason.STALE_STATISTICS
        held = _bounded(policy, current)
        limit = policy.max_statistics_age_seconds
        detail = ("no queue statistics" if load is None
                  else f"queue statistics are {now - load.as_of:.0f}s old (limit {limit:.0f}s)")
        return Decision(replicas=held, reason=reason, recommended=None, recommendations=window,
                        message=f"holding {held} replicas: {detail}")

    recommended = raw_recommendation(policy, current, load.demand)
    window = (*window, Recommendation(now, recommended))
    stabilized = max(r.replicas for r in window)
    target = _bounded(policy, min(stabilized, _scale_up_limit(policy, current)))
    figures = (f"{load.demand} bot sessions ({load.bot_waiting} waiting, {load.bot_in_progress} in progress) "
               f"for {current} replicas × {policy.sessions_per_replica} sessions")

    if target > current:
        return Decision(replicas=target, reason=Reason.SCALED_UP, recommended=recommended, recommendations=window,
                        message=f"scaled up from {current} to {target}: {figures}")
    if target < current:
        since = None if state.last_scale_time is None else now - state.last_scale_time
        if since is not None and since < policy.cooldown_seconds:
            return Decision(replicas=current, reason=Reason.COOLDOWN, recommended=recommended,
                            recommendations=window,
                            message=f"holding {current} replicas: last change {since:.0f}s ago, cooldown "
                                    f"{policy.cooldown_seconds:.0f}s")
        return Decision(replicas=target, reason=Reason.SCALED_DOWN, recommended=recommended, recommendations=window,
                        message=f"scaled down from {current} to {target}: {figures}")
    if recommended < current and stabilized > recommended:
        reason = Reason.STABILIZING
    elif recommended == current and load.demand != current * policy.sessions_per_replica:
        reason = Reason.WITHIN_TOLERANCE
    else:
        reason = Reason.STEADY
    message = (f"holding {current} replicas: the highest recommendation in the last "
               f"{policy.stabilization_seconds:.0f}s is {stabilized}" if reason is Reason.STABILIZING
               else f"holding {current} replicas: {figures}")
    return Decision(replicas=current, reason=reason, recommended=recommended, recommendations=window, message=message)
