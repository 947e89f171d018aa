"""The operator's settings, from `OMNI_*` environment variables like every omnichannel process."""

from __future__ import annotations

import dataclasses

from omni.runtime.config import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class OperatorSettings(ServiceSettings):
    # The routing service whose GetQueueStats drives the pools.
    routing_addr: str = "127.0.0.1:50054"
    # Kubernetes API URL; empty = in-cluster service account, else kubeconfig.
    kubernetes_url: str = ""
    # Seconds between reads of queue statistics per AgentPool.
    operator_poll_seconds: float = 15.0
    # Deadline of one GetQueueStats call; a slower routing counts as "no statistics".
    stats_timeout_seconds: float = 5.0
    # What the worker Deployments get unless a pool says otherwise.
    worker_image: str = "omnichannel:latest"
    # ConfigMap with OMNI_*_ADDR / NATS / telemetry settings, and Secrets with the token
    # secret and Mongo URL, in the pool's namespace (the chart creates them in its own).
    worker_config_map: str = "omnichannel-config"
    worker_secret: str = "omnichannel-secrets"
    worker_mongo_secret: str = ""
