"""The supervisor's floor in Chromium against the real services: an angry chat raises an alert on
the floor; the supervisor opens the conversation, whispers to the agent (the customer never sees
it), takes the chat over (the agent reads who took it, the customer sees the supervisor answer)
and acknowledges the alert. The floor's screenshots for docs/supervisor.md are taken on the way
(written to docs/images only with OMNI_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.web.conftest import WEB_LOOP
from tests.web.desk_page import EXPECT_MS, conversation, go_available, offer, open_widget, say, signed_in_desk
from tests.web.stack import SUPERVISOR, WebStack

pytestmark = [pytest.mark.slow, WEB_LOOP]
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
ANGRY = "I am furious, this is unacceptable!!"
WHISPER = "Offer the goodwill credit, then hand it to me"
SUPERVISOR_REPLY = "I am the supervisor; I will sort this out for you now."
# The alert rides on sessions' and routing's events; on 2 busy cores they alone can take tens of
# seconds (bench/alert_latency.py): a generous deadline, not a timed assertion.
ALERT_WAIT_MS = 60_000


@pytest.fixture
def images(tmp_path: Path) -> Path:
    if os.environ.get("OMNI_UPDATE_SCREENSHOTS") != "1":
        return tmp_path
    DOC_IMAGES.mkdir(parents=True, exist_ok=True)
    return DOC_IMAGES


async def test_an_angry_chat_alerts_the_floor_and_the_supervisor_whispers_takes_over_and_acknowledges(
        web: WebStack, browser: Browser, images: Path) -> None:
    agent = await browser.new_context()
    desk = await signed_in_desk(agent, web.url, web.agent_token())
    await go_available(desk)

    boss = await browser.new_context(viewport={"width": 1400, "height": 900})
    boss_desk = await signed_in_desk(boss, web.url, web.supervisor_token())
    floor = await boss.new_page()
    await floor.goto(web.url + "/supervisor/")
    await expect(floor.locator("tr[data-queue='chat']")).to_be_visible(timeout=EXPECT_MS)

    visitor = await browser.new_context(viewport={"width": 360, "height": 740})
    site = await visitor.new_page()
    await site.goto(web.url + "/demo/")
    widget = await open_widget(site)
    await say(widget, ANGRY)

    alert = floor.locator(".alerts li[data-kind='angry']")
    await expect(alert).to_contain_text("Angry customer", timeout=ALERT_WAIT_MS)
    await offer(desk).get_by_role("button", name="Accept").click(timeout=EXPECT_MS)
    chat = conversation(desk)
    await expect(chat.locator(".message.inbound")).to_contain_text(ANGRY, timeout=EXPECT_MS)
    await expect(floor.locator("tr[data-agent='A-1001']")).to_contain_text("busy", timeout=EXPECT_MS)

    await alert.get_by_role("button", name="Open").click()
    drill = floor.locator(".drill")
    await expect(drill.locator("li.inbound")).to_contain_text(ANGRY, timeout=EXPECT_MS)
    await floor.screenshot(path=images / "supervisor-floor.png")
    await drill.get_by_label("Whisper to the agent").fill(WHISPER)
    await drill.get_by_role("button", name="Send").first.click()
    whisper = chat.locator(".note", has_text=WHISPER)
    await expect(whisper).to_contain_text("Whisper from a supervisor", timeout=EXPECT_MS)

    await go_available(boss_desk)
    await drill.get_by_role("button", name="Take over").click()
    await expect(chat.locator(".note", has_text="supervisor S-1 takes this conversation over")).to_be_visible(
        timeout=EXPECT_MS)
    await offer(boss_desk).get_by_role("button", name="Accept").click(timeout=EXPECT_MS)
    boss_chat = conversation(boss_desk)
    await boss_chat.get_by_label("Reply").fill(SUPERVISOR_REPLY)
    await boss_chat.get_by_role("button", name="Send").click()
    # The desk shows the reply once sessions took it; then the customer's widget shows it.
    await expect(boss_chat.locator(".message.outbound")).to_contain_text(SUPERVISOR_REPLY, timeout=EXPECT_MS)
    await expect(widget.locator("li.theirs")).to_contain_text(SUPERVISOR_REPLY, timeout=EXPECT_MS)
    # The customer is told who has them now: the supervisor, by name.
    await expect(widget.get_by_role("status")).to_contain_text(SUPERVISOR[1])
    # The supervisor's reply came after the whisper; the whisper never reached the customer.
    await expect(widget).not_to_contain_text(WHISPER)
    await expect(drill.locator("li.outbound")).to_contain_text(SUPERVISOR_REPLY, timeout=EXPECT_MS)

    await alert.get_by_role("button", name="Acknowledge").click()
    await expect(alert).to_contain_text("acknowledged by S-1", timeout=EXPECT_MS)
    await floor.screenshot(path=images / "supervisor-takeover.png")
    # The acknowledgement is the service's: a new page starts with the open alerts, without this one.
    again = await boss.new_page()
    await again.goto(web.url + "/supervisor/")
    await expect(again.locator("tr[data-agent='S-1']")).to_contain_text("busy", timeout=EXPECT_MS)
    still_open = await again.evaluate("fetch('/api/supervisor/alerts?open=1').then((r) => r.json())")
    assert "ALERT_KIND_ANGRY" not in [a["kind"] for a in still_open]
