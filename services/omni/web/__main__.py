"""`python -m omni.web`: the web gateway until SIGTERM."""

from __future__ import annotations

import asyncio

from omni.runtime.structured_logging import configure_logging
from omni.runtime.telemetry import configure_tracing
from omni.web.service import WebGateway
from omni.web.settings import WebSettings


async def main(settings: WebSettings) -> None:
    await WebGateway(settings).serve_until_stopped()


settings = WebSettings.from_env()
configure_logging(settings.log_format, settings.log_level)
configure_tracing("web", settings.otlp_endpoint)
asyncio.run(main(settings))
