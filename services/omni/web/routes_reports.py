"""Supervisors' reports: the list (JSON for the /reports/ page), each report's HTML page and CSV."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from omni.web.domain import inputs
from omni.web.domain.inputs import ID_CHARS
from omni.web.transport import endpoint, path_id, request_facts
from omni.web.usecases.callers import Callers
from omni.web.usecases.reports import PERIODS, ReportShelf

# A report page is ours but stands alone: tables, inline SVG and one style element; no script at
# all, and sandboxed, so even a report someone managed to alter could run nothing.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'none'"


class ReportRoutes:
    def __init__(self, callers: Callers, shelf: ReportShelf) -> None:
        self._callers = callers
        self._shelf = shelf

    def routes(self) -> list[BaseRoute]:
        get = ["GET"]
        return [
            Route("/api/reports", endpoint(self.list), methods=get),
            Route("/api/reports/{name}/html", endpoint(self.html), methods=get),
            Route("/api/reports/{name}/csv", endpoint(self.csv), methods=get),
        ]

    async def list(self, request: Request) -> Response:
        caller = await self._callers.reading(request_facts(request))
        period = inputs.choice(dict(request.query_params), "period", tuple(PERIODS))
        page_token = inputs.text(dict(request.query_params), "page_token", ID_CHARS * 4)
        return JSONResponse(await self._shelf.list(caller, period, page_token))

    async def html(self, request: Request) -> Response:
        report = await self._shelf.get(await self._callers.reading(request_facts(request)), path_id(request, "name"))
        return Response(report.html, media_type="text/html; charset=utf-8",
                        headers={"content-security-policy": REPORT_CSP})

    async def csv(self, request: Request) -> Response:
        report = await self._shelf.get(await self._callers.reading(request_facts(request)), path_id(request, "name"))
        return Response(report.csv, media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{report.name}.csv"'})
