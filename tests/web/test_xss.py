"""Markup a customer or agent writes stays text in both UIs: in a chat message, the customer's
name and an email's subject, a <script> or an onerror= handler is shown, never run."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

import pytest
from playwright.async_api import Browser, Page, expect

from omni.runtime.auth import Role, bearer
from tests.web.conftest import WEB_LOOP
from tests.web.desk_page import (
    EXPECT_MS,
    conversation,
    go_available,
    offer,
    open_widget,
    say,
    search_tickets,
    signed_in_desk,
)
from tests.web.stack import WebStack, create_customer

pytestmark = [pytest.mark.slow, WEB_LOOP]

NAME = '<img src=x onerror="window.__xss=\'name\'">Mallory'
CHAT = '<script>window.__xss="chat"</script><img src=x onerror="window.__xss=\'chat\'">hi'
REPLY = '<img src=x onerror="window.__xss=\'reply\'">answer'
SUBJECT = '<img src=x onerror="window.__xss=\'subject\'">Refund please'
EMAIL = "mallory@example.net"
# Whether the payloads became elements anywhere, the widget's shadow root included. Checked after
# the payload text is on screen: parsing HTML creates its elements at once, so they would be there.
INJECTED = """() => {
  const roots = [document, ...[...document.querySelectorAll("*")].map((e) => e.shadowRoot).filter(Boolean)];
  const injected = roots.map((r) => r.querySelectorAll('img[src="x"], script:not([src])').length);
  return {elements: injected.reduce((a, b) => a + b, 0), ran: window.__xss ?? null};
}"""


async def assert_inert(page: Page) -> None:
    assert await page.evaluate(INJECTED) == {"elements": 0, "ran": None}


def send_mail(port: int) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"Mallory <{EMAIL}>", "support@example.com", SUBJECT
    mail.set_content("Please refund my last bill.")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(mail)


async def test_markup_in_chat_name_and_subject_stays_text_in_the_desk_and_the_widget(
        web: WebStack, browser: Browser) -> None:
    await create_customer(web.addresses, bearer(web.authority.mint("admin", Role.ADMIN)), NAME, EMAIL)
    desk = await signed_in_desk(await browser.new_context(), web.url, web.agent_token())
    await go_available(desk)
    site = await (await browser.new_context()).new_page()
    await site.goto(web.url + "/demo/")
    await site.evaluate("token => OmniChat.identify(token)", web.identity_token(EMAIL))
    widget = await open_widget(site)
    await say(widget, CHAT)

    card = offer(desk)
    await expect(card.locator(".customer-name")).to_contain_text(NAME, timeout=EXPECT_MS)
    await expect(card.locator(".first-words")).to_have_text(CHAT)
    await assert_inert(desk)
    await card.get_by_role("button", name="Accept").click()
    chat = conversation(desk)
    await expect(chat.locator(".message.inbound .text")).to_have_text(CHAT, timeout=EXPECT_MS)
    await chat.get_by_label("Reply").fill(REPLY)
    await chat.get_by_role("button", name="Send").click()
    await expect(widget.locator("li.theirs .text")).to_have_text(REPLY, timeout=EXPECT_MS)
    await expect(widget.locator("li.mine .text")).to_have_text(CHAT)
    await assert_inert(site)
    await assert_inert(desk)

    await asyncio.to_thread(send_mail, web.smtp_port)
    await search_tickets(desk, EMAIL, SUBJECT)
    await assert_inert(desk)
