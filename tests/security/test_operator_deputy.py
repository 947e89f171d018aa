"""Issue 13, item 1: the operator acts for an AgentPool only within what the pool may ask.

The real Kopf operator against kmock's API emulator. Each test waits for the operator's refusal
(the pool's condition, its Warning event, and Kopf's log line from each handler that refused)
before it checks what the operator did not do.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from agentpool_operator import admission
from omni.devstack.processes import free_port
from omni.runtime.config import env_name
from omni.worker.settings import WorkerSettings
from tests.operator.kubernetes import DEPLOYMENTS, EVENTS, POOLS, Cluster, Operator, eventually, operator_env, pool

pytestmark = pytest.mark.slow

VICTIM = "payments-api"


def victim_deployment() -> dict[str, Any]:
    """Someone else's Deployment in the pools' namespace: one replica of their own image."""
    labels = {"app": VICTIM}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": VICTIM, "namespace": "contact", "uid": "victim-uid", "resourceVersion": "1",
                     "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "api", "image": "bank/payments:1.4",
                                     "env": [{"name": "DB_HOST", "value": "payments-db"}]}]}}},
    }


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or () if c.get("type") == kind), {})


async def refusal(cluster: Cluster, caplog: pytest.LogCaptureFixture, name: str, reason: str,
                  handlers: tuple[str, ...] = ("Handler 'reconcile'", "Timer 'scale'")) -> dict[str, Any]:
    """Wait until the pool shows the refusal, its event is posted, and each handler has refused it."""
    async def refused() -> Any:
        accepted = condition(((await cluster.get(f"{POOLS}/{name}")) or {}).get("status") or {}, "Accepted")
        return accepted if accepted.get("status") == "False" and accepted.get("reason") == reason else None

    async def warned() -> bool:
        return any((r.data or {}).get("involvedObject", {}).get("name") == name and r.data.get("type") == "Warning"
                   for r in cluster.emulator if r.method == "POST" and r.url.path == EVENTS
                   and (r.data or {}).get("reason") == reason)

    async def handled() -> bool:
        lines = [r.getMessage() for r in caplog.records if getattr(r, "k8s_ref", {}).get("name") == name]
        return all(any(f"{handler} failed permanently: {reason}" in line for line in lines) for handler in handlers)

    accepted = await eventually(refused, what=f"{name} refused with {reason}")
    await eventually(warned, what=f"a {reason} Warning event on {name}")
    await eventually(handled, what=f"{' and '.join(handlers)} refusing {name}")
    return accepted


def writes_to(cluster: Cluster, path: str) -> list[str]:
    return [f"{r.method} {r.url.path}" for r in cluster.emulator
            if r.url.path == path and r.method in ("PATCH", "PUT", "DELETE")]


async def test_a_pool_naming_a_deployment_it_does_not_own_leaves_it_untouched(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    operator_env(monkeypatch, cluster, f"127.0.0.1:{free_port()}")
    await cluster.request("POST", DEPLOYMENTS, victim_deployment())
    async with Operator("--namespace=contact"):
        # minReplicas 3 over the victim's 1: the scaling round would raise it if it acted.
        await cluster.request("POST", POOLS, pool("hijack", minReplicas=3, maxReplicas=6,
                                                  worker={"deploymentName": VICTIM}))
        accepted = await refusal(cluster, caplog, "hijack", "DeploymentNotOwned")
        assert VICTIM in accepted["message"]
    assert writes_to(cluster, f"{DEPLOYMENTS}/{VICTIM}") == []
    victim = await cluster.get(f"{DEPLOYMENTS}/{VICTIM}")
    assert victim["spec"]["replicas"] == 1
    assert victim["spec"]["template"]["spec"]["containers"][0]["image"] == "bank/payments:1.4"
    assert "ownerReferences" not in victim["metadata"]


async def test_another_pools_deployment_is_not_this_pools(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    operator_env(monkeypatch, cluster, f"127.0.0.1:{free_port()}")
    async with Operator("--namespace=contact"):
        await cluster.request("POST", POOLS, pool("billing-bots", minReplicas=1, maxReplicas=6))
        theirs = await eventually(lambda: cluster.get(f"{DEPLOYMENTS}/billing-bots-worker"),
                                  what="the first pool's Deployment")
        await cluster.request("POST", POOLS, pool("squatter", minReplicas=4, maxReplicas=6,
                                                  worker={"deploymentName": "billing-bots-worker",
                                                          "env": [{"name": "OMNI_WORKER_MAX_ANSWERS", "value": "9"}]}))
        await refusal(cluster, caplog, "squatter", "DeploymentNotOwned")
    after = await cluster.get(f"{DEPLOYMENTS}/billing-bots-worker")
    assert after["spec"] == theirs["spec"]


async def test_disallowed_images_are_refused_and_allowed_patterns_run(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    operator_env(monkeypatch, cluster, f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("OMNI_OPERATOR_ALLOWED_IMAGES", "registry.example/omnichannel:*,registry.example/bots/*")
    async with Operator("--namespace=contact"):
        await cluster.request("POST", POOLS, pool("miner", worker={"image": "evil.example/miner:latest"}))
        # A prefix is no pattern: "omnichannel-evil" is not "omnichannel:<tag>".
        await cluster.request("POST", POOLS, pool("lookalike", worker={"image": "registry.example/omnichannel-evil:1"}))
        await cluster.request("POST", POOLS, pool("custom", worker={"image": "registry.example/bots/faq:2"}))
        created = await eventually(lambda: cluster.get(f"{DEPLOYMENTS}/custom-worker"), what="the allowed pool")
        assert created["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/bots/faq:2"
        for name in ("miner", "lookalike"):
            accepted = await refusal(cluster, caplog, name, "ImageNotAllowed", ("Handler 'reconcile'",))
            assert "OMNI_OPERATOR_ALLOWED_IMAGES" in accepted["message"]
    created_names = {r.data["metadata"]["name"] for r in cluster.emulator if r.method == "POST"
                     and r.url.path == DEPLOYMENTS and r.headers.get("User-Agent", "").startswith("kr8s")}
    assert created_names == {"custom-worker"}


async def test_without_a_setting_only_the_operators_worker_image_runs(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    operator_env(monkeypatch, cluster, f"127.0.0.1:{free_port()}")  # OMNI_WORKER_IMAGE, no allow-list
    async with Operator("--namespace=contact"):
        await cluster.request("POST", POOLS, pool("other-tag", worker={"image": "registry.example/omnichannel:evil"}))
        await refusal(cluster, caplog, "other-tag", "ImageNotAllowed")
        await cluster.request("POST", POOLS, pool("default-image"))
        created = await eventually(lambda: cluster.get(f"{DEPLOYMENTS}/default-image-worker"), what="default image")
    assert created["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/omnichannel:test"
    assert await cluster.get(f"{DEPLOYMENTS}/other-tag-worker") is None


async def test_platform_env_names_are_refused_and_workers_get_no_backend_urls(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    operator_env(monkeypatch, cluster, f"127.0.0.1:{free_port()}")
    stolen = [{"name": "OMNI_TOKEN_CLIENT_SECRET", "value": "mine"},
              {"name": "OMNI_ROUTING_ADDR", "value": "evil:50051"},
              {"name": "https_proxy", "value": "http://evil:3128"}, {"name": "OMNI_WORKER_MAX_ANSWERS", "value": "5"}]
    async with Operator("--namespace=contact"):
        await cluster.request("POST", POOLS, pool("thief", worker={"env": stolen}))
        await cluster.request("POST", POOLS, pool("tuned", worker={"env": [
            {"name": "OMNI_WORKER_MAX_ANSWERS", "value": "5"}, {"name": "BOT_TONE", "value": "formal"}]}))
        tuned = await eventually(lambda: cluster.get(f"{DEPLOYMENTS}/tuned-worker"), what="the tuned pool")
        accepted = await refusal(cluster, caplog, "thief", "EnvNotAllowed")
    assert "OMNI_ROUTING_ADDR, OMNI_TOKEN_CLIENT_SECRET, https_proxy" in accepted["message"]
    assert await cluster.get(f"{DEPLOYMENTS}/thief-worker") is None
    container = tuned["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["OMNI_WORKER_MAX_ANSWERS"]["value"] == "5" and env["BOT_TONE"]["value"] == "formal"
    # The worker talks gRPC only (services/omni/worker): no database or bus URL reaches it.
    assert not {"OMNI_MONGO_URL", "OMNI_NATS_URL"} & set(env)
    assert container["envFrom"] == [{"configMapRef": {"name": "omnichannel-config"}}]


@pytest.mark.parametrize(("name", "allowed"), [
    ("OMNI_WORKER_MIN_SCORE", True), ("OMNI_LOG_LEVEL", True), ("BOT_TONE", True),
    ("OMNI_TOKEN_CLIENT_SECRET", False), ("OMNI_MONGO_URL", False), ("OMNI_NATS_URL", False),
    ("OMNI_WORKER_QUEUES", False),
    ("OMNI_WORKER_ID", False), ("OMNI_KNOWLEDGE_ADDR", False), ("OMNI_OTLP_ENDPOINT", False),
    ("OMNI_GRPC_TLS_CA_FILE", False), ("omni_token_url", False), ("HTTP_PROXY", False), ("grpc_proxy", False),
    ("LD_PRELOAD", False), ("PYTHONPATH", False), ("SSL_CERT_FILE", False), ("OTEL_EXPORTER_OTLP_ENDPOINT", False),
])
def test_env_names_a_pool_may_set(name: str, allowed: bool) -> None:
    if allowed:
        admission.check_env([name])
    else:
        with pytest.raises(admission.Refused):
            admission.check_env([name])


def test_every_tunable_name_is_a_worker_setting_the_operator_does_not_set() -> None:
    worker = {env_name(f.name) for f in dataclasses.fields(WorkerSettings)}
    assert worker >= admission.POOL_TUNABLE
    assert not admission.POOL_TUNABLE & {"OMNI_WORKER_QUEUES", "OMNI_WORKER_SKILLS", "OMNI_WORKER_HANDOFF_QUEUE",
                                         "OMNI_WORKER_CONCURRENCY", "OMNI_WORKER_ID", "OMNI_TOKEN_CLIENT_SECRET"}
