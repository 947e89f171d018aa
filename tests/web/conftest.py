"""Fixtures of the web tests: the real stack behind the gateway, and Chromium when there is one."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest

from omni.runtime.config import ServiceSettings
from tests.conftest import StartService
from tests.web.stack import WebStack, start_stack

CHROMIUM = os.environ.get("OMNI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
async def web(start_service: StartService, settings: ServiceSettings) -> AsyncIterator[WebStack]:
    stack, stop = await start_stack(start_service, settings)
    yield stack
    await stop()
