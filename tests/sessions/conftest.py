"""A sessions service with real listeners (SMTP, WebSocket), a test SMTP sink as its relay,
and a recorder of what it publishes."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from aiosmtpd.controller import Controller

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import ManagedProcess, free_port
from omni.runtime.auth import Role, bearer
from omni.runtime.config import ServiceSettings
from omni.runtime.events import EventBus
from omni.runtime.server import ServiceHost
from omni.sessions.domain.chat_identity import mint_identity_token
from omni.sessions.service import SPEC
from omni.sessions.settings import SessionSettings
from omnichannel.sessions.v1 import sessions_pb2_grpc
from tests.support.events import EventRecorder
from tests.support.settings import session_settings

# The key the company's website signs chat identity tokens with (OMNI_CHAT_IDENTITY_SECRET).
IDENTITY_SECRET = "test-widget-identity-key-0123456789abcdef"


class Sink:
    """The relay agent replies go through: an aiosmtpd Controller keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
async def published(nats: ManagedProcess) -> AsyncIterator[EventRecorder]:
    """What sessions publishes."""
    async with await EventRecorder.start(nats.url, "sessions") as recorder:
        yield recorder


@dataclasses.dataclass
class Stack:
    host: ServiceHost
    settings: SessionSettings
    authority: LocalIssuer
    channel: grpc.aio.Channel
    sink: Sink

    @property
    def smtp_port(self) -> int:
        return int(self.settings.smtp_listen.rsplit(":", 1)[1])

    @property
    def ws_url(self) -> str:
        return f"ws://{self.settings.websocket_listen}/chat"

    def token(self, role: Role, subject: str = "tester", groups: tuple[str, ...] = (), session_id: str = "") -> Any:
        return bearer(self.authority.mint(subject, role, groups=groups, session_id=session_id))

    def identity_token(self, *, email: str = "", phone: str = "", name: str = "") -> str:
        """What the company's website mints for its signed-in user."""
        return mint_identity_token(IDENTITY_SECRET, email=email, phone=phone, name=name)

    @property
    def sessions(self) -> sessions_pb2_grpc.SessionServiceStub:
        return sessions_pb2_grpc.SessionServiceStub(self.channel)

    @property
    def telephony(self) -> sessions_pb2_grpc.TelephonyServiceStub:
        return sessions_pb2_grpc.TelephonyServiceStub(self.channel)

    @property
    def chat(self) -> sessions_pb2_grpc.ChatServiceStub:
        return sessions_pb2_grpc.ChatServiceStub(self.channel)

    async def bus(self) -> EventBus:
        return await EventBus.connect(self.settings.nats_url, "test")


@pytest.fixture
async def stack(start_service: Any, settings: ServiceSettings, sink: tuple[Sink, int],
                authority: LocalIssuer, published: EventRecorder) -> AsyncIterator[Stack]:
    handler, sink_port = sink
    own = session_settings(
        settings, authority,
        smtp_listen=f"127.0.0.1:{free_port()}",
        websocket_listen=f"127.0.0.1:{free_port()}",
        smtp_relay=f"127.0.0.1:{sink_port}",
        smtp_accepted_domains=("example.com", "help.example.org"),
        chat_identity_secret=IDENTITY_SECRET,
        survey_link_base="https://help.example.com",
    )
    host = await start_service(SPEC, settings_override=own)
    channel = grpc.aio.insecure_channel(host.address)
    yield Stack(host, own, authority, channel, handler)
    await channel.close()
