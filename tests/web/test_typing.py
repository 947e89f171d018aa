"""What an agent or a supervisor is typing survives whatever the conversation is told meanwhile:
here its live connection drops and comes back (the new connection starts with the whole session
again), and the box keeps both the text and the cursor, so the next keys land where they were going."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.web.conftest import WEB_LOOP
from tests.web.desk_page import EXPECT_MS, conversation, go_available, offer, open_widget, say, signed_in_desk
from tests.web.stack import WebStack

pytestmark = [pytest.mark.slow, WEB_LOOP]


def _snapshot(payload: str | bytes) -> bool:
    return json.loads(payload).get("update", {}).get("kind") == "snapshot"


async def test_the_reply_being_typed_keeps_its_text_and_focus_when_the_conversation_reconnects(
        web: WebStack, browser: Browser) -> None:
    agent = await browser.new_context()
    desk = await signed_in_desk(agent, web.url, web.agent_token())
    await go_available(desk)
    visitor = await browser.new_context()
    site = await visitor.new_page()
    await site.goto(web.url + "/demo/")
    widget = await open_widget(site)
    await say(widget, "Where is my parcel?")
    await offer(desk).get_by_role("button", name="Accept").click(timeout=EXPECT_MS)
    chat = conversation(desk)
    await expect(chat.locator(".message.inbound")).to_contain_text("Where is my parcel?", timeout=EXPECT_MS)

    box = chat.get_by_label("Reply")
    await type_across_a_reconnection(desk, box, "document.querySelector('omni-conversation:not([hidden])').socket",
                                     "Let me check ", "that for you.")
    await chat.get_by_role("button", name="Send").click()
    await expect(widget.locator("li.theirs")).to_contain_text("Let me check that for you.", timeout=EXPECT_MS)

    boss = await browser.new_context(viewport={"width": 1400, "height": 900})
    await signed_in_desk(boss, web.url, web.supervisor_token())
    floor = await boss.new_page()
    await floor.goto(web.url + "/supervisor/")
    await floor.locator("tr[data-agent='A-1001'] td button").click(timeout=EXPECT_MS)
    whisper = floor.locator(".drill").get_by_label("Whisper to the agent")
    await type_across_a_reconnection(floor, whisper, "document.querySelector('omni-floor').drill.socket",
                                     "Offer ", "the goodwill credit")
    await floor.locator(".drill").get_by_role("button", name="Send").first.click()
    await expect(chat.locator(".note")).to_contain_text("Offer the goodwill credit", timeout=EXPECT_MS)


async def type_across_a_reconnection(page: Page, box: Locator, connection: str, before: str, after: str) -> None:
    """Types `before` into `box`, drops the live connection (the page's LiveSocket the expression
    `connection` names) as on a network blip, waits for the new one's snapshot, then types `after`."""
    await box.click(timeout=EXPECT_MS)
    await page.keyboard.type(before)
    async with page.expect_websocket(lambda ws: "/watch" in ws.url) as opened:
        await page.evaluate(f"{connection}.socket.close()")
    again = await opened.value
    await again.wait_for_event("framereceived", _snapshot, timeout=EXPECT_MS)
    await page.keyboard.type(after)
    await expect(box).to_have_value(before + after)
    await expect(box).to_be_focused()
