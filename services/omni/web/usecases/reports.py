"""The scheduled KPI reports, for supervisors: relayed from the reports service with the caller's
own token (it refuses everyone but supervisors and admins)."""

from __future__ import annotations

from omni.runtime.auth import bearer
from omni.web.convert import to_json
from omni.web.domain.inputs import Json
from omni.web.upstream import Upstream, relay
from omni.web.usecases.callers import Caller
from omnichannel.reports.v1 import reports_pb2

PERIODS = {"": reports_pb2.REPORT_PERIOD_UNSPECIFIED, "day": reports_pb2.REPORT_PERIOD_DAY,
           "week": reports_pb2.REPORT_PERIOD_WEEK, "month": reports_pb2.REPORT_PERIOD_MONTH}


class ReportShelf:
    def __init__(self, upstream: Upstream) -> None:
        self._up = upstream

    async def list(self, caller: Caller, period: str, page_token: str) -> Json:
        request = reports_pb2.ListReportsRequest(period=PERIODS[period], page_size=100, page_token=page_token)
        return to_json(await relay(self._up.reports.ListReports(request, metadata=bearer(caller.token),
                                                                timeout=self._up.timeout)))

    async def get(self, caller: Caller, name: str) -> reports_pb2.Report:
        return await relay(self._up.reports.GetReport(reports_pb2.GetReportRequest(name=name),
                                                      metadata=bearer(caller.token), timeout=self._up.timeout))
