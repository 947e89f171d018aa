"""Wiring of the supervision service: routing reader, floor room, alerts, consumers, timers."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from omni.runtime.auth import MANAGERS, Role
from omni.runtime.outbox import Outbox
from omni.runtime.server import Runtime, ServiceSpec
from omni.supervision import repository
from omni.supervision.consumers import SESSION_EVENTS, TICKET_EVENTS, WORK_EVENTS, SupervisionConsumers
from omni.supervision.domain.queue_health import HealthRules
from omni.supervision.domain.usual_band import BandRules
from omni.supervision.publishing import DOMAIN, PAYLOADS, AlertEvents
from omni.supervision.routing_reader import RoutingReader
from omni.supervision.servicer import SupervisionServicer
from omni.supervision.settings import SupervisionSettings
from omni.supervision.usecases.alerts import Alerts
from omni.supervision.usecases.facts import Facts
from omni.supervision.usecases.floor import FloorRoom
from omni.supervision.usecases.timers import Timers, every
from omni.supervision.usecases.watchers import WatchSlots
from omnichannel.supervision.v1 import supervision_pb2, supervision_pb2_grpc


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    settings = SupervisionSettings.extending(runtime.settings)
    repo = repository.SupervisionRepository(runtime.mongo, runtime.db, runtime.processed_events("supervision-days"))
    outbox = Outbox(runtime.db[repository.ALERTS], runtime.bus, DOMAIN, PAYLOADS)
    events = AlertEvents(outbox, runtime.bus)
    reader = RoutingReader(settings.routing_addr, runtime.service_token("routing"), settings.routing_timeout,
                           tls_ca_file=settings.grpc_tls_ca_file)
    runtime.on_stop.append(reader.close)
    slots = WatchSlots(settings.max_watchers)
    room = FloorRoom(reader, repo, settings.floor_refresh_seconds, slots)
    alerts = Alerts(repo, events, room, settings.max_watch_snapshot, slots)
    supervision_pb2_grpc.add_SupervisionServiceServicer_to_server(
        SupervisionServicer(alerts, room, runtime.page_tokens), server)

    facts = Facts(alerts, repo, settings.greeting_target_seconds, settings.greeting_channels,
                  settings.sla_warning_fraction)
    consumers = SupervisionConsumers(facts)
    runtime.consumer("routing", consumers.on_work_event, event_types=WORK_EVENTS)
    runtime.consumer("sessions", consumers.on_session_event, event_types=SESSION_EVENTS)
    runtime.consumer("tickets", consumers.on_ticket_event, event_types=TICKET_EVENTS)

    timers = Timers(alerts, repo, reader, greeting_target=settings.greeting_target_seconds,
                    sla_warning=settings.sla_warning_fraction,
                    rules=HealthRules(settings.queue_min_decided, settings.spike_min_abandoned,
                                      settings.spike_min_rate, settings.spike_factor),
                    band=BandRules(settings.band_k, settings.band_weeks, settings.band_min_weeks, settings.band_days,
                                   settings.band_min_days))
    runtime.background(every(settings.sweep_seconds, timers.sweep, "supervision sweep"), "supervision sweep")
    runtime.background(every(settings.queue_check_seconds, timers.check_queues, "queue checks"), "queue checks")
    runtime.background(outbox.relay(interval=settings.outbox_relay_seconds, grace=settings.outbox_grace_seconds),
                       "supervision outbox relay")
    return [supervision_pb2.DESCRIPTOR.services_by_name["SupervisionService"].full_name]


def _rules() -> dict[str, frozenset[Role]]:
    # Agents are refused here too; who sees which queue is domain/access.py.
    table = {"ListAlerts": MANAGERS, "AcknowledgeAlert": MANAGERS, "WatchAlerts": MANAGERS, "WatchFloor": MANAGERS}
    return {f"/omnichannel.supervision.v1.SupervisionService/{method}": roles for method, roles in table.items()}


ACCESS = _rules()
SPEC = ServiceSpec(name="supervision", register=register, access_rules=ACCESS, indexes=repository.INDEXES)
