"""A tickets service on real NATS and the MongoDB-protocol server, a publisher standing in for
sessions/routing (same subjects and payloads), and a recorder of what tickets publishes."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
from collections.abc import AsyncIterator
from typing import Any

import grpc
import nats as nats_client
import pytest

from omni.devstack.processes import ManagedProcess
from omni.runtime.auth import Role, bearer
from omni.runtime.config import ServiceSettings
from omni.runtime.events import EventBus, unpack
from omni.runtime.server import ServiceHost
from omni.tickets.service import SPEC
from omni.tickets.settings import TicketSettings
from omnichannel.common.v1 import common_pb2
from omnichannel.common.v1.event_pb2 import EventEnvelope
from omnichannel.sessions.v1.events_pb2 import InteractionReceived
from omnichannel.tickets.v1 import events_pb2, tickets_pb2_grpc
from tests.conftest import StartService

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
class Recorder:
    envelopes: list[EventEnvelope]

    def of(self, event_type: str) -> list[EventEnvelope]:
        return [e for e in self.envelopes if e.type == event_type]

    async def threaded(self, interaction_id: str, within: float = 20.0) -> events_pb2.InteractionThreaded:
        for _ in range(int(within / 0.05)):
            for envelope in self.of("interaction_threaded"):
                payload = unpack(envelope, events_pb2.InteractionThreaded)
                if payload.interaction_id == interaction_id:
                    return payload
            await asyncio.sleep(0.05)
        raise AssertionError(f"interaction {interaction_id} was not threaded; saw {[e.type for e in self.envelopes]}")


@dataclasses.dataclass
class Harness:
    host: ServiceHost
    bus: EventBus
    published: Recorder
    stub: tickets_pb2_grpc.TicketServiceStub
    metadata: tuple[tuple[str, str], ...]

    async def send(self, msg: common_pb2.Interaction) -> None:
        await self.bus.publish("sessions", "interaction_received", f"sessions/{msg.session_id}",
                               InteractionReceived(interaction=msg), event_id=msg.id)

    async def thread(self, msg: common_pb2.Interaction) -> events_pb2.InteractionThreaded:
        await self.send(msg)
        return await self.published.threaded(msg.id)


def ticket_settings(base: ServiceSettings, **changes: Any) -> TicketSettings:
    shared = {f.name: getattr(base, f.name) for f in dataclasses.fields(ServiceSettings)}
    return TicketSettings(**{**shared, **changes})


@pytest.fixture
async def harness(start_service: StartService, settings: ServiceSettings, nats: ManagedProcess,
                  authority: Any) -> AsyncIterator[Harness]:
    harness = await make_harness(start_service, settings, nats, authority)
    yield harness
    await harness.bus.close()


async def make_harness(start_service: StartService, settings: ServiceSettings, nats: ManagedProcess,
                       authority: Any, **changes: Any) -> Harness:
    host = await start_service(SPEC, settings_override=ticket_settings(settings, **changes))
    nc = await nats_client.connect(nats.url)
    recorder = Recorder([])

    async def received(msg: Any) -> None:
        recorder.envelopes.append(EventEnvelope.FromString(msg.data))

    await nc.subscribe("omnichannel.tickets.>", cb=received)
    await nc.flush()
    bus = await EventBus.connect(nats.url, "test-sessions")
    channel = grpc.aio.insecure_channel(host.address)
    return Harness(host, bus, recorder, tickets_pb2_grpc.TicketServiceStub(channel),
                   bearer(authority.mint("sup-1", Role.SUPERVISOR)))
