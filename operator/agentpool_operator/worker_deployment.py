"""The bot-worker Deployment an AgentPool owns, as a manifest (pure)."""

from __future__ import annotations

from typing import Any

from agentpool_operator.pool import POOL_LABEL, AgentPool
from agentpool_operator.settings import OperatorSettings

TLS_DIR = "/etc/omnichannel/grpc-tls"
# The key of the workers' client secret in the Secret settings.worker_secret names.
WORKER_SECRET_KEY = "worker"


def labels(pool: AgentPool) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "omnichannel-worker",
        "app.kubernetes.io/instance": pool.name,
        "app.kubernetes.io/component": "bot-worker",
        "app.kubernetes.io/managed-by": "agentpool-operator",
        POOL_LABEL: pool.name,
    }


def pod_template(pool: AgentPool, settings: OperatorSettings) -> dict[str, Any]:
    env: list[dict[str, Any]] = [
        # A client of the token endpoint that grants the `bot` role alone (the endpoint: the ConfigMap).
        {"name": "OMNI_TOKEN_CLIENT_ID", "value": settings.worker_client_id},
        {"name": "OMNI_TOKEN_CLIENT_SECRET",
         "valueFrom": {"secretKeyRef": {"name": settings.worker_secret, "key": WORKER_SECRET_KEY}}},
        {"name": "OMNI_WORKER_QUEUES", "value": ",".join(pool.queues)},
        {"name": "OMNI_WORKER_SKILLS", "value": ",".join(pool.skills)},
        {"name": "OMNI_WORKER_HANDOFF_QUEUE", "value": pool.handoff_queue},
        {"name": "OMNI_WORKER_CONCURRENCY", "value": str(pool.policy.sessions_per_replica)},
        {"name": "OMNI_WORKER_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    if settings.worker_tls_secret:
        # The CA certificate alone: workers verify the services and present no certificate of their own.
        env.append({"name": "OMNI_GRPC_TLS_CA_FILE", "value": f"{TLS_DIR}/ca.crt"})
        volumes.append({"name": "grpc-tls", "secret": {"secretName": settings.worker_tls_secret,
                                                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}})
        mounts.append({"name": "grpc-tls", "mountPath": TLS_DIR, "readOnly": True})
    env.extend({"name": name, "value": value} for name, value in pool.env)
    container: dict[str, Any] = {
        "name": "worker",
        "image": pool.image,
        "command": ["python", "-m", "omni.worker"],
        "envFrom": [{"configMapRef": {"name": settings.worker_config_map}}],
        "env": env,
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": mounts,
    }
    if pool.resources:
        container["resources"] = dict(pool.resources)
    return {
        "metadata": {"labels": labels(pool)},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            # A worker finishes the conversations it holds before it exits.
            "terminationGracePeriodSeconds": 60,
            "containers": [container],
            "volumes": volumes,
        },
    }


def manifest(pool: AgentPool, settings: OperatorSettings, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": pool.deployment_name, "namespace": pool.namespace, "labels": labels(pool)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {POOL_LABEL: pool.name}},
            "template": pod_template(pool, settings),
        },
    }
