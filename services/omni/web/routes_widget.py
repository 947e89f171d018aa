"""The chat widget's WebSockets: the chat (the visitor's frames in, checked; the chat's frames out)
and the satisfaction survey (after a chat in the widget, or from an emailed link's page)."""

from __future__ import annotations

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from omni.web.domain.chat_frames import chat_frame
from omni.web.domain.survey_frames import survey_frame
from omni.web.transport import frames, request_facts, serve_live
from omni.web.usecases.callers import Callers
from omni.web.usecases.survey import CustomerSurvey
from omni.web.usecases.widget import WidgetChat


class WidgetRoutes:
    def __init__(self, callers: Callers, chat: WidgetChat, survey: CustomerSurvey, *, max_frame_bytes: int) -> None:
        self._callers = callers
        self._chat = chat
        self._survey = survey
        self._max_frame = max_frame_bytes

    def routes(self) -> list[BaseRoute]:
        return [WebSocketRoute("/widget/chat", self.chat), WebSocketRoute("/widget/survey", self.survey)]

    async def survey(self, websocket: WebSocket) -> None:
        await serve_live(websocket, lambda: self._admit(websocket), lambda _, send: self._survey.run(
            frames(websocket, self._max_frame, survey_frame, send), send))

    async def chat(self, websocket: WebSocket) -> None:
        address = websocket.client.host if websocket.client else ""
        await serve_live(websocket, lambda: self._admit(websocket), lambda _, send: self._chat.run(
            frames(websocket, self._max_frame, chat_frame, send), send, visitor_address=address))

    async def _admit(self, websocket: WebSocket) -> None:
        """Only the configured sites' pages may open the widget's sockets (their Origin)."""
        self._callers.embedding(request_facts(websocket))
