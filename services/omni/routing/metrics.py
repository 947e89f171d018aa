"""Live queue KPIs as OpenTelemetry gauges: the figures GetQueueStats gives the operator, over
the same 15-minute rolling window, one series per queue."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from opentelemetry import metrics

from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queue_metrics import QueueView

WINDOW = 15 * 60.0
# name -> (unit, value of one queue's view)
GAUGES: dict[str, tuple[str, Callable[[QueueView], float]]] = {
    "waiting": ("{work}", lambda v: v.waiting),
    "longest_wait": ("s", lambda v: v.longest_wait),
    "offered": ("{work}", lambda v: v.window.offered),
    "answered": ("{work}", lambda v: v.window.answered),
    "abandoned": ("{work}", lambda v: v.window.abandoned),
    "service_level": ("1", lambda v: v.window.service_level),
    "average_speed_of_answer": ("s", lambda v: v.window.average_speed_of_answer),
    "average_handle_time": ("s", lambda v: v.window.average_handle_time or v.average_handle_time),
    "transfers": ("{work}", lambda v: v.window.transfers),
    "occupancy": ("1", lambda v: v.occupancy),
    "agents_available": ("{agent}", lambda v: v.agents_available),
    "expected_wait": ("s", lambda v: v.expected_wait),
}


class _Views:
    """One collection reads every gauge within a moment: compute the queue views once for all."""

    def __init__(self, engine: RoutingEngine) -> None:
        self._engine = engine
        self._at = -1.0
        self._views: list[QueueView] = []

    def __call__(self) -> list[QueueView]:
        now = time.monotonic()
        if self._at < 0 or now - self._at > 0.5:
            self._at = now
            self._views = [self._engine.queue_stats(q.id, WINDOW) for q in list(self._engine.queues())]
        return self._views


def observe(engine: RoutingEngine, provider: metrics.MeterProvider | None = None) -> None:
    """Register `routing.queue.<kpi>` gauges, read from the engine at each collection."""
    meter = metrics.get_meter("omni.routing", meter_provider=provider)
    views = _Views(engine)

    def gauge(read: Callable[[QueueView], float]) -> metrics.CallbackT:
        def callback(options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
            return [metrics.Observation(read(v), {"queue": v.queue_id}) for v in views()]
        return callback

    for name, (unit, read) in GAUGES.items():
        meter.create_observable_gauge(f"routing.queue.{name}", callbacks=[gauge(read)], unit=unit)
