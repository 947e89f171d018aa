"""The grpc.aio server bootstrap every service uses.

Start: connect MongoDB and NATS, create declared indexes and streams, register servicers,
health (SERVING) and reflection. Stop (SIGTERM/SIGINT): health NOT_SERVING → wait
`shutdown_delay` so load balancers notice → `server.stop(grace)` lets in-flight RPCs finish →
consumers and background tasks stop → `nc.drain()` → close MongoDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from omni.runtime import storage
from omni.runtime.auth import Role, audience
from omni.runtime.config import ConfigError, ServiceSettings, env_name
from omni.runtime.consumer import Consumer, KeyFunction, one_at_a_time
from omni.runtime.dead_letters import Watch
from omni.runtime.events import BatchHandler, EventBus, Handler, StreamLimits
from omni.runtime.interceptors import AuthInterceptor, ErrorMappingInterceptor, LoggingInterceptor
from omni.runtime.paging import PageTokens
from omni.runtime.structured_logging import configure_logging
from omni.runtime.telemetry import configure_metrics, configure_tracing
from omni.runtime.token_source import RefreshingToken, service_token
from omni.runtime.token_verifier import TokenVerifier, verifier_for
from omni.runtime.transactions import TransactionLeases, Transactions

log = logging.getLogger("omni.server")


@dataclasses.dataclass
class Runtime:
    """What a service's code gets from the host: settings, database, bus, tokens."""

    name: str
    settings: ServiceSettings
    # Checks the bearer token of every call (the AuthInterceptor) and any token a service is handed.
    verifier: TokenVerifier
    mongo: AsyncMongoClient[storage.Document]
    db: AsyncDatabase[storage.Document]
    bus: EventBus
    # Signs the page tokens of every List RPC; derived from the replica secret so replicas agree.
    page_tokens: PageTokens
    # This process's transactions: bounded conflict retries, ended by others if it dies.
    transactions: Transactions
    # host:port the gRPC server listens on (bound before `register` runs).
    address: str = ""
    # Told when a consumer cannot be restarted (False) or is back (True): the health status.
    on_consumer_health: Callable[[Consumer, bool], Awaitable[None]] | None = None
    consumers: list[Consumer] = dataclasses.field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = dataclasses.field(default_factory=list)
    # Run as soon as a stop is asked (health is NOT_SERVING, RPCs still served): hand work over.
    on_stopping: list[Callable[[], Awaitable[None]]] = dataclasses.field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = dataclasses.field(default_factory=list)
    _service_tokens: dict[str, RefreshingToken] = dataclasses.field(default_factory=dict)

    def service_token(self, service: str) -> RefreshingToken:
        """This service's own short-lived token for calls to `service`, renewed before it expires."""
        if service not in self._service_tokens:
            self._service_tokens[service] = service_token(self.settings, service)
        return self._service_tokens[service]

    def consumer(self, domain: str, handler: Handler, *, event_types: Sequence[str] = (), name: str = "",
                 inactive_threshold: float | None = None, start_time: dt.datetime | None = None,
                 batch_handler: BatchHandler | None = None, batch: int = 32,
                 key: KeyFunction = one_at_a_time) -> Consumer:
        """Declare a durable consumer named after this service; started once set-up is done (or
        at once, when declared later).

        A per-replica consumer (every replica sees every event) passes its own `name` and an
        `inactive_threshold`; `key` gives the keys whose events are handled in order; see `Consumer`."""
        consumer = Consumer(
            self.bus,
            name=name or self.name,
            domain=domain,
            handler=handler,
            event_types=event_types,
            max_attempts=self.settings.event_max_attempts,
            backoff=self.settings.backoff,
            retry_cap=self.settings.event_retry_cap_seconds,
            inactive_threshold=inactive_threshold,
            start_time=start_time,
            batch_handler=batch_handler,
            batch=batch,
            ack_wait=self.settings.event_ack_wait_seconds,
            key=key,
            on_health=self.consumer_health,
        )
        self.consumers.append(consumer)
        return consumer

    async def consumer_health(self, consumer: Consumer, healthy: bool) -> None:
        """What a consumer tells about itself (`Consumer(on_health=...)` of one the service starts itself)."""
        if self.on_consumer_health is not None:
            await self.on_consumer_health(consumer, healthy)

    def processed_events(self, consumer: str) -> storage.ProcessedEvents:
        return storage.ProcessedEvents(self.mongo, self.db, consumer, self.transactions)

    def background(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run a service loop (timers, watchers) that is cancelled at shutdown."""
        task = asyncio.create_task(coro, name=name)
        self.tasks.append(task)
        return task


# Adds servicers to the server and returns the full names of the gRPC services it added.
Registrar = Callable[[grpc.aio.Server, Runtime], Awaitable[Sequence[str]]]


@dataclasses.dataclass(frozen=True)
class ServiceSpec:
    name: str
    register: Registrar
    access_rules: Mapping[str, frozenset[Role]]
    indexes: storage.IndexDeclarations = dataclasses.field(default_factory=dict)


class ServiceHost:
    def __init__(self, spec: ServiceSpec, settings: ServiceSettings) -> None:
        self.spec = spec
        self.settings = settings
        self.port = 0
        self.runtime: Runtime | None = None
        self._server: grpc.aio.Server | None = None
        self._health_server: grpc.aio.Server | None = None
        self._health = health_aio.HealthServicer()
        self._stop_requested = asyncio.Event()
        self._stopped = asyncio.Event()
        self._broken_consumers: set[str] = set()
        self._service_names: list[str] = []

    @property
    def address(self) -> str:
        host = self.settings.grpc_listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    async def start(self) -> None:
        settings = self.settings
        credentials = _server_credentials(settings)
        verifier = verifier_for(settings, audience(self.spec.name))
        page_tokens = PageTokens.derived_from(settings.shared_replica_secret())
        mongo = storage.connect(settings.mongo_url)
        db = mongo[settings.database_for(self.spec.name)]
        await storage.ensure_indexes(db, {**storage.processed_event_indexes(settings.processed_events_ttl()),
                                          **self.spec.indexes})
        bus = await EventBus.connect(settings.nats_url, self.spec.name, limits=StreamLimits(
            settings.event_stream_max_age_seconds, settings.event_stream_max_bytes,
            settings.dead_letter_max_age_seconds, settings.dead_letter_max_bytes))
        leases = TransactionLeases(mongo, db, settings.transaction_max_seconds)
        self.runtime = runtime = Runtime(self.spec.name, settings, verifier, mongo, db, bus, page_tokens,
                                         transactions=Transactions(mongo, leases=leases,
                                                                   conflict_retries=settings.transaction_conflict_retries,
                                                                   max_seconds=settings.transaction_max_seconds),
                                         on_consumer_health=self._consumer_health)
        runtime.background(leases.keep(), name="transaction lease")
        runtime.on_stop.append(leases.release)
        dead_letters = Watch(bus)
        dead_letters.observe()
        runtime.background(dead_letters.run(), name="dead letter count")

        server = grpc.aio.server(
            interceptors=[
                aio_server_interceptor(),  # type: ignore[no-untyped-call]
                LoggingInterceptor(),
                AuthInterceptor(verifier, self.spec.access_rules),
                ErrorMappingInterceptor(),
            ],
            options=[
                ("grpc.max_receive_message_length", settings.max_message_bytes),
                ("grpc.max_send_message_length", settings.max_message_bytes),
            ],
        )
        self.port = (server.add_secure_port(settings.grpc_listen, credentials) if credentials
                     else server.add_insecure_port(settings.grpc_listen))
        if self.port == 0:
            raise RuntimeError(f"cannot listen on {settings.grpc_listen}")
        runtime.address = self.address
        names = self._service_names = list(await self.spec.register(server, runtime))
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection([*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                                             reflection.SERVICE_NAME], server)
        await server.start()
        self._server = server
        if settings.grpc_health_listen:
            self._health_server = await self._serve_health_alone(settings.grpc_health_listen)
        for consumer in runtime.consumers:
            await consumer.start()
        for name in ("", *names):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING
                                   if not self._broken_consumers else health_pb2.HealthCheckResponse.NOT_SERVING)
        log.info("%s serving on %s", self.spec.name, self.address, extra={"services": names})

    async def _serve_health_alone(self, listen: str) -> grpc.aio.Server:
        """The kubelet's gRPC probes speak plaintext only: with TLS on, they ask this server, which
        shares the health status (so it also turns NOT_SERVING at shutdown) and serves nothing else."""
        server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        if server.add_insecure_port(listen) == 0:
            raise RuntimeError(f"cannot listen on {listen}")
        await server.start()
        return server

    async def _consumer_health(self, consumer: Consumer, healthy: bool) -> None:
        """NOT_SERVING while any consumer cannot be restarted: events it should take wait unseen."""
        if healthy:
            self._broken_consumers.discard(consumer.durable)
        else:
            self._broken_consumers.add(consumer.durable)
            log.error("%s: consumer %s cannot be restarted; health NOT_SERVING", self.spec.name, consumer.durable)
        if self._stopped.is_set():
            return
        status = (health_pb2.HealthCheckResponse.NOT_SERVING if self._broken_consumers
                  else health_pb2.HealthCheckResponse.SERVING)
        for name in ("", *self._service_names):
            await self._health.set(name, status)

    def request_stop(self) -> None:
        self._stop_requested.set()

    async def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        await self._health.enter_graceful_shutdown()
        log.info("%s shutting down: health NOT_SERVING", self.spec.name)
        for hook in self.runtime.on_stopping if self.runtime is not None else ():
            try:
                await hook()
            except Exception:
                log.exception("%s: a stopping hook failed", self.spec.name)
        await asyncio.sleep(self.settings.shutdown_delay)
        if self._server is not None:
            await self._server.stop(self.settings.shutdown_grace)
        if self._health_server is not None:
            await self._health_server.stop(None)
        runtime = self.runtime
        if runtime is None:
            return
        # All at once: each may be waiting out its fetch's timeout, so stopping them one by one
        # would take the sum of those waits.
        await asyncio.gather(*(consumer.stop() for consumer in runtime.consumers))
        for task in runtime.tasks:
            task.cancel()
        for task in runtime.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for hook in runtime.on_stop:
            await hook()
        await runtime.bus.close()
        await runtime.mongo.close()
        log.info("%s stopped", self.spec.name)

    async def serve_until_stopped(self) -> None:
        """Serve until SIGTERM/SIGINT (or `request_stop`), then shut down gracefully."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        await self.start()
        try:
            await self._stop_requested.wait()
        finally:
            await self.stop()


def _server_credentials(settings: ServiceSettings) -> grpc.ServerCredentials | None:
    """TLS credentials from the configured PEM files; None when neither is set (plaintext)."""
    cert, key = settings.grpc_tls_cert_file, settings.grpc_tls_key_file
    if not cert and not key:
        return None
    if not cert or not key:
        raise ConfigError(f"{env_name('grpc_tls_cert_file')} and {env_name('grpc_tls_key_file')} go together: "
                          "set both or neither")
    return grpc.ssl_server_credentials([(Path(key).read_bytes(), Path(cert).read_bytes())])


def run_service(spec: ServiceSpec, settings_type: type[ServiceSettings] = ServiceSettings) -> None:
    """Entry point of `python -m omni.<service>`."""
    settings = settings_type.from_env()
    configure_logging(settings.log_format, settings.log_level)
    configure_tracing(spec.name, settings.otlp_endpoint)
    configure_metrics(spec.name, settings.otlp_endpoint)
    asyncio.run(ServiceHost(spec, settings).serve_until_stopped())
