"""Issue 13, item 3: the chart's NATS users and permissions, on a real nats-server run with the
rendered nats.conf and passwords. The four real services start with their own credentials and
every consumer they declare takes an event off its stream; a user that reaches past its own
subjects is refused by the server."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import nats
import pytest
from google.protobuf.empty_pb2 import Empty

from omni.devstack.processes import ManagedProcess, executable, free_port, wait_for_port
from omni.knowledge.publishing import EVENT_TYPES as ARTICLE_EVENTS
from omni.knowledge.service import SPEC as KNOWLEDGE
from omni.knowledge.settings import KnowledgeSettings
from omni.reports.service import SPEC as REPORTS
from omni.reports.settings import ReportSettings
from omni.routing.consumers import SESSION_EVENTS
from omni.routing.service import SPEC as ROUTING
from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from omni.runtime.server import ServiceHost
from omni.sessions.consumers import SESSION_EVENTS as CONTACT_ENDED
from omni.sessions.consumers import TICKET_EVENTS
from omni.sessions.domain.assignment import ROUTING_EVENTS as WORK_EVENTS
from omni.sessions.service import SPEC as SESSIONS
from omni.tickets.consumers import ROUTING_EVENTS, SURVEY_EVENTS
from omni.tickets.service import SPEC as TICKETS
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.charts.conftest import by_kind, objects
from tests.conftest import StartService
from tests.operator.kubernetes import eventually

pytestmark = pytest.mark.slow
FULLNAME = "omni-omnichannel"


@dataclasses.dataclass(frozen=True)
class ChartNats:
    urls: dict[str, str]
    monitor: str


def secret(rendered: list[dict[str, Any]], name: str) -> dict[str, str]:
    found = by_kind(rendered, "Secret")[name]
    return found.get("stringData") or {k: base64.b64decode(v).decode() for k, v in found["data"].items()}


@pytest.fixture
def chart_nats(tmp_path: Path) -> Iterator[ChartNats]:
    rendered = objects()
    config = tmp_path / "nats.conf"
    config.write_text(by_kind(rendered, "ConfigMap")[f"{FULLNAME}-nats-config"]["data"]["nats.conf"])
    passwords = {f"NATS_{user.upper()}_PASSWORD": password
                 for user, password in secret(rendered, f"{FULLNAME}-nats-auth").items()}
    port, monitor = free_port(), free_port()
    server = ManagedProcess("nats", [executable("nats-server"), "-c", str(config), "-js", "-sd", str(tmp_path / "js"),
                                     "-a", "127.0.0.1", "-p", str(port), "-m", str(monitor)],
                            env={**os.environ, **passwords}, log_path=tmp_path / "nats.log").start()
    assert server.process is not None
    wait_for_port(port, server.process, "nats-server")
    urls = {service: url.replace(f"@{FULLNAME}-nats:4222", f"@127.0.0.1:{port}")
            for service, url in secret(rendered, f"{FULLNAME}-nats-url").items()}
    yield ChartNats(urls, f"http://127.0.0.1:{monitor}")
    server.stop()


async def consumers(monitor: str) -> dict[str, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, \
            http.get(f"{monitor}/jsz?accounts=true&streams=true&consumers=true") as response:
        report = await response.json()
    return {c["name"]: c for account in report.get("account_details") or ()
            for stream in account.get("stream_detail") or () for c in stream.get("consumer_detail") or ()}


async def test_every_service_runs_on_its_own_nats_user(
        chart_nats: ChartNats, start_service: StartService, settings: ServiceSettings,
        token_for: Callable[..., Any], client_settings: Callable[[str], dict[str, str]]) -> None:
    hosts: dict[str, ServiceHost] = {}
    for name, spec in (("tickets", TICKETS), ("routing", ROUTING), ("sessions", SESSIONS)):
        hosts[name] = await start_service(spec, nats_url=chart_nats.urls[name])
    # A queue, so that routing owns a partition (a lease in its KV bucket) and opens its inbox.
    async with grpc.aio.insecure_channel(hosts["routing"].address) as channel:
        await routing_pb2_grpc.RoutingServiceStub(channel).CreateQueue(routing_pb2.CreateQueueRequest(
            queue=routing_pb2.Queue(id="general", groups=["general"])), metadata=token_for(Role.ADMIN))
    # Its usage counting is off by default; on, knowledge consumes interactions too.
    shared = {f.name: getattr(settings, f.name) for f in dataclasses.fields(ServiceSettings)}
    hosts["knowledge"] = await start_service(KNOWLEDGE, settings_override=KnowledgeSettings(
        **{**shared, "nats_url": chart_nats.urls["knowledge"]}, knowledge_count_usage=True))
    # The reports service consumes nothing; it connects and declares the streams like the others.
    hosts["reports"] = await start_service(REPORTS, settings_override=ReportSettings(
        **{**shared, "nats_url": chart_nats.urls["reports"], **client_settings("reports")},
        sessions_addr=hosts["sessions"].address))

    # One event of each kind some consumer takes, published by its owner under its own user. The
    # payload is of no type any handler expects, so each consumer dead-letters what it takes:
    # that path publishes too, and acknowledges like a handled event.
    published = {"tickets": TICKET_EVENTS, "routing": (*ROUTING_EVENTS, *WORK_EVENTS[:1]),
                 "sessions": (*SESSION_EVENTS[:1], *CONTACT_ENDED, *SURVEY_EVENTS), "knowledge": ARTICLE_EVENTS[:1]}
    for owner, kinds in published.items():
        runtime = hosts[owner].runtime
        assert runtime is not None
        for kind in kinds:
            await runtime.bus.publish(owner, kind, "security-test", Empty())

    declared = {c.durable for host in hosts.values() if host.runtime for c in host.runtime.consumers}
    assert len(declared) == 8

    async def all_taken() -> dict[str, dict[str, Any]] | None:
        found = await consumers(chart_nats.monitor)
        done = {name: c for name, c in found.items() if c["delivered"]["consumer_seq"] >= 1
                and c["num_ack_pending"] == 0 and c["num_pending"] == 0}
        # Routing reads sessions' events through one inbox per partition (its queue's).
        inboxes = {name for name in done if name.startswith("routing-") and name.endswith("-sessions")}
        return found if set(done) >= declared and inboxes else None

    await eventually(all_taken, what="every consumer fetching and acknowledging under its service's user")


async def test_a_user_is_refused_what_is_not_its_own(chart_nats: ChartNats) -> None:
    refusals: asyncio.Queue[str] = asyncio.Queue()

    async def error(exc: Exception) -> None:
        await refusals.put(str(exc))

    knowledge = await nats.connect(chart_nats.urls["knowledge"], error_cb=error, allow_reconnect=False)
    try:
        # Forging another service's event, and reading events it does not consume.
        await knowledge.publish("omnichannel.tickets.ticket_created", b"forged")
        assert "permissions violation for publish" in (await asyncio.wait_for(refusals.get(), 10)).lower()
        await knowledge.subscribe("omnichannel.>")
        assert "permissions violation for subscription" in (await asyncio.wait_for(refusals.get(), 10)).lower()
        # Deleting a stream is no service's business.
        await knowledge.publish("$JS.API.STREAM.DELETE.TICKETS", b"")
        assert "permissions violation for publish" in (await asyncio.wait_for(refusals.get(), 10)).lower()
        # Sessions' live chat subjects are sessions' alone.
        await knowledge.publish("omnichannel_live.sessions.S-1", b"spoofed")
        assert "permissions violation for publish" in (await asyncio.wait_for(refusals.get(), 10)).lower()
    finally:
        await knowledge.close()

    anonymous = chart_nats.urls["tickets"].split("@")[1]
    with pytest.raises(nats.errors.Error, match=r"(?i)authorization"):
        await nats.connect(f"nats://{anonymous}", allow_reconnect=False, max_reconnect_attempts=0,
                           error_cb=error)
