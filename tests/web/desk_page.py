"""What a person does in the two UIs, as Playwright steps: an agent at the desk, a visitor on the
demo website with the widget."""

from __future__ import annotations

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
    await desk.get_by_role("combobox", name="Presence").select_option("available")
    await desk.get_by_role("button", name="Set", exact=True).click()
    await expect(desk.locator(".presence output")).to_have_text("Available", timeout=EXPECT_MS)


def offer(desk: Page) -> Locator:
    return desk.locator("omni-offer")


def conversation(desk: Page) -> Locator:
    return desk.locator("omni-conversation:not([hidden])")


async def open_widget(page: Page) -> Locator:
    await page.get_by_role("button", name="Chat with us").click()
    panel = page.get_by_role("dialog", name="Customer service")
    await expect(panel).to_be_visible()
    return panel


async def say(panel: Locator, text: str) -> None:
    await panel.get_by_label("Your message").fill(text)
    await panel.get_by_role("button", name="Send").click()
