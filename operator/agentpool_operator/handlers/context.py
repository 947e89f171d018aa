"""What every handler needs, built once at start-up and kept in Kopf's memo."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import grpc
import kopf
from kr8s.asyncio.objects import Deployment

from agentpool_operator import admission, deployments, pool
from agentpool_operator.queue_stats import QueueStatsReader
from agentpool_operator.settings import OperatorSettings


@dataclasses.dataclass
class OperatorContext:
    settings: OperatorSettings
    api: Any  # kr8s.asyncio.Api
    channel: grpc.aio.Channel
    stats: QueueStatsReader


def from_memo(memo: Any) -> OperatorContext:
    context = memo.get("context")
    if not isinstance(context, OperatorContext):
        raise RuntimeError("operator context missing: the start-up handler did not run")
    return context


def parse_pool(context: OperatorContext, name: str, namespace: str, spec: Any) -> pool.AgentPool:
    """The pool as declared; a spec no retry can fix fails the handler for good."""
    try:
        return pool.parse(name, namespace, spec, default_image=context.settings.worker_image)
    except pool.InvalidPool as exc:
        raise kopf.PermanentError(str(exc)) from None


@contextlib.contextmanager
def _refusals(body: Any, status: Any, patch: kopf.Patch) -> Iterator[None]:
    """A refusal shows as the pool's condition Accepted=False and a Warning event, and fails the
    handler without retries: reconciling runs again when the spec changes, scaling at its next round."""
    try:
        yield
    except admission.Refused as refusal:
        patch.status.update(pool.acceptance_status(status, pool.refused(refusal.reason, str(refusal)), time.time()))
        kopf.warn(body, reason=refusal.reason, message=str(refusal))
        raise kopf.PermanentError(f"{refusal.reason}: {refusal}") from None


async def owned_deployment(context: OperatorContext, agent_pool: pool.AgentPool, body: Any, status: Any,
                           patch: kopf.Patch) -> Deployment | None:
    """The pool's worker Deployment (None: not created yet), once the operator may act for the pool
    at all: its image and env are allowed, and a Deployment of that name is the pool's own."""
    with _refusals(body, status, patch):
        admission.check_pool(agent_pool, context.settings)
        deployment = await deployments.find(context.api, agent_pool.deployment_name, agent_pool.namespace)
        if deployment is not None:
            admission.check_owner(deployment.raw, agent_pool, body["metadata"]["uid"])
    return deployment
