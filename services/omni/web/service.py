"""Wiring of the web gateway: settings → use cases → routes → one Starlette app under uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from omni.runtime.auth import audience
from omni.runtime.token_verifier import verifier_for
from omni.web.domain.csrf import CsrfGuard
from omni.web.domain.origins import OriginPolicy
from omni.web.routes_desk import DeskRoutes
from omni.web.routes_reports import ReportRoutes
from omni.web.routes_widget import WidgetRoutes
from omni.web.security_headers import SecurityHeaders
from omni.web.settings import WebSettings
from omni.web.upstream import Upstream
from omni.web.usecases.callers import Callers
from omni.web.usecases.desk import Desk
from omni.web.usecases.live import DeskStream, SessionWatch
from omni.web.usecases.reports import ReportShelf
from omni.web.usecases.survey import CustomerSurvey
from omni.web.usecases.widget import WidgetChat

STATIC = Path(__file__).parent / "static"
DESK_PATH = "/desk/"
DEMO_PATH = "/demo/"


async def healthy(request: Request) -> Response:
    return PlainTextResponse("ok")


async def to_desk(request: Request) -> Response:
    return RedirectResponse(DESK_PATH)


def build_app(settings: WebSettings, upstream: Upstream) -> Starlette:
    """The app; call inside the event loop it will serve on (the gRPC channels belong to it)."""
    callers = Callers(verifier_for(settings, audience("web")), CsrfGuard.derived_from(settings.shared_replica_secret()),
                      OriginPolicy.of(settings.web_public_origin, settings.web_site_origins))
    desk = Desk(upstream)
    desk_routes = DeskRoutes(callers, desk, DeskStream(upstream, desk), SessionWatch(upstream, desk),
                             max_body_bytes=settings.web_max_body_bytes, max_frame_bytes=settings.web_max_frame_bytes,
                             secure_cookie=settings.web_cookie_secure)
    widget_routes = WidgetRoutes(callers, WidgetChat(upstream), CustomerSurvey(upstream),
                                 max_frame_bytes=settings.web_max_frame_bytes)
    routes: list[BaseRoute] = [
        *desk_routes.routes(),
        *widget_routes.routes(),
        *ReportRoutes(callers, ReportShelf(upstream)).routes(),
        Route("/healthz", healthy),
        Route("/", to_desk),
        Mount(DESK_PATH.rstrip("/"), StaticFiles(directory=STATIC / "desk", html=True)),
        Mount("/widget", StaticFiles(directory=STATIC / "widget")),
        # The page an emailed survey link opens (the token rides in the fragment, never to a server log).
        Mount("/survey", StaticFiles(directory=STATIC / "survey", html=True)),
        Mount("/reports", StaticFiles(directory=STATIC / "reports", html=True)),
    ]
    if settings.web_demo_site:
        routes.append(Mount(DEMO_PATH.rstrip("/"), StaticFiles(directory=STATIC / "demo", html=True)))
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders, https=settings.web_cookie_secure)])


class WebGateway:
    """The gateway's HTTP server on `settings.web_listen`, started and stopped in the running loop."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self.upstream = Upstream(settings)
        host, _, port = settings.web_listen.rpartition(":")
        self._server = uvicorn.Server(uvicorn.Config(
            build_app(settings, self.upstream), host=host or "0.0.0.0", port=int(port), lifespan="off",
            log_config=None, access_log=False, ws_max_size=settings.web_max_frame_bytes,
            timeout_graceful_shutdown=int(settings.shutdown_grace)))
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        sockets = [s for server in self._server.servers for s in server.sockets]
        return int(sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(), name="web gateway")
        while not self._server.started:
            if self._task.done():
                await self._task  # raises why it could not start
                raise RuntimeError(f"the web gateway stopped before it listened on {self.settings.web_listen}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        await self.upstream.close()

    async def serve_until_stopped(self) -> None:
        """`python -m omni.web`: uvicorn stops on SIGTERM/SIGINT after in-flight requests finish."""
        try:
            await self._server.serve()
        finally:
            await self.upstream.close()


@contextlib.asynccontextmanager
async def running(settings: WebSettings) -> AsyncIterator[WebGateway]:
    gateway = WebGateway(settings)
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()
