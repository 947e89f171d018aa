"""Fixtures of the web tests: the real stack behind the gateway, and Chromium when there is one."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

try:
    from playwright.async_api import Browser, async_playwright
except ImportError:  # the dev extra is not installed: the browser tests say so and skip
    Browser = object  # type: ignore[assignment,misc]
    async_playwright = None  # type: ignore[assignment]

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import ManagedProcess, free_port, nats_server
from omni.runtime.config import ServiceSettings
from tests.support.services import services
from tests.support.settings import fresh_settings
from tests.web.stack import WebStack, start_stack

CHROMIUM = os.environ.get("OMNI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


# The web tests run in one event loop, the session's: Chromium is started once for all of them,
# and a stack's services run in the loop of the test that drives them. Each module says so with
# `pytestmark = WEB_LOOP`.
WEB_LOOP = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def web(settings: ServiceSettings, authority: LocalIssuer,
              client_settings: Callable[[str], dict[str, str]]) -> AsyncIterator[WebStack]:
    async with services(settings) as start:
        stack, stop = await start_stack(start, settings, authority, client_settings)
        yield stack
        await stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shared_web(mongo: ManagedProcess, local_issuer: LocalIssuer, client_settings: Callable[[str], dict[str, str]],
                     tmp_path_factory: pytest.TempPathFactory,
                     request: pytest.FixtureRequest) -> AsyncIterator[WebStack]:
    """One stack for those of a module's tests that leave nothing another could trip over: no desk
    goes available (a chat one test leaves waiting would be offered to it), nothing is paused or
    stopped. They find their own records by the ids they made."""
    nats = nats_server(free_port(), tmp_path_factory.mktemp("nats"))
    try:
        settings = fresh_settings(nats.url, mongo.url, request.module.__name__, local_issuer)
        async with services(settings) as start:
            stack, stop = await start_stack(start, settings, local_issuer, client_settings)
            yield stack
            await stop()
    finally:
        nats.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium driven by Playwright, started once; skipped (with the reason) where it is
    missing, except in CI, where a missing browser fails the run."""
    if CHROMIUM is None or async_playwright is None:
        missing = "Chromium (apt-get install chromium)" if CHROMIUM is None else "playwright (pip install -e '.[dev]')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need {missing}; CI must install it")
        pytest.skip(f"browser tests skipped: {missing} not found")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium: Browser) -> AsyncIterator[Browser]:
    """The browser for one test: the contexts (windows, cookies, storage) it opens are closed after
    it, so that no page of it goes on talking to a stack that is gone."""
    yield chromium
    for context in chromium.contexts:
        await context.close()
