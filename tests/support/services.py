"""Services started in-process for a test (or a module's tests) and stopped together after it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable

from omni.runtime.config import ServiceSettings
from omni.runtime.server import ServiceHost, ServiceSpec

StartService = Callable[..., Awaitable[ServiceHost]]


@contextlib.asynccontextmanager
async def services(settings: ServiceSettings) -> AsyncIterator[StartService]:
    """`start(SPEC)` or with overrides: `start(SPEC, shutdown_delay=1)`; pass `settings_override=`
    for a service's own settings type. Every service started is stopped gracefully at the end."""
    hosts: list[ServiceHost] = []

    async def start(
        spec: ServiceSpec, settings_override: ServiceSettings | None = None, **changes: object
    ) -> ServiceHost:
        chosen = settings_override or settings
        host = ServiceHost(spec, dataclasses.replace(chosen, **changes))  # type: ignore[arg-type]
        await host.start()
        hosts.append(host)
        return host

    try:
        yield start
    finally:
        # All at once: a graceful stop mostly waits (the shutdown delay, fetches running out),
        # and whatever was being tested is over.
        await asyncio.gather(*(host.stop() for host in reversed(hosts)))


__all__ = ["StartService", "services"]
