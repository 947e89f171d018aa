"""The chat widget's callback offer in Chromium: a signed-in visitor waiting over a minute is
offered a callback, takes it, and keeps their place as a callback to their verified phone; another
picks one of the times routing offers and the callback is due then; an
anonymous visitor's request is refused (nobody can have a stranger called); the agent's desk
offers the callback with the number it will dial."""

from __future__ import annotations

from urllib.parse import urlsplit

import grpc
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from omni.runtime.auth import Role, bearer
from omni.sessions.domain.chat_identity import mint_identity_token
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.support.polling import eventually
from tests.web.conftest import WEB_LOOP
from tests.web.desk_page import EXPECT_MS, go_available, offer, open_widget, say, signed_in_desk
from tests.web.stack import IDENTITY_SECRET, WebStack

pytestmark = [pytest.mark.slow, WEB_LOOP]


async def test_a_waiting_visitor_books_a_callback_to_their_verified_phone(web: WebStack, browser: Browser) -> None:
    widget = await signed_in_visitor(await (await browser.new_context()).new_page(), web, "+8613800138000", "Li Wei",
                                     "I want a refund for my order")
    # No agent is available: the estimate is over a minute, so the widget offers a callback:
    # keeping the place in line, or at one of the times routing offers.
    await widget.get_by_role("button", name="Call me back instead").click(timeout=EXPECT_MS)
    choice = widget.get_by_role("group", name="Call me back instead")
    await expect(choice.locator("button[data-start]")).to_have_count(12, timeout=EXPECT_MS)
    await choice.get_by_role("button", name="Keep my place in line").click()
    await expect(widget.get_by_role("status")).to_contain_text("We will call you back at +8613800138000",
                                                               timeout=EXPECT_MS)
    await expect(widget.get_by_role("button", name="Call me back instead")).to_be_hidden()
    admin = bearer(web.authority.mint("admin", Role.ADMIN))
    async with grpc.aio.insecure_channel(web.addresses["routing"]) as channel:
        routing = routing_pb2_grpc.RoutingServiceStub(channel)

        async def work() -> routing_pb2.WorkItem:
            found = await routing.ListWorkItems(routing_pb2.ListWorkItemsRequest(queue_id="billing"), metadata=admin)
            return found.work_items[0] if found.work_items else routing_pb2.WorkItem()

        booked = await eventually(work, lambda w: w.state == routing_pb2.WORK_STATE_CALLBACK_SCHEDULED,
                                  what="the chat's work scheduled as a callback")
    assert booked.callback_number == "+8613800138000" and booked.callback_number_verified
    assert not booked.HasField("callback_due_time")

    # Another visitor picks a time instead: the callback is due then, and the widget says when.
    later = await (await browser.new_context(timezone_id="Asia/Shanghai")).new_page()
    picker = await signed_in_visitor(later, web, "+8613700137000", "Wang Fang", "Please call me about a refund later")
    await picker.get_by_role("button", name="Call me back instead").click(timeout=EXPECT_MS)
    slot = picker.get_by_role("group", name="Call me back instead").locator("button[data-start]").nth(1)
    start = await slot.get_attribute("data-start", timeout=EXPECT_MS)
    await slot.click()
    await expect(picker.get_by_role("status")).to_contain_text("We will call you at +8613700137000, ",
                                                               timeout=EXPECT_MS)
    # The widget keeps its chat in the site's localStorage; the work's id is the session's.
    session_id = await later.evaluate("key => JSON.parse(localStorage.getItem(key)).session",
                                      f"omni-chat:{urlsplit(web.url).netloc}")
    async with grpc.aio.insecure_channel(web.addresses["routing"]) as channel:
        routing = routing_pb2_grpc.RoutingServiceStub(channel)
        scheduled = await eventually(lambda: routing.GetWorkItem(routing_pb2.GetWorkItemRequest(
            id=session_id), metadata=admin), lambda w: w.HasField("callback_due_time"),
            what="the second visitor's callback due at the chosen time")
    assert scheduled.callback_due_time.ToJsonString() == start

    # An anonymous visitor has no verified phone: the offer is refused with a way forward.
    other = await (await browser.new_context()).new_page()
    await other.goto(web.url + "/demo/")
    anonymous = await open_widget(other)
    await say(anonymous, "I want a refund too")
    await anonymous.get_by_role("button", name="Call me back instead").click(timeout=EXPECT_MS)
    await anonymous.get_by_role("button", name="Keep my place in line").click(timeout=EXPECT_MS)
    await expect(anonymous).to_contain_text("sign in on the website", timeout=EXPECT_MS)

    # An agent who becomes available is offered the callback first (it kept its place), with
    # the number the platform will dial.
    desk = await signed_in_desk(await browser.new_context(), web.url, web.agent_token())
    await go_available(desk)
    card = offer(desk)
    await expect(card.locator(".callback")).to_contain_text("+8613800138000", timeout=EXPECT_MS)
    await expect(card.locator(".callback")).to_contain_text("accepting dials this number")
    await expect(card.locator(".badge.unverified")).to_have_count(0)


async def signed_in_visitor(site: Page, web: WebStack, phone: str, name: str, first_words: str) -> Locator:
    """A visitor the website signed in (a verified phone) who opened the chat and wrote."""
    await site.goto(web.url + "/demo/")
    token = mint_identity_token(IDENTITY_SECRET, phone=phone, name=name)
    await site.evaluate("token => OmniChat.identify(token)", token)
    widget = await open_widget(site)
    await say(widget, first_words)
    return widget
