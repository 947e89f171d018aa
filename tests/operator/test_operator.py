"""The real Kopf operator against kmock's Kubernetes API emulator and the real routing service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from omni.devstack.processes import free_port
from omni.routing.service import SPEC as ROUTING
from omni.runtime.auth import Role
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.conftest import StartService
from tests.operator.kubernetes import (
    DEPLOYMENTS,
    POOLS,
    Cluster,
    Operator,
    eventually,
    operator_env,
    pool,
)

pytestmark = pytest.mark.slow


async def test_pool_gets_its_worker_deployment_and_holds_when_routing_is_unreachable(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    operator_env(monkeypatch, cluster, f"127.0.0.1:{free_port()}")  # nothing listens there
    async with Operator():
        created = await cluster.request("POST", POOLS, pool("billing-bots", minReplicas=2, maxReplicas=6))
        deployment = await eventually(lambda: cluster.get(f"{DEPLOYMENTS}/billing-bots-worker"),
                                      what="worker Deployment created")
        assert deployment["spec"]["replicas"] == 2
        owner = deployment["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("AgentPool", "billing-bots", created["metadata"]["uid"])
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert container["image"] == "registry.example/omnichannel:test"
        assert env["OMNI_WORKER_QUEUES"] == "billing,general"
        assert env["OMNI_WORKER_CONCURRENCY"] == "10"

        async def held() -> Any:
            status = ((await cluster.get(f"{POOLS}/billing-bots")) or {}).get("status", {})
            conditions = {c["type"]: c for c in status.get("conditions", [])}
            available = conditions.get("StatisticsAvailable", {})
            return status if available.get("reason") == "NoStatistics" else None

        status = await eventually(held, what="status saying statistics are missing")
        assert status["desiredReplicas"] == 2
        assert "no queue statistics" in status["conditions"][0]["message"]
        assert await eventually(lambda: cluster.events("NoStatistics"), what="a NoStatistics event")
        # Several rounds later the workers are still there: missing data never scales to zero.
        async def three_rounds() -> bool:
            return len(await cluster.events("NoStatistics")) >= 3

        await eventually(three_rounds, what="three rounds without statistics")
        deployment = await cluster.get(f"{DEPLOYMENTS}/billing-bots-worker")
        assert deployment["spec"]["replicas"] == 2


async def test_raising_the_queue_scales_up_and_draining_scales_down_after_the_window(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch, start_service: StartService,
        token_for: Callable[..., Any]) -> None:
    host = await start_service(ROUTING)
    service = token_for(Role.SERVICE, "load-test")
    async with grpc.aio.insecure_channel(host.address) as channel:
        routing = routing_pb2_grpc.RoutingServiceStub(channel)
        await routing.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
            id="billing", display_name="Billing", groups=["billing"], service_level_percent=80,
            service_level_seconds=20)), metadata=service)

        operator_env(monkeypatch, cluster, host.address)
        async with Operator():
            await cluster.request("POST", POOLS, pool(
                "billing-bots", queues=["billing"], minReplicas=1, maxReplicas=8, sessionsPerReplica=2,
                scaling={"stabilizationWindowSeconds": 4, "cooldownSeconds": 1, "maxStatisticsAgeSeconds": 30}))
            await eventually(lambda: cluster.get(f"{DEPLOYMENTS}/billing-bots-worker"), what="worker Deployment")

            work_ids = [f"W-{i}" for i in range(12)]
            for work_id in work_ids:
                await routing.EnqueueWork(routing_pb2.EnqueueWorkRequest(work=routing_pb2.WorkItem(
                    id=work_id, queue_id="billing", channel=common_pb2.CHANNEL_CHAT, session_id=f"S-{work_id}",
                    intent="refund", text="I was charged twice")), metadata=service)

            async def replicas_at_least(n: int) -> Any:
                deployment = await cluster.get(f"{DEPLOYMENTS}/billing-bots-worker")
                return deployment if deployment["spec"]["replicas"] >= n else None

            # 12 waiting at 2 sessions per replica: 6 replicas (1 → 5 by the +4 limit, then 6).
            await eventually(lambda: replicas_at_least(6), what="scale-up to 6 replicas")
            status = (await cluster.get(f"{POOLS}/billing-bots"))["status"]
            assert status["observed"]["waiting"] >= 12
            assert status["desiredReplicas"] == 6
            assert await cluster.events("ScaledUp")

            for work_id in work_ids:
                await routing.AbandonWork(routing_pb2.AbandonWorkRequest(work_id=work_id), metadata=service)

            async def back_to_one() -> Any:
                deployment = await cluster.get(f"{DEPLOYMENTS}/billing-bots-worker")
                return deployment if deployment["spec"]["replicas"] == 1 else None

            await eventually(back_to_one, within=30, what="scale-down to minReplicas after the window")
            status = (await cluster.get(f"{POOLS}/billing-bots"))["status"]
            assert status["observed"]["waiting"] == 0
            assert status["currentReplicas"] == 1
            assert "lastScaleTime" in status
            assert await cluster.events("ScaledDown")
