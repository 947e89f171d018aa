"""gRPC ↔ use cases for ReportService."""

from __future__ import annotations

from omni.reports.domain.model import StoredReport
from omni.reports.domain.periods import PeriodKind
from omni.reports.usecases import Reports
from omni.runtime.interceptors import Context
from omni.runtime.paging import PageRequest, PageTokens, page_size
from omni.runtime.proto_values import timestamp
from omnichannel.reports.v1 import reports_pb2 as pb
from omnichannel.reports.v1 import reports_pb2_grpc

KINDS = {PeriodKind.DAY: pb.REPORT_PERIOD_DAY, PeriodKind.WEEK: pb.REPORT_PERIOD_WEEK,
         PeriodKind.MONTH: pb.REPORT_PERIOD_MONTH}
KINDS_BACK = {v: k for k, v in KINDS.items()}


def report_to_proto(report: StoredReport) -> pb.Report:
    return pb.Report(name=report.name, period=KINDS[report.kind], start_time=timestamp(report.start),
                     end_time=timestamp(report.end), generate_time=timestamp(report.generate_time),
                     generated_by=report.generated_by, contacts=report.contacts, html=report.html, csv=report.csv)


class ReportServicer(reports_pb2_grpc.ReportServiceServicer):
    def __init__(self, reports: Reports, page_tokens: PageTokens) -> None:
        self._reports = reports
        self._tokens = page_tokens

    async def ListReports(self, request: pb.ListReportsRequest, context: Context) -> pb.ListReportsResponse:
        kind = KINDS_BACK.get(request.period)
        after = self._tokens.read(request.page_token, listing="reports", filters=[request.period])
        page = await self._reports.list(kind, PageRequest(page_size(request.page_size), after))
        return pb.ListReportsResponse(
            reports=[report_to_proto(r) for r in page.items],
            next_page_token=self._tokens.issue(page.next_after, listing="reports", filters=[request.period]))

    async def GetReport(self, request: pb.GetReportRequest, context: Context) -> pb.Report:
        return report_to_proto(await self._reports.get(request.name))
