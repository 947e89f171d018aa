"""The agent desk's HTTP and WebSocket routes: JSON in, one use case, JSON out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from omni.web.domain import inputs
from omni.web.domain.desk_commands import desk_command
from omni.web.domain.inputs import ADDRESS_CHARS, ID_CHARS, MAX_COPIES, QUERY_CHARS, REASON_CHARS, TEXT_CHARS, Json
from omni.web.transport import (
    COOKIE,
    CSRF_HEADER,
    Send,
    endpoint,
    frames,
    json_body,
    path_id,
    request_facts,
    serve_live,
    while_open,
)
from omni.web.usecases.callers import Caller, Callers
from omni.web.usecases.desk import FOLLOW_UP_CHANNELS, TICKET_PRIORITIES, TICKET_STATUSES, TRANSFER_REASONS, Desk
from omni.web.usecases.live import DeskStream, SessionWatch


class DeskRoutes:
    def __init__(self, callers: Callers, desk: Desk, stream: DeskStream, watch: SessionWatch, *,
                 max_body_bytes: int, max_frame_bytes: int, secure_cookie: bool) -> None:
        self._callers = callers
        self._desk = desk
        self._stream = stream
        self._watch = watch
        self._max_body = max_body_bytes
        self._max_frame = max_frame_bytes
        self._secure = secure_cookie

    def routes(self) -> list[BaseRoute]:
        get, post = ["GET"], ["POST"]
        return [
            Route("/api/signin", endpoint(self.signin), methods=post),
            Route("/api/signout", endpoint(self.signout), methods=post),
            Route("/api/me", endpoint(self.me), methods=get),
            Route("/api/queues", endpoint(self.queues), methods=get),
            Route("/api/sessions/{session_id}", endpoint(self.session), methods=get),
            Route("/api/sessions/{session_id}/replies", endpoint(self.reply), methods=post),
            Route("/api/sessions/{session_id}/notes", endpoint(self.note), methods=post),
            Route("/api/sessions/{session_id}/summary", endpoint(self.draft_summary), methods=get),
            Route("/api/sessions/{session_id}/typing", endpoint(self.typing), methods=post),
            Route("/api/sessions/{session_id}/read", endpoint(self.read), methods=post),
            Route("/api/sessions/{session_id}/attachments/{attachment_id}", endpoint(self.attachment),
                  methods=get),
            Route("/api/work/{work_id}/transfer", endpoint(self.transfer), methods=post),
            Route("/api/work/{work_id}/follow-up", endpoint(self.follow_up), methods=post),
            Route("/api/suggestions", endpoint(self.suggestions), methods=get),
            Route("/api/articles/{article_id}", endpoint(self.article), methods=get),
            Route("/api/customer-context", endpoint(self.customer_context), methods=get),
            Route("/api/customers/{customer_id}/tickets", endpoint(self.customer_tickets), methods=get),
            Route("/api/tickets", endpoint(self.search_tickets), methods=get),
            Route("/api/tickets/{ticket_id}", endpoint(self.ticket), methods=get),
            Route("/api/tickets/{ticket_id}", endpoint(self.change_ticket), methods=["PATCH"]),
            Route("/api/tickets/{ticket_id}/timeline", endpoint(self.ticket_timeline), methods=get),
            Route("/api/tickets/{ticket_id}/assign", endpoint(self.assign_ticket), methods=post),
            Route("/api/tickets/{ticket_id}/merge", endpoint(self.merge_ticket), methods=post),
            Route("/api/tickets/{ticket_id}/split", endpoint(self.split_ticket), methods=post),
            WebSocketRoute("/api/desk", self.desk_stream),
            WebSocketRoute("/api/sessions/{session_id}/watch", self.session_watch),
        ]

    # ----- signing in ----------------------------------------------------------------------

    async def signin(self, request: Request) -> Response:
        self._callers.signing_in(request_facts(request))
        body = await json_body(request, self._max_body)
        caller = await self._callers.verify(inputs.text(body, "token", 4000, required=True))
        response = JSONResponse({**await self._desk.profile(caller), "csrf": self._callers.csrf_token(caller)})
        response.set_cookie(COOKIE, caller.token, httponly=True, samesite="strict", secure=self._secure, path="/")
        return response

    async def signout(self, request: Request) -> Response:
        self._callers.signing_in(request_facts(request))
        response = JSONResponse({})
        response.delete_cookie(COOKIE, httponly=True, samesite="strict", secure=self._secure, path="/")
        return response

    async def me(self, request: Request) -> Response:
        caller = await self._callers.reading(request_facts(request))
        return JSONResponse({**await self._desk.profile(caller), "csrf": self._callers.csrf_token(caller)})

    async def _reader(self, request: Request) -> Caller:
        return await self._callers.reading(request_facts(request))

    async def _actor(self, request: Request) -> Caller:
        return await self._callers.acting(request_facts(request, csrf=request.headers.get(CSRF_HEADER)))

    # ----- sessions ------------------------------------------------------------------------

    async def session(self, request: Request) -> Response:
        return JSONResponse(await self._desk.session(await self._reader(request), path_id(request, "session_id")))

    async def reply(self, request: Request) -> Response:
        return await self._text_to_session(request, self._desk.reply, copies=True)

    async def note(self, request: Request) -> Response:
        return await self._text_to_session(request, self._desk.note)

    async def draft_summary(self, request: Request) -> Response:
        return JSONResponse(await self._desk.draft_summary(await self._reader(request),
                                                           path_id(request, "session_id")))

    async def _text_to_session(self, request: Request, send: Callable[..., Awaitable[Json]], *,
                               copies: bool = False) -> Response:
        """A reply or an internal note: the session's text from the agent, idempotent on request_id;
        `copies`: a reply, which may name participants to copy (`cc`)."""
        caller = await self._actor(request)
        body = await json_body(request, self._max_body)
        extra = {"cc": inputs.strings(body, "cc", ADDRESS_CHARS, most=MAX_COPIES)} if copies else {}
        return JSONResponse(await send(caller, path_id(request, "session_id"),
                                       inputs.text(body, "text", TEXT_CHARS, required=True),
                                       inputs.text(body, "request_id", ID_CHARS), **extra))

    async def typing(self, request: Request) -> Response:
        await self._desk.typing(await self._actor(request), path_id(request, "session_id"))
        return JSONResponse({})

    async def read(self, request: Request) -> Response:
        caller = await self._actor(request)
        body = await json_body(request, self._max_body)
        await self._desk.read(caller, path_id(request, "session_id"),
                              inputs.text(body, "message_id", ID_CHARS, required=True))
        return JSONResponse({})

    async def attachment(self, request: Request) -> Response:
        found = await self._desk.attachment(await self._reader(request), path_id(request, "session_id"),
                                            path_id(request, "attachment_id"))
        # Always a download, never rendered: a customer's file must not run as a page of ours.
        return Response(found.content, media_type="application/octet-stream", headers={
            "content-disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}"})

    # ----- routing and knowledge -----------------------------------------------------------

    async def transfer(self, request: Request) -> Response:
        caller = await self._actor(request)
        body = await json_body(request, self._max_body)
        return JSONResponse(await self._desk.transfer(
            caller, path_id(request, "work_id"), inputs.choice(body, "reason_code", TRANSFER_REASONS),
            inputs.text(body, "reason", REASON_CHARS),
            inputs.text(body, "queue_id", ID_CHARS), inputs.text(body, "agent_id", ID_CHARS)))

    async def follow_up(self, request: Request) -> Response:
        caller = await self._actor(request)
        body = await json_body(request, self._max_body)
        return JSONResponse(await self._desk.follow_up(
            caller, path_id(request, "work_id"), inputs.choice(body, "channel", tuple(FOLLOW_UP_CHANNELS)),
            inputs.instant(body, "due"), inputs.text(body, "group", ID_CHARS),
            inputs.text(body, "note", REASON_CHARS), inputs.text(body, "request_id", ID_CHARS)))

    async def queues(self, request: Request) -> Response:
        return JSONResponse(await self._desk.queues(await self._reader(request)))

    async def suggestions(self, request: Request) -> Response:
        query = dict(request.query_params)
        return JSONResponse(await self._desk.suggestions(
            await self._reader(request), inputs.text(query, "text", QUERY_CHARS, required=True),
            inputs.text(query, "session_id", ID_CHARS), inputs.text(query, "queue", ID_CHARS)))

    async def article(self, request: Request) -> Response:
        return JSONResponse(await self._desk.article(await self._reader(request), path_id(request, "article_id")))

    # ----- customers and tickets -----------------------------------------------------------

    async def customer_context(self, request: Request) -> Response:
        query = dict(request.query_params)
        return JSONResponse(await self._desk.customer_context(
            await self._reader(request), inputs.text(query, "customer_id", ID_CHARS),
            inputs.text(query, "email", ID_CHARS), inputs.text(query, "phone", ID_CHARS)))

    async def customer_tickets(self, request: Request) -> Response:
        return JSONResponse(await self._desk.tickets(await self._reader(request), path_id(request, "customer_id")))

    async def search_tickets(self, request: Request) -> Response:
        query = dict(request.query_params)
        return JSONResponse(await self._desk.search_tickets(await self._reader(request),
                                                            inputs.text(query, "q", QUERY_CHARS, required=True)))

    async def ticket(self, request: Request) -> Response:
        return JSONResponse(await self._desk.ticket(await self._reader(request), path_id(request, "ticket_id")))

    async def ticket_timeline(self, request: Request) -> Response:
        caller = await self._reader(request)
        return JSONResponse(await self._desk.ticket_timeline(caller, path_id(request, "ticket_id")))

    async def change_ticket(self, request: Request) -> Response:
        caller = await self._actor(request)
        body = await json_body(request, self._max_body)
        return JSONResponse(await self._desk.change_ticket(
            caller, path_id(request, "ticket_id"), inputs.whole_number(body, "version", most=2**62),
            inputs.choice(body, "status", ("", *TICKET_STATUSES)),
            inputs.choice(body, "priority", ("", *TICKET_PRIORITIES))))

    async def assign_ticket(self, request: Request) -> Response:
        caller = await self._actor(request)
        body = await json_body(request, self._max_body)
        return JSONResponse(await self._desk.assign_ticket(
            caller, path_id(request, "ticket_id"), inputs.text(body, "assignee_id", ID_CHARS),
            inputs.text(body, "group", ID_CHARS)))

    async def merge_ticket(self, request: Request) -> Response:
        caller = await self._actor(request)
        body = await json_body(request, self._max_body)
        return JSONResponse(await self._desk.merge_tickets(
            caller, path_id(request, "ticket_id"), inputs.text(body, "target_id", ID_CHARS, required=True)))

    async def split_ticket(self, request: Request) -> Response:
        caller = await self._actor(request)
        body = await json_body(request, self._max_body)
        return JSONResponse(await self._desk.split_ticket(
            caller, path_id(request, "ticket_id"), inputs.strings(body, "interaction_ids", ID_CHARS, most=100),
            inputs.text(body, "subject", REASON_CHARS)))

    # ----- live streams --------------------------------------------------------------------

    async def _socket_caller(self, websocket: WebSocket) -> Caller:
        return await self._callers.acting(request_facts(websocket, csrf=websocket.query_params.get("csrf")))

    async def desk_stream(self, websocket: WebSocket) -> None:
        """Routing's desk stream: presence, offers with the screen pop, assigned work."""
        await serve_live(websocket, lambda: self._socket_caller(websocket), lambda caller, send: self._stream.run(
            caller, frames(websocket, self._max_frame, desk_command, send), send))

    async def session_watch(self, websocket: WebSocket) -> None:
        """One session live, with knowledge suggestions after every customer turn; `?work=` names
        the routing work the desk holds it for."""
        async def admit() -> tuple[Caller, str, str]:
            return (await self._socket_caller(websocket), path_id(websocket, "session_id"),
                    inputs.text(dict(websocket.query_params), "work", ID_CHARS))

        async def run(asked: tuple[Caller, str, str], send: Send) -> None:
            caller, session_id, work_id = asked
            await while_open(websocket, self._watch.run(caller, session_id, work_id, send))

        await serve_live(websocket, admit, run)
