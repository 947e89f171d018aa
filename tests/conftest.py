"""Real servers for the whole suite: nats-server (fresh per test, it starts in ~50 ms) and
the MongoDB-protocol server (one per session, a fresh database per test)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import ManagedProcess, free_port, mongo_server, nats_server
from omni.runtime.auth import DESK_AUDIENCES, Role, audience, bearer
from omni.runtime.config import ServiceSettings
from tests.support.services import StartService, services
from tests.support.settings import TEST_REPLICA_SECRET, fresh_settings

# What `token_for` tokens are for: every service, the gateway, and the runtime tests' probe service.
SUITE_AUDIENCES = (*DESK_AUDIENCES, audience("probe"))

# One tracer provider for the session, recording in memory, installed before any service
# configures its own (configure_tracing leaves an existing SDK provider alone).
SPAN_EXPORTER = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(SPAN_EXPORTER))
trace.set_tracer_provider(_provider)


@pytest.fixture(scope="session")
def mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    proc = mongo_server(free_port(), tmp_path_factory.mktemp("mongo"))
    yield proc
    proc.stop()


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[ManagedProcess]:
    proc = nats_server(free_port(), tmp_path / "nats")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def local_issuer(tmp_path_factory: pytest.TempPathFactory) -> LocalIssuer:
    """The suite's local issuer, as `make run` makes one: its key, the public key files every test
    service trusts (`settings`), sessions' chat token key, and the platform's clients."""
    return LocalIssuer.create(tmp_path_factory.mktemp("tokens"))


@pytest.fixture(scope="session")
def token_endpoint(local_issuer: LocalIssuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The issuer process (`omni.issuer`), for the tests whose services fetch tokens of their own
    (routing's screen pops, the bot worker, the operator); its token endpoint's URL."""
    proc = local_issuer.server(free_port(), tmp_path_factory.mktemp("issuer") / "issuer.log")
    yield proc.url
    proc.stop()


@pytest.fixture(scope="session")
def client_settings(local_issuer: LocalIssuer, token_endpoint: str) -> Callable[[str], dict[str, str]]:
    """Settings (as keyword arguments) for the process of one platform client to get its tokens:
    client_settings("routing")."""

    def of(client_id: str) -> dict[str, str]:
        return {"token_url": token_endpoint, "token_client_id": client_id,
                "token_client_secret": local_issuer.client_secret(client_id)}

    return of


@pytest.fixture
def authority(local_issuer: LocalIssuer) -> LocalIssuer:
    """Mints the suite's tokens: authority.mint("A-1", Role.AGENT, groups=(...)), for the desk's
    audiences (every service and the gateway) unless `audiences=` names others."""
    return local_issuer


@pytest.fixture
def token_for(authority: LocalIssuer) -> Callable[..., tuple[tuple[str, str], ...]]:
    """Call metadata for a caller: token_for(Role.AGENT, "A-1", groups=("billing",))."""

    def make(role: Role, subject: str = "tester", groups: tuple[str, ...] = (), session_id: str = "",
             audiences: tuple[str, ...] = SUITE_AUDIENCES) -> tuple[tuple[str, str], ...]:
        return bearer(authority.mint(subject, role, groups=groups, session_id=session_id, audiences=audiences))

    return make


@pytest.fixture
def settings(nats: ManagedProcess, mongo: ManagedProcess, local_issuer: LocalIssuer,
             request: pytest.FixtureRequest) -> ServiceSettings:
    """Settings pointing at this test's NATS and a database of its own."""
    return fresh_settings(nats.url, mongo.url, request.node.name, local_issuer)


@pytest.fixture
async def start_service(settings: ServiceSettings) -> AsyncIterator[StartService]:
    """Start a service in-process on a free port; stopped (gracefully) after the test.

    `await start_service(SPEC)` or with overrides: `await start_service(SPEC, shutdown_delay=1)`;
    pass `settings=` for a service's own settings type.
    """
    async with services(settings) as start:
        yield start


@pytest.fixture
def spans() -> InMemorySpanExporter:
    SPAN_EXPORTER.clear()
    return SPAN_EXPORTER


__all__ = ["TEST_REPLICA_SECRET", "Role", "StartService"]
