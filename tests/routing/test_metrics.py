"""The operator's queue KPIs as OpenTelemetry gauges, read from the live engine."""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from omni.routing import metrics
from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.work import Work
from omni.runtime.channels import Channel


def test_queue_kpis_are_exported_per_queue() -> None:
    now = [1_800_000_000.0]
    engine = RoutingEngine(lambda: now[0])
    engine.put_queue(QueueConfig("billing", groups=("billing",)))
    engine.put_queue(QueueConfig("general", groups=("general",)))
    engine.put_agent(Agent("A-1", groups=("billing",)))
    engine.set_agent_status("A-1", AgentStatus.AVAILABLE)
    for n in range(3):
        engine.enqueue(Work(id=f"W-{n}", queue_id="billing", channel=Channel.PHONE))
    now[0] += 12
    engine.accept("A-1", "W-0")
    now[0] += 100
    engine.complete("A-1", "W-0")  # W-1 is offered now; W-2 waits
    engine.abandon("W-2")
    reader = InMemoryMetricReader()
    metrics.observe(engine, MeterProvider(metric_readers=[reader]))

    data = reader.get_metrics_data()
    assert data is not None
    points = {(m.name, dict(p.attributes or {})["queue"]): p.value
              for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
              for p in m.data.data_points}
    assert {name for name, _ in points} == {f"routing.queue.{kpi}" for kpi in metrics.GAUGES}
    assert points["routing.queue.offered", "billing"] == 3
    assert points["routing.queue.answered", "billing"] == 1
    assert points["routing.queue.abandoned", "billing"] == 1
    assert points["routing.queue.average_speed_of_answer", "billing"] == 12
    assert points["routing.queue.average_handle_time", "billing"] == 100
    assert points["routing.queue.waiting", "billing"] == 0 and points["routing.queue.offered", "general"] == 0
