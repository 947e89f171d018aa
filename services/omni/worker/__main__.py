"""`python -m omni.worker`: run the bot worker until SIGTERM, then finish the conversations in hand."""

from __future__ import annotations

import asyncio
import signal

from omni.runtime.structured_logging import configure_logging
from omni.runtime.telemetry import configure_tracing
from omni.worker.bot import BotWorker, open_channels
from omni.worker.settings import WorkerSettings


async def main(settings: WorkerSettings) -> None:
    if not settings.worker_queues:
        raise SystemExit("OMNI_WORKER_QUEUES is not set: name the routing queues this worker serves")
    routing, knowledge, sessions = open_channels(settings)
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
