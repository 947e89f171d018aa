"""`python -m omni.issuer`: the local token issuer until SIGTERM."""

from __future__ import annotations

import asyncio

from omni.issuer.service import server
from omni.issuer.settings import IssuerSettings
from omni.runtime.structured_logging import configure_logging

settings = IssuerSettings.from_env()
configure_logging(settings.log_format, settings.log_level)
asyncio.run(server(settings).serve())
