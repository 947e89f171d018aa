"""The operator's settings, from `OMNI_*` environment variables like every omnichannel process."""

from __future__ import annotations

import dataclasses

from omni.runtime.config import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class OperatorSettings(ServiceSettings):
    # The routing service whose GetQueueStats drives the pools.
    routing_addr: str = "127.0.0.1:50054"
    # Kubernetes API URL; empty = in-cluster service account, else kubeconfig. Its certificate is
    # verified against the PEM CA bundle kubernetes_ca_file (empty: the system's CAs), unless
    # kubernetes_insecure_skip_tls_verify says not to (a throw-away cluster only).
    kubernetes_url: str = ""
    kubernetes_ca_file: str = ""
    kubernetes_insecure_skip_tls_verify: bool = False
    # Seconds between reads of queue statistics per AgentPool.
    operator_poll_seconds: float = 15.0
    # Deadline of one GetQueueStats call; a slower routing counts as "no statistics".
    stats_timeout_seconds: float = 5.0
    # What the worker Deployments get unless a pool says otherwise.
    worker_image: str = "omnichannel:latest"
    # Images a pool may name (shell-style patterns, e.g. registry.example/omnichannel:*); empty:
    # worker_image alone. An image runs with the workers' client secret, so the operator decides.
    operator_allowed_images: tuple[str, ...] = ()
    # ConfigMap with OMNI_*_ADDR / token endpoint / telemetry settings, and the Secret whose key
    # `worker` is the bot workers' client secret at the token endpoint (client id worker_client_id),
    # in the pool's namespace (the chart creates them in its own). Workers get no signing key.
    worker_config_map: str = "omnichannel-config"
    worker_secret: str = "omnichannel-token-clients"
    worker_client_id: str = "bot-worker"
    # Secret whose ca.crt the workers verify the services' gRPC TLS with; empty: plaintext.
    worker_tls_secret: str = ""
