"""What every handler needs, built once at start-up and kept in Kopf's memo."""

from __future__ import annotations

import dataclasses
from typing import Any

import grpc
import kopf

from agentpool_operator import pool
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
