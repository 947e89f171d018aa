"""Wiring of the reports service: the schedule loop, the servicer, access rules."""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from collections.abc import Sequence

import grpc

from omni.reports import repository
from omni.reports.domain.periods import PeriodKind
from omni.reports.servicer import ReportServicer
from omni.reports.settings import ReportSettings
from omni.reports.sources import RoutingFollowUps, SessionContacts
from omni.reports.usecases import Reports, Schedule
from omni.runtime.auth import MANAGERS
from omni.runtime.config import ConfigError, env_name
from omni.runtime.server import Runtime, ServiceSpec
from omnichannel.reports.v1 import reports_pb2, reports_pb2_grpc


def replica_name() -> str:
    """Unique per process: who holds a period's claim."""
    host = "".join(c if c.isalnum() else "-" for c in socket.gethostname().lower())[:40]
    return f"reports-{host}-{uuid.uuid4().hex[:8]}"


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    settings = ReportSettings.extending(runtime.settings)
    try:
        kinds = [PeriodKind(kind) for kind in settings.report_periods]
    except ValueError:
        raise ConfigError(f"{env_name('report_periods')} takes day, week and month, not "
                          f"{','.join(settings.report_periods)}") from None
    repo = repository.ReportRepository(runtime.db)
    contacts = SessionContacts(settings.sessions_addr, runtime.service_token("sessions"),
                               settings.report_read_timeout_seconds, tls_ca_file=settings.grpc_tls_ca_file)
    follow_ups = RoutingFollowUps(settings.routing_addr, runtime.service_token("routing"),
                                  settings.report_read_timeout_seconds,
                                  tls_ca_file=settings.grpc_tls_ca_file) if settings.routing_addr else None
    schedule = Schedule(repo, contacts, follow_ups, owner=replica_name(), kinds=kinds,
                        catch_up=settings.report_catch_up,
                        lease=dt.timedelta(seconds=settings.report_lease_seconds))
    runtime.background(schedule.run(settings.report_check_seconds), "reports schedule")
    reports_pb2_grpc.add_ReportServiceServicer_to_server(ReportServicer(Reports(repo), runtime.page_tokens), server)
    return [reports_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name]


ACCESS = {f"/omnichannel.reports.v1.ReportService/{method}": MANAGERS for method in ("ListReports", "GetReport")}
SPEC = ServiceSpec(name="reports", register=register, access_rules=ACCESS, indexes=repository.INDEXES)
