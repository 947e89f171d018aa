"""The real Kopf operator against kmock's Kubernetes API emulator and the real routing service."""

from __future__ import annotations

import time
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


async def test_bot_work_scales_up_conversations_in_progress_hold_and_the_human_line_is_not_counted(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch, start_service: StartService,
        token_for: Callable[..., Any]) -> None:
    host = await start_service(ROUTING)
    service, bot = token_for(Role.SERVICE, "load-test"), token_for(Role.BOT, "bot-workers")
    async with grpc.aio.insecure_channel(host.address) as channel:
        routing = routing_pb2_grpc.RoutingServiceStub(channel)
        # Refund questions overflow to the bots once anyone waits; complaints wait for a person.
        await routing.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
            id="billing", display_name="Billing", groups=["billing"], service_level_percent=80,
            service_level_seconds=20, overflow_threshold=1, simple_intents=["refund"])), metadata=service)

        async def enqueue(work_id: str, intent: str) -> None:
            await routing.EnqueueWork(routing_pb2.EnqueueWorkRequest(work=routing_pb2.WorkItem(
                id=work_id, queue_id="billing", channel=common_pb2.CHANNEL_CHAT, session_id=f"S-{work_id}",
                intent=intent, text="I was charged twice")), metadata=service)

        for i in range(8):
            await enqueue(f"H-{i}", "complaint")
        operator_env(monkeypatch, cluster, host.address)
        async with Operator():
            await cluster.request("POST", POOLS, pool(
                "billing-bots", queues=["billing"], minReplicas=1, maxReplicas=8, sessionsPerReplica=2,
                scaling={"stabilizationWindowSeconds": 3, "cooldownSeconds": 1, "maxStatisticsAgeSeconds": 30}))

            async def status_where(check: Callable[[dict[str, Any]], bool]) -> Any:
                status = ((await cluster.get(f"{POOLS}/billing-bots")) or {}).get("status", {})
                return status if status.get("observed") and check(status) else None

            # Eight people waiting for a person: the bots' pool stays at its minimum.
            human = await eventually(lambda: status_where(lambda s: s["observed"]["waiting"] == 8),
                                     what="the human line observed")
            assert human["desiredReplicas"] == 1 and human["observed"]["botWaiting"] == 0

            work_ids = [f"W-{i}" for i in range(12)]
            for work_id in work_ids:
                await enqueue(work_id, "refund")

            async def replicas_at_least(n: int) -> Any:
                deployment = await cluster.get(f"{DEPLOYMENTS}/billing-bots-worker")
                return deployment if deployment["spec"]["replicas"] >= n else None

            # 12 for the bots at 2 sessions per replica: 6 replicas (1 → 5 by the +4 limit, then 6).
            await eventually(lambda: replicas_at_least(6), what="scale-up to 6 replicas")
            assert await cluster.events("ScaledUp")

            # Workers take all twelve: nothing waits for a bot any more, but twelve conversations
            # are going on. A whole stabilization window later the workers are all still there.
            for i, _ in enumerate(work_ids):
                taken = await routing.TakeBotWork(routing_pb2.TakeBotWorkRequest(
                    worker_id=f"worker-{i // 2}/{i % 2}", queue_ids=["billing"]), metadata=bot)
                assert taken.HasField("work")
            busy_since = time.time()
            busy = await eventually(lambda: status_where(
                lambda s: s["observed"]["botInProgress"] == 12 and s["recommendations"]
                and min(r["at"] for r in s["recommendations"]) > busy_since), within=30,
                what="a full stabilization window of busy workers")
            assert (busy["observed"]["botWaiting"], busy["desiredReplicas"]) == (0, 6)
            assert (await cluster.get(f"{DEPLOYMENTS}/billing-bots-worker"))["spec"]["replicas"] == 6

            # The conversations end: back to the minimum, the human line still not counted.
            for i, work_id in enumerate(work_ids):
                await routing.CompleteBotWork(routing_pb2.CompleteBotWorkRequest(
                    work_id=work_id, resolved=True, reason="answered",
                    worker_id=f"worker-{i // 2}/{i % 2}"), metadata=bot)

            async def back_to_one() -> Any:
                deployment = await cluster.get(f"{DEPLOYMENTS}/billing-bots-worker")
                return deployment if deployment["spec"]["replicas"] == 1 else None

            await eventually(back_to_one, within=30, what="scale-down to minReplicas after the window")
            status = (await cluster.get(f"{POOLS}/billing-bots"))["status"]
            assert (status["observed"]["botInProgress"], status["observed"]["waiting"]) == (0, 8)
            assert status["currentReplicas"] == 1
            assert "lastScaleTime" in status
            assert await cluster.events("ScaledDown")
