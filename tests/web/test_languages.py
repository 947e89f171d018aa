"""Chinese and English: both UIs start in the browser's language, switch with one button, and
keep the choice across reloads and pages."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.web.conftest import WEB_LOOP
from tests.web.desk_page import EXPECT_MS
from tests.web.stack import WebStack

pytestmark = [pytest.mark.slow, WEB_LOOP]


async def test_the_desk_follows_the_browser_language_switches_and_remembers_the_choice(
        web: WebStack, browser: Browser) -> None:
    chinese = await browser.new_context(locale="zh-CN")
    desk = await chinese.new_page()
    await desk.goto(web.url + "/desk/")
    await expect(desk.locator("html")).to_have_attribute("lang", "zh-CN")
    await desk.get_by_label("令牌").fill(web.agent_token())
    await desk.get_by_role("button", name="登录").click()
    await expect(desk.get_by_role("button", name="退出")).to_be_visible(timeout=EXPECT_MS)
    await expect(desk.get_by_role("combobox", name="状态")).to_be_visible()
    await expect(desk.locator(".work-list")).to_contain_text("暂无工作")

    await desk.get_by_role("button", name="Switch to English").click()
    await expect(desk.get_by_role("button", name="Sign out")).to_be_visible()
    await expect(desk.locator("html")).to_have_attribute("lang", "en")
    await expect(desk.locator(".work-list")).to_contain_text("No work yet")
    await desk.reload()
    await expect(desk.get_by_role("button", name="Sign out")).to_be_visible(timeout=EXPECT_MS)
    another = await chinese.new_page()
    await another.goto(web.url + "/desk/")
    await expect(another.get_by_role("button", name="Tickets")).to_be_visible(timeout=EXPECT_MS)
    await another.get_by_role("button", name="切换到中文").click()
    await expect(another.get_by_role("button", name="工单")).to_be_visible()

    english = await (await browser.new_context(locale="en-GB")).new_page()
    await english.goto(web.url + "/desk/")
    await expect(english.get_by_role("button", name="Sign in")).to_be_visible()


async def test_the_widget_follows_the_browser_language_switches_and_remembers_the_choice(
        web: WebStack, browser: Browser) -> None:
    chinese = await browser.new_context(locale="zh-CN")
    site = await chinese.new_page()
    await site.goto(web.url + "/demo/")
    await site.get_by_role("button", name="在线客服").click()
    panel = site.get_by_role("dialog", name="客户服务")
    await expect(panel).to_be_visible()
    await expect(panel.get_by_role("button", name="发送")).to_be_visible()
    await panel.get_by_role("button", name="Switch to English").click()
    dialog = site.get_by_role("dialog", name="Customer service")
    await expect(dialog.get_by_role("button", name="Send")).to_be_visible()
    await site.reload()
    await expect(site.get_by_role("dialog", name="Customer service")).to_be_visible(timeout=EXPECT_MS)
    other_page = await chinese.new_page()
    await other_page.goto(web.url + "/demo/")
    await expect(other_page.get_by_role("button", name="Chat with us")).to_be_visible()

    english = await (await browser.new_context(locale="en-US")).new_page()
    await english.goto(web.url + "/demo/")
    await expect(english.get_by_role("button", name="Chat with us")).to_be_visible()
