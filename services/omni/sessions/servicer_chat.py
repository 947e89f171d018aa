"""gRPC ↔ use cases for ChatService: the stream is one chat connection."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator

from omni.runtime.auth import current_principal
from omni.runtime.interceptors import Context
from omni.sessions.chat_connection import ChatConnection
from omni.sessions.usecases.chat import ChatDesk
from omnichannel.sessions.v1 import sessions_pb2 as pb
from omnichannel.sessions.v1 import sessions_pb2_grpc


class ChatServicer(sessions_pb2_grpc.ChatServiceServicer):
    def __init__(self, desk: ChatDesk) -> None:
        self._desk = desk

    async def Chat(self, request_iterator: AsyncIterator[pb.ChatClientFrame], context: Context) -> None:  # type: ignore[override]
        # Frames go out through context.write while the client's frames are read: both ways at once.
        await ChatConnection(self._desk, current_principal(), _host(context.peer())).run(request_iterator,
                                                                                         context.write)


def _host(peer: str) -> str:
    """The address part of a gRPC peer ("ipv4:10.0.0.5:41234", "ipv6:[::1]:41234")."""
    _, _, address = urllib.parse.unquote(peer).partition(":")
    host = address.rpartition(":")[0] or address
    return host.strip("[]")
