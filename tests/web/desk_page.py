"""What a person does in the two UIs, as Playwright steps: an agent at the desk, a visitor on the
demo website with the widget."""

from __future__ import annotations

import asyncio

from playwright.async_api import BrowserContext, Locator, Page, expect

EXPECT_MS = 20_000


async def signed_in_desk(context: BrowserContext, url: str, token: str) -> Page:
    page = await context.new_page()
    await page.goto(url + "/desk/")
    await page.get_by_label("Token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=EXPECT_MS)
    return page


async def go_available(desk: Page) -> None:
    await set_presence(desk, "available", "Available")


async def set_presence(desk: Page, status: str, shown: str, reason: str = "") -> None:
    await desk.get_by_role("combobox", name="Presence").select_option(status)
    if reason:
        await desk.get_by_label("Reason for the break").fill(reason)
    await desk.get_by_role("button", name="Set", exact=True).click()
    await expect(desk.locator(".presence output")).to_have_text(shown, timeout=EXPECT_MS)


def offer(desk: Page) -> Locator:
    return desk.locator("omni-offer")


def conversation(desk: Page) -> Locator:
    return desk.locator("omni-conversation:not([hidden])")


async def insert_answer(chat: Locator, title: str) -> str:
    """Inserts the suggested article `title` into the reply box and waits for its text there (the
    article is fetched first), as the agent sees it before sending; its text."""
    box = chat.get_by_label("Reply")
    await chat.get_by_role("button", name=f"Insert: {title}").click(timeout=EXPECT_MS)
    await expect(box).not_to_have_value("", timeout=EXPECT_MS)
    return await box.input_value()


async def transfer(chat: Locator, queue: str, reason: str, code: str = "needs_skill") -> None:
    await chat.get_by_label("Queue", exact=True).select_option(queue)
    await chat.get_by_label("Why", exact=True).select_option(code)
    await chat.get_by_label("Note for the next agent").fill(reason)
    await chat.get_by_role("button", name="Transfer", exact=True).click()


async def wrap_up(chat: Locator, disposition: str, note: str) -> None:
    await chat.get_by_label("Disposition").select_option(disposition)
    await chat.get_by_label("Wrap-up note").fill(note)
    await chat.get_by_role("button", name="Finish").click()


async def open_widget(page: Page) -> Locator:
    await page.get_by_role("button", name="Chat with us").click()
    panel = page.get_by_role("dialog", name="Customer service")
    await expect(panel).to_be_visible()
    return panel


async def say(panel: Locator, text: str) -> None:
    await panel.get_by_label("Your message").fill(text)
    await panel.get_by_role("button", name="Send").click()


async def search_tickets(desk: Page, query: str, expected: str) -> Locator:
    """Search again until the tickets service has filed what `expected` names (it does so from
    events, a moment after the contact)."""
    await desk.get_by_role("button", name="Tickets").click()
    results = desk.locator(".ticket-results")
    async with asyncio.timeout(EXPECT_MS / 1000):
        while True:
            await desk.get_by_label("Ticket number, phone or email").fill(query)
            await desk.get_by_role("button", name="Search").click()
            await expect(results.locator("li").first).to_be_visible()
            if expected in await results.inner_text():
                return results
            await asyncio.sleep(0.3)


async def open_ticket(desk: Page, query: str, expected: str) -> Locator:
    """The ticket's detail (with its cross-channel timeline), found by `query`."""
    results = await search_tickets(desk, query, expected)
    await results.get_by_role("button").filter(has_text=expected).first.click()
    ticket = desk.locator("article.ticket")
    await expect(ticket).to_be_visible()
    return ticket


async def schedule_follow_up(desk: Page, chat: Locator, by: str, in_seconds: float, note: str) -> None:
    """The conversation's "Follow up" form: `by` (call, email, sms) at the desk's local time now +
    `in_seconds`, for the agent themselves."""
    when = await desk.evaluate("""seconds => {
        const d = new Date(Date.now() + seconds * 1000), p = (n) => String(n).padStart(2, "0");
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:`
          + p(d.getSeconds());
    }""", in_seconds)
    await chat.get_by_label("By", exact=True).select_option(by)
    await chat.get_by_label("When", exact=True).fill(when)
    await chat.get_by_label("What to do").fill(note)
    await chat.get_by_role("button", name="Schedule follow-up").click()
