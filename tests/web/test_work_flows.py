"""Whole pieces of work at the desk, in Chromium against the real services, ending on the ticket:
a chat transferred with a reason and wrapped up by a second agent, who schedules a follow-up that
comes back to them when due, an email answered with the
customer's words quoted (the reply leaves over SMTP), and a call worked through its telephony
events."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import smtplib
from email.message import EmailMessage

import grpc
import pytest
from playwright.async_api import Browser, expect

from omni.runtime.auth import Role, bearer
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc
from tests.support.polling import eventually
from tests.web.conftest import WEB_LOOP
from tests.web.desk_page import (
    EXPECT_MS,
    conversation,
    go_available,
    insert_answer,
    offer,
    open_ticket,
    open_widget,
    say,
    schedule_follow_up,
    set_presence,
    signed_in_desk,
    transfer,
    wrap_up,
)
from tests.web.stack import REFUND_ANSWER, WebStack, create_customer

pytestmark = [pytest.mark.slow, WEB_LOOP]


async def test_a_chat_transferred_with_a_reason_is_wrapped_up_by_a_second_agent_and_the_ticket_shows_it_all(
        web: WebStack, browser: Browser) -> None:
    admin = bearer(web.authority.mint("admin", Role.ADMIN))
    await create_customer(web.addresses, admin, "Li Wei", "li.wei@example.cn")
    first = await signed_in_desk(await browser.new_context(), web.url, web.agent_token("A-1001"))
    await go_available(first)
    site = await (await browser.new_context()).new_page()
    await site.goto(web.url + "/demo/")
    await site.evaluate("token => OmniChat.identify(token)", web.identity_token("li.wei@example.cn"))
    widget = await open_widget(site)
    await say(widget, "I want a refund for my order")

    await offer(first).get_by_role("button", name="Accept").click(timeout=EXPECT_MS)
    chat = conversation(first)
    assert await insert_answer(chat, "Refund times") == REFUND_ANSWER
    await chat.get_by_role("button", name="Send").click()
    await expect(widget.locator("li.theirs")).to_contain_text(REFUND_ANSWER, timeout=EXPECT_MS)
    await say(widget, "It is two weeks now and nothing arrived")
    await expect(chat.locator(".message.inbound")).to_have_count(2, timeout=EXPECT_MS)

    await transfer(chat, "billing", "refund overdue: needs a billing specialist")
    await expect(first.locator(".alert")).to_have_text("Transferred.", timeout=EXPECT_MS)
    await expect(conversation(first)).to_have_count(0)
    # Routing may offer the chat straight back to its only other eligible agent: away they go.
    await set_presence(first, "break", "Break", "lunch")

    second = await signed_in_desk(await browser.new_context(), web.url, web.agent_token("A-1002"))
    await go_available(second)
    card = offer(second)
    await expect(card.locator(".reasons")).to_contain_text("refund overdue: needs a billing specialist",
                                                           timeout=EXPECT_MS)
    await card.get_by_role("button", name="Accept").click()
    chat = conversation(second)
    # The whole conversation so far, with why it came here.
    await expect(chat.locator(".message.inbound .text")).to_have_text(
        ["I want a refund for my order", "It is two weeks now and nothing arrived"], timeout=EXPECT_MS)
    await expect(chat.locator(".message.outbound")).to_contain_text(REFUND_ANSWER)
    await expect(chat.locator(".note")).to_contain_text("transferred to billing: refund overdue")
    await chat.get_by_label("Reply").fill("I have re-issued your refund today.")
    await chat.get_by_role("button", name="Send").click()
    await expect(widget.locator("li.theirs").last).to_contain_text("re-issued", timeout=EXPECT_MS)
    # The draft summary: the customer's issue and what was done, in their own words; the agent edits it.
    summary = chat.get_by_label("Summary (kept on the ticket)")
    await chat.get_by_role("button", name="Draft summary").click()
    await expect(summary).to_have_value(re.compile(r"Issue: I want a refund for my order"), timeout=EXPECT_MS)
    await expect(summary).to_have_value(re.compile(r"Done: .*re-issued your refund today"))
    await summary.fill(await summary.input_value() + "\nCustomer <b>prefers</b> email.")
    # A follow-up by email for the agent themselves, a few seconds ahead: a time in the past is refused.
    await schedule_follow_up(second, chat, "email", -120, "check the refund arrived")
    await expect(second.locator(".alert")).to_contain_text("in the past", timeout=EXPECT_MS)
    await schedule_follow_up(second, chat, "email", 6, "check the refund arrived")
    await expect(chat.locator(".follow-up-status")).to_contain_text("Follow-up scheduled: email at", timeout=EXPECT_MS)
    await wrap_up(chat, "resolved", "refund re-issued by billing")
    await expect(conversation(second)).to_have_count(0)
    # The chat has ended: the customer is asked, once, in the widget, how it went.
    survey = widget.locator("li.survey")
    await expect(survey.locator("fieldset.csat legend")).to_contain_text("How satisfied", timeout=EXPECT_MS)
    await survey.locator("fieldset.csat").get_by_text("4", exact=True).click()
    await survey.locator("fieldset.nps").get_by_text("9", exact=True).click()
    await survey.get_by_role("button", name="Send rating").click()
    await expect(survey).to_contain_text("Thank you for your feedback!", timeout=EXPECT_MS)

    # When due, the follow-up is offered to the agent who scheduled it, with what to do; done like any work.
    card = offer(second)
    await expect(card.locator(".follow-up")).to_contain_text("email due", timeout=EXPECT_MS)
    await expect(card.locator(".first-words")).to_have_text("check the refund arrived")
    await card.get_by_role("button", name="Accept").click()
    await wrap_up(conversation(second), "resolved", "refund confirmed by email")
    await expect(conversation(second)).to_have_count(0, timeout=EXPECT_MS)

    ticket = await open_ticket(second, "li.wei@example.cn", "refund")
    timeline = ticket.locator(".timeline")
    for seen in ("follow-up scheduled by A-1002: email due", "check the refund arrived",
                 "follow-up done by A-1002", "resolved: refund confirmed by email",
                 "I want a refund for my order", REFUND_ANSWER, "A-1001",
                 "transferred to billing: refund overdue: needs a billing specialist",
                 "It is two weeks now and nothing arrived", "A-1002", "I have re-issued your refund today.",
                 "wrap-up: resolved — refund re-issued by billing", "Ended"):
        await expect(timeline).to_contain_text(seen, timeout=EXPECT_MS)
    kept = timeline.locator(".note.summary")
    await expect(kept.locator(".badge")).to_have_text("Summary")
    await expect(kept.locator(".text")).to_contain_text("Customer <b>prefers</b> email.")  # as text, not markup
    # The ticket's own fields change from the same view (opened again: the follow-up's facts arrived
    # while the agent worked it, each a change of the ticket, and a save names the version it saw).
    ticket = await open_ticket(second, "li.wei@example.cn", "refund")
    await expect(ticket.locator(".timeline")).to_contain_text("wrap-up: resolved — refund confirmed by email")
    await ticket.get_by_label("Status").select_option("pending")
    await ticket.get_by_role("button", name="Save").click()
    await expect(second.locator(".ticket-results")).to_contain_text("pending", timeout=EXPECT_MS)
    await expect(second.locator(".alert")).to_have_text("")


def send_mail(port: int, sender: str, subject: str, body: str, attachment: bytes) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "support@example.com", subject
    mail.set_content(body)
    mail.add_attachment(attachment, maintype="text", subtype="plain", filename="invoice-4711.txt")
    _deliver(port, mail)


def _deliver(port: int, mail: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(mail)


async def test_an_email_is_answered_from_the_desk_with_the_customer_quoted_and_the_reply_leaves_over_smtp(
        web: WebStack, browser: Browser) -> None:
    await create_customer(web.addresses, bearer(web.authority.mint("admin", Role.ADMIN)), "Emma Clarke",
                          "emma@example.co.uk")
    desk = await signed_in_desk(await browser.new_context(accept_downloads=True), web.url, web.agent_token())
    await go_available(desk)
    await asyncio.to_thread(send_mail, web.smtp_port, "Emma Clarke <emma@example.co.uk>", "Invoice 4711 is wrong",
                            "My invoice 4711 charges me twice.\nPlease fix it.", b"line 1: 30.00\nline 2: 30.00\n")

    card = offer(desk)
    await expect(card).to_contain_text("Emma Clarke", timeout=EXPECT_MS)
    await expect(card).to_contain_text("email")
    await card.get_by_role("button", name="Accept").click()
    mail = conversation(desk)
    await expect(mail.locator(".email-subject")).to_have_text("Invoice 4711 is wrong", timeout=EXPECT_MS)
    await expect(mail.locator(".message.inbound .text")).to_contain_text("My invoice 4711 charges me twice.")
    async with desk.expect_download() as download:
        await mail.get_by_role("link", name="Download invoice-4711.txt").click()
    saved = await (await download.value).path()
    assert saved is not None and saved.read_bytes() == b"line 1: 30.00\nline 2: 30.00\n"

    reply = mail.get_by_label("Reply")
    # Quoted once the mail's subject line is known (from its ticket, which tickets filed from an event).
    await expect(reply).to_have_value("\n\n> My invoice 4711 charges me twice.\n> Please fix it.", timeout=EXPECT_MS)
    await reply.press("Control+Home")
    await reply.press_sequentially("Sorry about that: invoice 4711 is corrected.")
    await mail.get_by_role("button", name="Send").click()
    await expect(mail.locator(".message.outbound .text")).to_contain_text("invoice 4711 is corrected",
                                                                          timeout=EXPECT_MS)
    [(sender, recipients, raw)] = await eventually(lambda: asyncio.sleep(0, list(web.outbox.messages)),
                                                   what="the reply at the SMTP relay")
    sent = email.message_from_bytes(raw, policy=email.policy.default)
    assert recipients == ["emma@example.co.uk"] and sender == "support@example.com"
    # The ticket's number in the subject threads the customer's answer back onto it.
    assert re.fullmatch(r"Re: Invoice 4711 is wrong \[#T-\d+\]", sent["Subject"]), sent["Subject"]
    body = sent.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert body.replace("\r\n", "\n") == ("Sorry about that: invoice 4711 is corrected.\n\n"
                                          "> My invoice 4711 charges me twice.\n> Please fix it.\n")

    # Her colleague answers in the thread: the next reply copies him only because the agent ticks him.
    colleague = EmailMessage()
    colleague["From"], colleague["To"] = "Tom Reed <Tom.Reed@example.co.uk>", "support@example.com"
    colleague["Subject"], colleague["In-Reply-To"] = f"Re: {sent['Subject']}", sent["Message-ID"]
    colleague.set_content("Please copy me, I handle our invoices.")
    await asyncio.to_thread(_deliver, web.smtp_port, colleague)
    copy = mail.get_by_label("tom.reed@example.co.uk")
    await expect(copy).not_to_be_checked(timeout=EXPECT_MS)
    await copy.check()
    await reply.fill("Tom, the corrected invoice is on its way.")
    await mail.get_by_role("button", name="Send").click()
    _, (_, copied, _) = await eventually(lambda: asyncio.sleep(0, list(web.outbox.messages)),
                                         lambda sent: len(sent) == 2, what="the copied reply at the relay")
    assert copied == ["emma@example.co.uk", "tom.reed@example.co.uk"]
    await expect(copy).not_to_be_checked()

    await wrap_up(mail, "resolved", "invoice corrected")
    await expect(conversation(desk)).to_have_count(0)

    ticket = await open_ticket(desk, "emma@example.co.uk", "Invoice 4711")
    for seen in ("Invoice 4711 is wrong", "My invoice 4711 charges me twice.", "invoice 4711 is corrected",
                 "wrap-up: resolved — invoice corrected"):
        await expect(ticket.locator(".timeline")).to_contain_text(seen, timeout=EXPECT_MS)
    # Kept on the conversation by the desk and on the ticket by tickets: shown once.
    await expect(ticket.locator(".timeline .note").filter(has_text="wrap-up: resolved")).to_have_count(1)


async def test_a_call_is_worked_from_the_desk_as_its_telephony_events_arrive(web: WebStack, browser: Browser) -> None:
    await create_customer(web.addresses, bearer(web.authority.mint("admin", Role.ADMIN)), "Wang Fang",
                          "wang.fang@example.cn", phone="+8613800138000", language="zh")
    desk = await signed_in_desk(await browser.new_context(), web.url, web.agent_token())
    await go_available(desk)
    pbx = bearer(web.authority.mint("pbx-adapter", Role.SERVICE))
    async with grpc.aio.insecure_channel(web.addresses["sessions"]) as channel:
        telephony = sessions_pb2_grpc.TelephonyServiceStub(channel)
        await telephony.StartCall(sessions_pb2.StartCallRequest(
            call_id="call-7", ani="+8613800138000", dnis="+861095555", language="zh"), metadata=pbx)
        await telephony.SubmitIvrInput(sessions_pb2.SubmitIvrInputRequest(call_id="call-7", digits="1"), metadata=pbx)

        card = offer(desk)
        await expect(card).to_contain_text("Ringing", timeout=EXPECT_MS)
        await expect(card).to_contain_text("Wang Fang")
        await card.get_by_role("button", name="Accept").click()
        call = conversation(desk)
        state = call.locator(".call .session-state")
        await expect(state).to_have_text("Connected", timeout=EXPECT_MS)
        # The PBX bridges the caller to the agent who accepted.
        await telephony.AnswerCall(sessions_pb2.AnswerCallRequest(call_id="call-7", agent_id="A-1001"), metadata=pbx)
        steps = call.locator(".call-states li")
        await expect(steps.filter(has_text="Ringing")).to_have_count(1)
        await expect(call.locator(".attributes")).to_contain_text("+8613800138000")
        await call.get_by_label("Internal note").fill("disputes the roaming charge of May")
        await call.get_by_role("button", name="Add note").click()
        await expect(call.locator(".note")).to_contain_text("disputes the roaming charge of May", timeout=EXPECT_MS)

        await telephony.EndCall(sessions_pb2.EndCallRequest(call_id="call-7"), metadata=pbx)
        await expect(state).to_have_text("Wrap-up", timeout=EXPECT_MS)
        await expect(steps.last).to_contain_text("call ended")
    await wrap_up(call, "resolved", "roaming charge credited")
    await expect(conversation(desk)).to_have_count(0)

    ticket = await open_ticket(desk, "+8613800138000", "IVR: billing")
    timeline = ticket.locator(".timeline")
    for seen in ("Ringing", "Connected", "disputes the roaming charge of May", "call ended",
                 "wrap-up: resolved — roaming charge credited", "Ended"):
        await expect(timeline).to_contain_text(seen, timeout=EXPECT_MS)
