"""`python -m omni.worker`: run the bot worker until SIGTERM, then finish the conversations in hand."""

from __future__ import annotations

import asyncio
import signal

from omni.runtime.auth import Role, TokenAuthority
from omni.runtime.clients import channel
from omni.runtime.structured_logging import configure_logging
from omni.runtime.telemetry import configure_tracing
from omni.worker.bot import BotWorker
from omni.worker.settings import WorkerSettings


async def main(settings: WorkerSettings) -> None:
    if not settings.worker_queues:
        raise SystemExit("OMNI_WORKER_QUEUES is not set: name the routing queues this worker serves")
    authority = TokenAuthority(settings.jwt_secret)

    def token() -> str:
        return authority.mint(settings.worker_id, Role.SERVICE, ttl_seconds=300)

    routing, knowledge, sessions = (channel(a, token, tls_ca_file=settings.grpc_tls_ca_file) for a in
                                    (settings.routing_addr, settings.knowledge_addr, settings.sessions_addr))
    worker = BotWorker(settings, routing, knowledge, sessions)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    try:
        await worker.run()
    finally:
        for chan in (routing, knowledge, sessions):
            await chan.close()


settings = WorkerSettings.from_env()
configure_logging(settings.log_format, settings.log_level)
configure_tracing("worker", settings.otlp_endpoint)
asyncio.run(main(settings))
