"""axe-core on the desk's main views and the open widget: no serious or critical violations.
The same views, in the state a new user sees them, are the README's screenshots: written to
docs/images with OMNI_UPDATE_SCREENSHOTS=1, to a temporary directory otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, expect

from omni.runtime.auth import Role, bearer
from tests.web.conftest import WEB_LOOP
from tests.web.desk_page import (
    EXPECT_MS,
    conversation,
    go_available,
    insert_answer,
    offer,
    open_widget,
    say,
    search_tickets,
    signed_in_desk,
)
from tests.web.stack import WebStack, create_customer

pytestmark = [pytest.mark.slow, WEB_LOOP]
README_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """Where the screenshots go: the README's images only when asked, so a test run leaves the tree clean."""
    if os.environ.get("OMNI_UPDATE_SCREENSHOTS") != "1":
        return tmp_path
    README_IMAGES.mkdir(parents=True, exist_ok=True)
    return README_IMAGES


async def assert_accessible(page: Page, view: str) -> None:
    results = await Axe().run(page)
    serious = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], f"{view}: {serious}"


async def test_desk_views_and_the_open_widget_have_no_serious_accessibility_violations(
        web: WebStack, browser: Browser, images: Path) -> None:
    await create_customer(web.addresses, bearer(web.authority.mint("admin", Role.ADMIN)), "Emma Clarke",
                          "emma@example.co.uk", tier="vip", tags=("accessibility:hearing",))
    agent = await browser.new_context(viewport={"width": 1280, "height": 860})
    signin = await agent.new_page()
    await signin.goto(web.url + "/desk/")
    await expect(signin.get_by_label("Token")).to_be_visible()
    await assert_accessible(signin, "sign-in")
    desk = await signed_in_desk(agent, web.url, web.agent_token())
    await go_available(desk)

    site = await (await browser.new_context(viewport={"width": 360, "height": 740})).new_page()
    await site.goto(web.url + "/demo/")
    await site.evaluate("token => OmniChat.identify(token)", web.identity_token("emma@example.co.uk"))
    widget = await open_widget(site)
    await assert_accessible(site, "open widget")
    await say(widget, "My refund has not arrived yet")

    await expect(offer(desk)).to_contain_text("Emma Clarke", timeout=EXPECT_MS)
    await assert_accessible(desk, "offer with screen pop")
    await desk.screenshot(path=images / "desk-offer.png")
    await offer(desk).get_by_role("button", name="Accept").click()
    chat = conversation(desk)
    await insert_answer(chat, "Refund times")
    await chat.get_by_role("button", name="Send").click()
    await expect(widget.locator("li.theirs")).to_be_visible(timeout=EXPECT_MS)
    await assert_accessible(desk, "conversation")
    await assert_accessible(site, "widget in a conversation")
    await desk.screenshot(path=images / "desk-chat.png")
    await site.screenshot(path=images / "widget.png")

    await search_tickets(desk, "emma@example.co.uk", "refund")
    await assert_accessible(desk, "tickets")
