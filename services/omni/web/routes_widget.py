"""The chat widget's WebSockets: the chat (the visitor's frames in, checked; the chat's frames out)
and the satisfaction survey (after a chat in the widget, or from an emailed link's page)."""

from __future__ import annotations

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from omni.runtime.errors import DomainError
from omni.web.domain.chat_frames import chat_frame
from omni.web.domain.survey_frames import survey_frame
from omni.web.transport import finish, frames, refuse, request_facts, sender
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
        try:
            self._callers.embedding(request_facts(websocket))
        except DomainError as exc:
            await refuse(websocket, exc)
            return
        await websocket.accept()
        send = sender(websocket)
        try:
            await self._survey.run(frames(websocket, self._max_frame, survey_frame, send), send)
        except DomainError as exc:
            await send({"error": exc.message})
            await refuse(websocket, exc)
            return
        await finish(websocket)

    async def chat(self, websocket: WebSocket) -> None:
        try:
            self._callers.embedding(request_facts(websocket))
        except DomainError as exc:
            await refuse(websocket, exc)
            return
        await websocket.accept()
        send = sender(websocket)
        try:
            await self._chat.run(frames(websocket, self._max_frame, chat_frame, send), send,
                                 visitor_address=websocket.client.host if websocket.client else "")
        except DomainError as exc:
            await send({"error": exc.message})
            await refuse(websocket, exc)
            return
        await finish(websocket)
