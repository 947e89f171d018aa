"""HTTP and WebSocket plumbing the route modules share: the caller's request facts, JSON bodies
read within their size limit, domain errors as HTTP answers, checked WebSocket frames."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from omni.runtime import errors
from omni.web.domain.inputs import ID_CHARS, Json
from omni.web.usecases import callers

log = logging.getLogger("omni.web")
T = TypeVar("T")
COOKIE = "omni_desk"
CSRF_HEADER = "x-csrf-token"


class TooLarge(errors.InvalidArgument):
    """A body over its size limit (HTTP 413)."""


HTTP_STATUS: dict[type[errors.DomainError], int] = {
    TooLarge: 413,
    errors.InvalidArgument: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.Conflict: 409,
    errors.FailedPrecondition: 409,
    errors.ResourceExhausted: 429,
    errors.Unavailable: 503,
}
# WebSocket close codes: policy violation (refused), message too big, try again later.
WS_REFUSED, WS_TOO_BIG, WS_UNAVAILABLE = 1008, 1009, 1013


def request_facts(conn: HTTPConnection, *, csrf: str | None = None) -> callers.Request:
    return callers.Request(token=conn.cookies.get(COOKIE), origin=conn.headers.get("origin"),
                           host=conn.headers.get("host", ""), csrf=csrf)


def http_status(error: errors.DomainError) -> int:
    return next((HTTP_STATUS[k] for k in type(error).__mro__ if k in HTTP_STATUS), 500)


def error_response(error: errors.DomainError) -> JSONResponse:
    return JSONResponse({"error": error.message}, status_code=http_status(error))


Endpoint = Callable[[Request], Awaitable[Response]]


def endpoint(handler: Endpoint) -> Endpoint:
    """A route whose domain errors (its own or a service's) answer as `{"error": ...}` with their status."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except errors.DomainError as exc:
            return error_response(exc)

    return run


async def json_body(request: Request, limit: int) -> Json:
    """The request's JSON object, read no further than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge(f"the body is over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"the body is over {limit} bytes")
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        raise errors.InvalidArgument("the body is not JSON") from None
    if not isinstance(parsed, dict):
        raise errors.InvalidArgument("the body must be a JSON object")
    return parsed


def path_id(request: HTTPConnection, name: str) -> str:
    value: str = request.path_params[name]
    if not value or len(value) > ID_CHARS:
        raise errors.InvalidArgument(f"{name} must be 1 to {ID_CHARS} characters")
    return value


def sender(websocket: WebSocket) -> Callable[[Json], Awaitable[None]]:
    """Sends JSON frames; a lock keeps frames from concurrent tasks (suggestions, positions) whole."""
    lock = asyncio.Lock()

    async def send(frame: Json) -> None:
        async with lock:
            await websocket.send_text(json.dumps(frame, ensure_ascii=False))

    return send


async def frames(websocket: WebSocket, limit: int, check: Callable[[object], T],
                 send: Callable[[Json], Awaitable[None]]) -> AsyncIterator[T]:
    """The browser's frames, each checked by `check`; a refused frame gets `{"error": ...}` and the
    socket stays open. Ends when the browser goes away."""
    while True:
        try:
            raw = await websocket.receive_text()
        except WebSocketDisconnect:
            return
        if len(raw) > limit:
            await websocket.close(WS_TOO_BIG, f"a frame is at most {limit} bytes")
            return
        try:
            yield check(json.loads(raw))
        except ValueError:
            await send({"error": "a frame must be JSON"})
        except errors.InvalidArgument as exc:
            await send({"error": exc.message})


Send = Callable[[Json], Awaitable[None]]


async def serve_live(websocket: WebSocket, admit: Callable[[], Awaitable[T]],
                     run: Callable[[T, Send], Awaitable[None]]) -> None:
    """A live socket: `admit` says who is calling (a refusal closes the socket before it is
    accepted), then `run` relays until it ends; a domain error on the way is sent as
    `{"error": ...}` and closes the socket with it."""
    try:
        caller = await admit()
    except errors.DomainError as exc:
        await refuse(websocket, exc)
        return
    await websocket.accept()
    send = sender(websocket)
    try:
        await run(caller, send)
    except errors.DomainError as exc:
        await send({"error": exc.message})
        await refuse(websocket, exc)
        return
    await finish(websocket)


async def refuse(websocket: WebSocket, error: errors.DomainError) -> None:
    """Close a socket (before or after accepting it) for a domain error, with its message as the reason."""
    code = WS_UNAVAILABLE if isinstance(error, errors.Unavailable) else WS_REFUSED
    # A close reason is limited to 123 bytes by the protocol.
    await finish(websocket, code, error.message.encode()[:120].decode(errors="ignore"))


async def finish(websocket: WebSocket, code: int = 1000, reason: str = "") -> None:
    """Close the socket unless the browser already has."""
    if websocket.application_state != WebSocketState.DISCONNECTED and \
            websocket.client_state != WebSocketState.DISCONNECTED:
        await websocket.close(code, reason)



async def while_open(websocket: WebSocket, work: Awaitable[None]) -> None:
    """Run `work` (which only sends) until it ends or the browser closes the socket."""

    async def closed() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # this socket carries nothing from the browser; anything it sends is ignored

    tasks = [asyncio.ensure_future(work), asyncio.ensure_future(closed())]
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if tasks[0] in done and not tasks[0].cancelled() and (failure := tasks[0].exception()) is not None:
        raise failure
