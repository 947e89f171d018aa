"""The web widget's chat endpoint: WebSocket at /chat, one JSON object per frame.

Frames mirror `ChatClientFrame` / `ChatServerFrame` in protobuf's JSON mapping, e.g.
`{"start": {"handle": "web-42"}}`, `{"text": {"text": "hello"}}`,
`{"resume": {"session_token": "..."}}`. The endpoint is public (a website visitor has no
account); resuming needs the session token the `started` frame returned.
"""

from __future__ import annotations

import http
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from google.protobuf import json_format
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from omni.sessions.chat_connection import ChatConnection
from omni.sessions.domain.flood import TrustedProxies, client_address
from omni.sessions.usecases.chat import ChatDesk
from omnichannel.sessions.v1 import sessions_pb2 as pb

PATH = "/chat"
# The public keys of the chat tokens (the visitor's session token), for routing and knowledge.
JWKS_PATH = "/.well-known/jwks.json"
MAX_FRAME_BYTES = 64 * 1024


def _chat_or_keys(jwks: dict[str, Any]) -> Callable[[ServerConnection, Request], Response | None]:
    published = json.dumps(jwks)

    def route(connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == JWKS_PATH:
            keys = connection.respond(http.HTTPStatus.OK, published)
            del keys.headers["Content-Type"]  # Headers add on assignment; text/plain goes first
            keys.headers["Content-Type"] = "application/json"
            keys.headers["Cache-Control"] = "public, max-age=300"
            return keys
        if path != PATH:
            return Response(http.HTTPStatus.NOT_FOUND.value, "Not Found", Headers(), b"chat is served at /chat\n")
        return None

    return route


async def start_websocket(listen: str, desk: ChatDesk, jwks: dict[str, Any], *,
                          trusted_proxies: tuple[str, ...] = ()) -> Server:
    """`jwks`: the chat tokens' public keys, served at JWKS_PATH. `trusted_proxies`: addresses or
    networks (the web gateway's, a load balancer's) whose X-Forwarded-For names the visitor."""
    host, _, port = listen.rpartition(":")
    trusted = TrustedProxies(trusted_proxies)

    async def chat(ws: ServerConnection) -> None:
        async def send(frame: pb.ChatServerFrame) -> None:
            await ws.send(json_format.MessageToJson(frame, preserving_proto_field_name=True, indent=None))

        async def frames() -> AsyncIterator[pb.ChatClientFrame]:
            try:
                async for raw in ws:
                    try:
                        yield json_format.Parse(raw, pb.ChatClientFrame())
                    except json_format.ParseError as exc:
                        await send(pb.ChatServerFrame(error=f"not a chat frame: {exc}"))
            except ConnectionClosed:
                return

        peer = str(ws.remote_address[0]) if ws.remote_address else ""
        forwarded = ws.request.headers.get_all("X-Forwarded-For") if ws.request is not None else []
        try:
            # A visitor with no token: a new chat, or one resumed with its session token.
            await ChatConnection(desk, None, client_address(peer, forwarded, trusted)).run(frames(), send)
        except ConnectionClosed:
            return

    return await serve(chat, host or "0.0.0.0", int(port), max_size=MAX_FRAME_BYTES,
                       process_request=_chat_or_keys(jwks))
