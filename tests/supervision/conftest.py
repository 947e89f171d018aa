"""Routing and supervision in-process on a real NATS and MongoDB-protocol server; events of the
other services published on the real bus as they publish them."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message

from omni.routing.service import SPEC as ROUTING
from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from omni.runtime.events import EventBus
from omni.runtime.server import ServiceHost
from omni.supervision.service import SPEC as SUPERVISION
from omni.supervision.settings import SupervisionSettings
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.supervision.v1 import supervision_pb2, supervision_pb2_grpc
from tests.conftest import StartService
from tests.support.polling import eventually
from tests.support.settings import routing_settings, settings_for

Metadata = tuple[tuple[str, str], ...]


@dataclasses.dataclass
class Floor:
    supervision: supervision_pb2_grpc.SupervisionServiceStub
    routing: routing_pb2_grpc.RoutingServiceStub
    bus: EventBus
    admin: Metadata
    token_for: Callable[..., Metadata]
    # Supervision's gRPC address, and routing's host (a test may stop it).
    address: str
    routing_host: ServiceHost

    async def publish(self, domain: str, event_type: str, payload: Message, event_id: str) -> None:
        await self.bus.publish(domain, event_type, "test", payload, event_id=event_id)

    async def alerts(self, metadata: Metadata | None = None, **filters: object) -> list[supervision_pb2.Alert]:
        response = await self.supervision.ListAlerts(supervision_pb2.ListAlertsRequest(**filters),  # type: ignore[arg-type]
                                                     metadata=metadata or self.admin)
        return list(response.alerts)

    async def alert(self, kind: int, **match: str) -> supervision_pb2.Alert:
        def found(alerts: list[supervision_pb2.Alert]) -> bool:
            return any(a.kind == kind and all(getattr(a, k) == v for k, v in match.items()) for a in alerts)

        alerts = await eventually(self.alerts, found,
                                  what=f"a {supervision_pb2.AlertKind.Name(kind)} alert {match}")
        return next(a for a in alerts if a.kind == kind and all(getattr(a, k) == v for k, v in match.items()))


@pytest.fixture
async def floor(start_service: StartService, settings: ServiceSettings,
                client_settings: Callable[[str], dict[str, str]], token_for: Callable[..., Metadata],
                ) -> AsyncIterator[Floor]:
    routing = await start_service(ROUTING, settings_override=routing_settings(settings, database="routing"))
    supervision = await start_service(SUPERVISION, settings_override=settings_for(
        settings, SupervisionSettings, database="supervision", routing_addr=routing.address,
        floor_refresh_seconds=0.2, sweep_seconds=0.2, queue_check_seconds=0.3, greeting_target_seconds=2.0,
        sla_warning_fraction=0.5, **client_settings("supervision")))
    admin = token_for(Role.ADMIN, "admin")
    async with grpc.aio.insecure_channel(routing.address) as routing_channel, \
            grpc.aio.insecure_channel(supervision.address) as supervision_channel:
        stub = routing_pb2_grpc.RoutingServiceStub(routing_channel)
        for queue_id, groups in (("billing", ("billing",)), ("tech", ("tech",))):
            await stub.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
                id=queue_id, display_name=queue_id.title(), groups=groups, service_level_percent=80,
                service_level_seconds=1, overflow_threshold=1000,
                policy=routing_pb2.RoutingPolicy(offer_timeout=Duration(seconds=60)))), metadata=admin)
        bus = await EventBus.connect(settings.nats_url, "test")
        try:
            yield Floor(supervision_pb2_grpc.SupervisionServiceStub(supervision_channel), stub, bus, admin, token_for,
                        supervision.address, routing)
        finally:
            await bus.close()
