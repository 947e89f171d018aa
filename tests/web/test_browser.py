"""Both UIs in Chromium against the real services: a visitor chats in the widget on the demo
website, an agent works the chat at the desk."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

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
    signed_in_desk,
)
from tests.web.stack import REFUND_ANSWER, WebStack, create_customer

pytestmark = [pytest.mark.slow, WEB_LOOP]


async def test_a_visitor_chats_an_agent_accepts_with_the_screen_pop_and_the_chat_resumes_after_a_reload(
        web: WebStack, browser: Browser) -> None:
    admin = bearer(web.authority.mint("admin", Role.ADMIN))
    await create_customer(web.addresses, admin, "Li Wei", "li.wei@example.cn", tier="vip", tags=("high_value",))
    agent = await browser.new_context()
    desk = await signed_in_desk(agent, web.url, web.agent_token())
    await go_available(desk)

    visitor = await browser.new_context(viewport={"width": 360, "height": 740})
    site = await visitor.new_page()
    await site.goto(web.url + "/demo/")
    await site.evaluate("token => OmniChat.identify(token)", web.identity_token("li.wei@example.cn"))
    widget = await open_widget(site)
    await say(widget, "I want a refund for my order")

    card = offer(desk)
    await expect(card).to_contain_text("Li Wei", timeout=EXPECT_MS)
    await expect(card.locator(".badge.vip")).to_be_visible()
    await expect(card).to_contain_text("high_value")
    await expect(card).to_contain_text("I want a refund for my order")
    await expect(card.locator(".reasons li").first).to_be_visible()
    await expect(card.locator(".countdown")).to_contain_text("expires in")
    await card.get_by_role("button", name="Accept").click()

    chat = conversation(desk)
    await expect(chat.locator(".message.inbound")).to_contain_text("I want a refund for my order", timeout=EXPECT_MS)
    assert await insert_answer(chat, "Refund times") == REFUND_ANSWER
    await chat.get_by_role("button", name="Send").click()
    await expect(widget.locator("li.theirs")).to_contain_text(REFUND_ANSWER, timeout=EXPECT_MS)
    # The customer sees the agent's name (routing's record of A-1001), never the agent's id.
    await expect(widget.get_by_role("status")).to_contain_text("Li Wei is here to help you.")
    await expect(widget.locator("li.theirs .who")).to_have_text(["Li Wei"])

    await site.reload()
    widget = site.get_by_role("dialog", name="Customer service")
    await expect(widget.locator("li.theirs")).to_contain_text(REFUND_ANSWER, timeout=EXPECT_MS)
    await expect(widget.get_by_role("status")).to_contain_text("Li Wei is here to help you.")
    await expect(widget.locator("li.mine").first).to_contain_text("I want a refund for my order")
    await say(widget, "Thanks, that helps")
    await expect(chat.locator(".message.inbound .text")).to_have_text(
        ["I want a refund for my order", "Thanks, that helps"], timeout=EXPECT_MS)
