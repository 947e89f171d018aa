"""An AgentPool resource in domain terms: its policy and target, its remembered state, its status.

Pure: turns the custom resource's spec/status dicts into `ScalingPolicy`, `ServiceLevelTarget`
and `ScalingState`, and a decision back into the status the resource shows.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from agentpool_operator.erlang import ServiceLevelTarget, Staffing
from agentpool_operator.scaling import Decision, PoolLoad, Reason, Recommendation, ScalingPolicy, ScalingState

GROUP = "omnichannel.dev"
VERSION = "v1alpha1"
PLURAL = "agentpools"
POOL_LABEL = "omnichannel.dev/agentpool"


class InvalidPool(ValueError):
    """The spec cannot be acted on (the CRD schema should have refused it)."""


# A condition's status ("True"/"False"), reason and message.
Condition = tuple[str, str, str]
# Conditions are listed in this order whichever handler wrote them last.
CONDITION_TYPES = ("StatisticsAvailable", "Scaling", "Accepted")


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentPool:
    name: str
    namespace: str
    queues: tuple[str, ...]
    skills: tuple[str, ...]
    handoff_queue: str
    policy: ScalingPolicy
    target: ServiceLevelTarget
    statistics_window_seconds: int
    deployment_name: str
    image: str
    env: tuple[tuple[str, str], ...]
    resources: Mapping[str, Any]


def parse(name: str, namespace: str, spec: Mapping[str, Any], *, default_image: str) -> AgentPool:
    queues = tuple(spec.get("queues") or ())
    if not queues:
        raise InvalidPool(f"AgentPool {namespace}/{name}: spec.queues must name at least one routing queue")
    scaling = spec.get("scaling") or {}
    level = spec.get("serviceLevel") or {}
    worker = spec.get("worker") or {}
    try:
        policy = ScalingPolicy(
            min_replicas=int(spec.get("minReplicas", 1)),
            max_replicas=int(spec["maxReplicas"]),
            sessions_per_replica=int(spec.get("sessionsPerReplica", 10)),
            tolerance=float(scaling.get("tolerance", 0.1)),
            stabilization_seconds=float(scaling.get("stabilizationWindowSeconds", 300)),
            cooldown_seconds=float(scaling.get("cooldownSeconds", 60)),
            scale_up_percent=float(scaling.get("scaleUpPercent", 100)),
            scale_up_pods=int(scaling.get("scaleUpPods", 4)),
            max_statistics_age_seconds=float(scaling.get("maxStatisticsAgeSeconds", 60)),
        )
        target = ServiceLevelTarget(percent=float(level.get("percent", 80)), seconds=float(level.get("seconds", 20)),
                                    shrinkage_percent=float(level.get("shrinkagePercent", 0)))
    except KeyError as exc:
        raise InvalidPool(f"AgentPool {namespace}/{name}: spec.{exc.args[0]} is required") from None
    except ValueError as exc:
        raise InvalidPool(f"AgentPool {namespace}/{name}: {exc}") from None
    return AgentPool(
        name=name,
        namespace=namespace,
        queues=queues,
        skills=tuple(spec.get("skills") or ()),
        handoff_queue=str(spec.get("handoffQueue", "")),
        policy=policy,
        target=target,
        statistics_window_seconds=int(scaling.get("statisticsWindowSeconds", 900)),
        deployment_name=str(worker.get("deploymentName") or f"{name}-worker"),
        image=str(worker.get("image") or default_image),
        env=tuple((str(e["name"]), str(e.get("value", ""))) for e in worker.get("env") or ()),
        resources=dict(worker.get("resources") or {}),
    )


def _timestamp(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC).timestamp()


def remembered_state(status: Mapping[str, Any], current_replicas: int) -> ScalingState:
    """What earlier rounds left in the status: last scale time and the stabilization window."""
    recommendations = tuple(Recommendation(float(r["at"]), int(r["replicas"]))
                            for r in status.get("recommendations") or () if "at" in r and "replicas" in r)
    return ScalingState(current_replicas=current_replicas, last_scale_time=_seconds(status.get("lastScaleTime")),
                        recommendations=recommendations)


def status_after(pool: AgentPool, previous: Mapping[str, Any], decision: Decision, *, current_replicas: int,
                 load: PoolLoad | None, staffing: Staffing | None, now: float) -> dict[str, Any]:
    """The status to write after a round (a merge patch: unchanged figures are left as they were)."""
    scaled = decision.changes(current_replicas)
    status: dict[str, Any] = {
        "desiredReplicas": decision.replicas,
        "currentReplicas": decision.replicas if scaled else current_replicas,
        "selector": f"{POOL_LABEL}={pool.name}",
        "recommendations": [{"at": r.at, "replicas": r.replicas} for r in decision.recommendations],
        "conditions": _conditions(previous, _round_conditions(pool, decision), now),
    }
    if scaled:
        status["lastScaleTime"] = _timestamp(now)
    if load is not None:
        status["observed"] = {
            "asOf": _timestamp(load.as_of),
            "waiting": load.waiting,
            "botWaiting": load.bot_waiting,
            "botInProgress": load.bot_in_progress,
            "arrivalsPerSecond": round(load.arrivals_per_second, 6),
            "averageHandleSeconds": round(load.average_handle_seconds, 3),
        }
    if staffing is not None:
        status["recommendedAgents"] = staffing.agents
        status["rosteredAgents"] = staffing.rostered_agents
        status["expectedServiceLevel"] = round(staffing.expected_service_level, 4)
    return status


def accepted(pool: AgentPool) -> Condition:
    return ("True", "Accepted", f"the workers run as Deployment {pool.deployment_name}")


def refused(reason: str, message: str) -> Condition:
    return ("False", reason, message)


def acceptance_status(previous: Mapping[str, Any], acceptance: Condition, now: float) -> dict[str, Any]:
    """The status saying whether the operator acts on the pool (condition Accepted)."""
    return {"conditions": _conditions(previous, {"Accepted": acceptance}, now)}


def _round_conditions(pool: AgentPool, decision: Decision) -> dict[str, Condition]:
    missing = decision.reason in (Reason.NO_STATISTICS, Reason.STALE_STATISTICS)
    scaling = "True" if decision.reason in (Reason.SCALED_UP, Reason.SCALED_DOWN) else "False"
    return {
        "StatisticsAvailable": ("False" if missing else "True", decision.reason.value if missing else "Fresh",
                                decision.message),
        "Scaling": (scaling, decision.reason.value, decision.message),
        # A round only runs for a pool the operator accepted.
        "Accepted": accepted(pool),
    }


def _conditions(previous: Mapping[str, Any], wanted: Mapping[str, Condition], now: float) -> list[dict[str, Any]]:
    """Kubernetes-style conditions; lastTransitionTime moves only when the status flips. Types not
    in `wanted` stay as they were: a list is replaced whole by a merge patch, and each handler
    writes only the conditions it knows."""
    conditions = {c.get("type"): dict(c) for c in previous.get("conditions") or []}
    for kind, (state, reason, message) in wanted.items():
        old = conditions.get(kind, {})
        conditions[kind] = {
            "type": kind,
            "status": state,
            "reason": reason,
            "message": message,
            "lastTransitionTime": old.get("lastTransitionTime") if old.get("status") == state else _timestamp(now),
        }
    return sorted(conditions.values(), key=lambda c: CONDITION_TYPES.index(c["type"])
                  if c["type"] in CONDITION_TYPES else len(CONDITION_TYPES))
