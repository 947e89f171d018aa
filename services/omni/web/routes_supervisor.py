"""The supervisor's routes: the floor socket, alerts, whisper, call legs and take-over."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from omni.web.domain import inputs
from omni.web.domain.inputs import ID_CHARS, TEXT_CHARS
from omni.web.transport import CSRF_HEADER, endpoint, json_body, path_id, request_facts, serve_live, while_open
from omni.web.usecases.callers import Caller, Callers
from omni.web.usecases.supervision import CALL_LEG_MODES, Supervision


class SupervisorRoutes:
    def __init__(self, callers: Callers, supervision: Supervision, *, max_body_bytes: int) -> None:
        self._callers = callers
        self._supervision = supervision
        self._max_body = max_body_bytes

    def routes(self) -> list[BaseRoute]:
        post = ["POST"]
        return [
            Route("/api/supervisor/alerts", endpoint(self.alerts), methods=["GET"]),
            Route("/api/supervisor/alerts/{alert_id}/acknowledge", endpoint(self.acknowledge), methods=post),
            Route("/api/sessions/{session_id}/whisper", endpoint(self.whisper), methods=post),
            Route("/api/sessions/{session_id}/call-leg", endpoint(self.call_leg), methods=post),
            Route("/api/work/{work_id}/takeover", endpoint(self.take_over), methods=post),
            WebSocketRoute("/api/supervisor/floor", self.floor),
        ]

    async def _actor(self, request: Request) -> Caller:
        return await self._callers.acting(request_facts(request, csrf=request.headers.get(CSRF_HEADER)))

    async def alerts(self, request: Request) -> Response:
        caller = await self._callers.reading(request_facts(request))
        open_only = request.query_params.get("open", "") in ("1", "true")
        return JSONResponse(await self._supervision.alerts(caller, open_only))

    async def acknowledge(self, request: Request) -> Response:
        caller = await self._actor(request)
        return JSONResponse(await self._supervision.acknowledge(caller, path_id(request, "alert_id")))

    async def whisper(self, request: Request) -> Response:
        caller = await self._actor(request)
        body = await json_body(request, self._max_body)
        return JSONResponse(await self._supervision.whisper(
            caller, path_id(request, "session_id"), inputs.text(body, "text", TEXT_CHARS, required=True),
            inputs.text(body, "request_id", ID_CHARS)))

    async def call_leg(self, request: Request) -> Response:
        caller = await self._actor(request)
        body = await json_body(request, self._max_body)
        return JSONResponse(await self._supervision.call_leg(
            caller, path_id(request, "session_id"), inputs.choice(body, "mode", CALL_LEG_MODES),
            inputs.text(body, "request_id", ID_CHARS)))

    async def take_over(self, request: Request) -> Response:
        caller = await self._actor(request)
        return JSONResponse(await self._supervision.take_over(caller, path_id(request, "work_id")))

    async def floor(self, websocket: WebSocket) -> None:
        """The floor and its alerts, pushed as they change."""
        async def admit() -> Caller:
            return await self._callers.acting(request_facts(websocket, csrf=websocket.query_params.get("csrf")))

        await serve_live(websocket, admit, lambda caller, send: while_open(
            websocket, self._supervision.watch_floor(caller, send)))
