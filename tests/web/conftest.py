"""Fixtures of the web tests: the real stack behind the gateway, and Chromium when there is one."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable

import pytest

try:
    from playwright.async_api import Browser, async_playwright
except ImportError:  # the dev extra is not installed: the browser tests say so and skip
    Browser = object  # type: ignore[assignment,misc]
    async_playwright = None  # type: ignore[assignment]

from omni.devstack.local_issuer import LocalIssuer
from omni.runtime.config import ServiceSettings
from tests.conftest import StartService
from tests.web.stack import WebStack, start_stack

CHROMIUM = os.environ.get("OMNI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
async def web(start_service: StartService, settings: ServiceSettings, authority: LocalIssuer,
              client_settings: Callable[[str], dict[str, str]]) -> AsyncIterator[WebStack]:
    stack, stop = await start_stack(start_service, settings, authority, client_settings)
    yield stack
    await stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium driven by Playwright; skipped (with the reason) where it is missing,
    except in CI, where a missing browser fails the run."""
    if CHROMIUM is None or async_playwright is None:
        missing = "Chromium (apt-get install chromium)" if CHROMIUM is None else "playwright (pip install -e '.[dev]')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need {missing}; CI must install it")
        pytest.skip(f"browser tests skipped: {missing} not found")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()
