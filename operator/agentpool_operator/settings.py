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
    # Images a pool may name (shell-style patterns, e.g. registry.example/omnichannel:*); empty:
    # worker_image alone. An image runs with the token secret, so the operator decides, not the pool.
    operator_allowed_images: tuple[str, ...] = ()
    # ConfigMap with OMNI_*_ADDR / telemetry settings, and the Secret with the token secret, in
    # the pool's namespace (the chart creates them in its own).
    worker_config_map: str = "omnichannel-config"
    worker_secret: str = "omnichannel-secrets"
    # Secret whose ca.crt the workers verify the services' gRPC TLS with; empty: plaintext.
    worker_tls_secret: str = ""
