"""Worker Deployments through kr8s (async, maintained, a small object API over httpx)."""

from __future__ import annotations

from typing import Any

import kr8s
from kr8s.asyncio.objects import Deployment


async def connect(url: str) -> Any:
    """An API client: the given URL, else the in-cluster service account or kubeconfig."""
    return await kr8s.asyncio.api(url=url) if url else await kr8s.asyncio.api()


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
