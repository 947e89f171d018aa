from __future__ import annotations

import logging
import time
from typing import Any

import kopf

from agentpool_operator import deployments, pool
from agentpool_operator.erlang import recommended_staffing
from agentpool_operator.handlers.context import from_memo, owned_deployment, parse_pool
from agentpool_operator.scaling import Reason, desired_replicas


async def scale(name: str, namespace: str, spec: Any, status: Any, body: Any, memo: Any, patch: kopf.Patch,
                logger: logging.Logger, **_: Any) -> None:
    """One round: read the queues, decide, scale the Deployment, write the figures to the status."""
    context = from_memo(memo)
    agent_pool = parse_pool(context, name, namespace, spec)
    deployment = await owned_deployment(context, agent_pool, body, status, patch)
    if deployment is None:
        raise kopf.TemporaryError(f"worker Deployment {agent_pool.deployment_name} not found yet", delay=5)
    current = deployments.replicas(deployment)
    load = await context.stats.pool_load(agent_pool.queues, agent_pool.statistics_window_seconds)
    now = time.time()
    decision = desired_replicas(agent_pool.policy, pool.remembered_state(status, current), load, now)
    if decision.changes(current):
        await deployments.set_replicas(deployment, decision.replicas)
        kopf.info(body, reason=decision.reason.value, message=decision.message)
        logger.info(decision.message)
    elif decision.reason in (Reason.NO_STATISTICS, Reason.STALE_STATISTICS):
        kopf.warn(body, reason=decision.reason.value, message=decision.message)
    staffing = None if load is None else recommended_staffing(load, agent_pool.target)
    patch.status.update(pool.status_after(agent_pool, status, decision, current_replicas=current, load=load,
                                          staffing=staffing, now=now))
