from __future__ import annotations

import logging
import time
from typing import Any

import kopf

from agentpool_operator import deployments, pool, worker_deployment
from agentpool_operator.handlers.context import from_memo, owned_deployment, parse_pool


async def reconcile(name: str, namespace: str, spec: Any, status: Any, body: Any, memo: Any, patch: kopf.Patch,
                    logger: logging.Logger, **_: Any) -> None:
    """Create the pool's worker Deployment, or roll out a changed template to it."""
    context = from_memo(memo)
    agent_pool = parse_pool(context, name, namespace, spec)
    existing = await owned_deployment(context, agent_pool, body, status, patch)
    if existing is None:
        replicas = agent_pool.policy.min_replicas
        manifest = worker_deployment.manifest(agent_pool, context.settings, replicas)
        kopf.adopt(manifest, owner=body)
        await deployments.create(context.api, manifest)
        kopf.info(body, reason="WorkersCreated",
                  message=f"created Deployment {agent_pool.deployment_name} with {replicas} replicas")
        logger.info("created worker Deployment %s/%s", namespace, agent_pool.deployment_name)
        patch.status["currentReplicas"] = replicas
        patch.status["desiredReplicas"] = replicas
    else:
        await deployments.set_template(existing, worker_deployment.pod_template(agent_pool, context.settings))
    patch.status["selector"] = f"{pool.POOL_LABEL}={name}"
    patch.status.update(pool.acceptance_status(status, pool.accepted(agent_pool), time.time()))
