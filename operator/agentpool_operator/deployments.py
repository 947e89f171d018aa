"""Worker Deployments through kr8s (async, maintained, a small object API over httpx)."""

from __future__ import annotations

from typing import Any

import kr8s
from kr8s.asyncio.objects import Deployment

from agentpool_operator.settings import OperatorSettings


async def connect(settings: OperatorSettings) -> Any:
    """An API client: the configured URL (verifying its certificate as `handle_startup.login` does),
    else the in-cluster service account or kubeconfig."""
    if not settings.kubernetes_url:
        return await kr8s.asyncio.api()
    cluster: dict[str, Any] = {"server": settings.kubernetes_url,
                               "insecure-skip-tls-verify": settings.kubernetes_insecure_skip_tls_verify}
    if settings.kubernetes_ca_file:
        cluster["certificate-authority"] = settings.kubernetes_ca_file
    return await kr8s.asyncio.api(kubeconfig={  # type: ignore[arg-type]  # a dict is accepted too
        "apiVersion": "v1", "kind": "Config", "current-context": "operator",
        "clusters": [{"name": "operator", "cluster": cluster}],
        "contexts": [{"name": "operator", "context": {"cluster": "operator", "user": "operator"}}],
        "users": [{"name": "operator", "user": {}}]})


async def find(api: Any, name: str, namespace: str) -> Deployment | None:
    deployment = Deployment({"metadata": {"name": name, "namespace": namespace}}, api=api)
    try:
        await deployment.refresh()
    except kr8s.NotFoundError:
        return None
    return deployment


async def create(api: Any, manifest: dict[str, Any]) -> Deployment:
    deployment = Deployment(manifest, api=api)
    await deployment.create()
    return deployment


def replicas(deployment: Deployment) -> int:
    raw: dict[str, Any] = deployment.raw
    return int(raw.get("spec", {}).get("replicas", 1))


async def set_replicas(deployment: Deployment, count: int) -> None:
    await deployment.patch({"spec": {"replicas": count}})


async def set_template(deployment: Deployment, template: dict[str, Any]) -> None:
    """Roll out a changed pod template (image, env, resources); replicas stay the operator's."""
    await deployment.patch({"spec": {"template": template}})
