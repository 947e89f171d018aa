"""Settings of the reports service (OMNI_* environment variables)."""

from __future__ import annotations

import dataclasses

from omni.runtime.config import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReportSettings(ServiceSettings):
    # The sessions service, whose stored contacts (and their surveys) the reports count.
    sessions_addr: str = "127.0.0.1:50052"
    # Routing, whose follow-up tasks the reports count (done on time); empty: reports without them.
    routing_addr: str = ""
    # How often each replica looks for a completed period without its report.
    report_check_seconds: float = 60.0
    # A replica's claim on a period while it generates the report; one that dies holding it is
    # replaced once this has passed.
    report_lease_seconds: float = 600.0
    # Completed periods of each kind (days, weeks, months) kept generated: a scheduler down across
    # a boundary makes the missed reports when it is back.
    report_catch_up: int = 3
    # Which periods get reports.
    report_periods: tuple[str, ...] = ("day", "week", "month")
    # Timeout of one ListSessions page while reading a period's contacts.
    report_read_timeout_seconds: float = 60.0
