"""A tickets service on real NATS and the MongoDB-protocol server, a publisher standing in for
sessions/routing (same subjects and payloads), and a recorder of what tickets publishes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from omni.devstack.processes import ManagedProcess
from omni.runtime.auth import Role, bearer
from omni.runtime.config import ServiceSettings
from omni.runtime.events import EventBus
from omni.runtime.server import ServiceHost
from omni.tickets.service import SPEC
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1.events_pb2 import InteractionReceived
from omnichannel.tickets.v1 import events_pb2, tickets_pb2_grpc
from tests.conftest import StartService
from tests.support.events import EventRecorder
from tests.support.polling import WITHIN
from tests.support.settings import ticket_settings

BASE = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
_ids = itertools.count(1)


def at(minutes: float) -> dt.datetime:
    return BASE + dt.timedelta(minutes=minutes)


def phone(value: str) -> common_pb2.Identity:
    return common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_PHONE, value=value)


def email_id(value: str) -> common_pb2.Identity:
    return common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_EMAIL, value=value)


def handle(value: str) -> common_pb2.Identity:
    return common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_CHAT_HANDLE, value=value)


def interaction(channel: int, when: dt.datetime, *identities: common_pb2.Identity, queue: str = "billing",
                session: str = "", text: str = "hello", **fields: Any) -> common_pb2.Interaction:
    email = fields.pop("email", None)
    msg = common_pb2.Interaction(
        id=fields.pop("id", f"I-{next(_ids)}"), channel=channel,
        direction=fields.pop("direction", common_pb2.DIRECTION_INBOUND),
        session_id=session or f"S-{next(_ids)}", queue=queue, text=text,
        customer=common_pb2.CustomerRef(identities=list(identities)), **fields,
    )
    if email is not None:
        msg.email.CopyFrom(email)
    msg.occurred_at.FromDatetime(when)
    return msg


@dataclasses.dataclass
class Harness:
    host: ServiceHost
    bus: EventBus
    published: EventRecorder
    stub: tickets_pb2_grpc.TicketServiceStub
    metadata: tuple[tuple[str, str], ...]

    async def send(self, msg: common_pb2.Interaction) -> None:
        await self.bus.publish("sessions", "interaction_received", f"sessions/{msg.session_id}",
                               InteractionReceived(interaction=msg), event_id=msg.id)

    async def threaded(self, interaction_id: str, within: float = WITHIN) -> events_pb2.InteractionThreaded:
        """What tickets published on threading the interaction (waiting for it)."""
        found = await self.published.wait("interaction_threaded", events_pb2.InteractionThreaded,
                                          lambda t: t.interaction_id == interaction_id, within=within)
        return found[0]

    async def thread(self, msg: common_pb2.Interaction) -> events_pb2.InteractionThreaded:
        await self.send(msg)
        return await self.threaded(msg.id)

    async def close(self) -> None:
        await self.bus.close()
        await self.published.close()


@pytest.fixture
async def harness(start_service: StartService, settings: ServiceSettings, nats: ManagedProcess,
                  authority: Any) -> AsyncIterator[Harness]:
    harness = await make_harness(start_service, settings, nats, authority)
    yield harness
    await harness.close()


async def make_harness(start_service: StartService, settings: ServiceSettings, nats: ManagedProcess,
                       authority: Any, **changes: Any) -> Harness:
    host = await start_service(SPEC, settings_override=ticket_settings(settings, **changes))
    recorder = await EventRecorder.start(nats.url, "tickets")
    bus = await EventBus.connect(nats.url, "test-sessions")
    channel = grpc.aio.insecure_channel(host.address)
    return Harness(host, bus, recorder, tickets_pb2_grpc.TicketServiceStub(channel),
                   bearer(authority.mint("sup-1", Role.SUPERVISOR)))
