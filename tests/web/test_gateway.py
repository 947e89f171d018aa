"""The gateway's security model, over real HTTP and WebSockets against the real services:
it never lets a browser user do more than their own token allows."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import nats as nats_client
import pytest
from websockets.exceptions import InvalidStatus

from omni.devstack.local_issuer import LocalIssuer
from omni.runtime.auth import Role, bearer
from omni.runtime.config import ServiceSettings
from tests.support.polling import eventually
from tests.support.services import services
from tests.web.client import Browser, frame
from tests.web.conftest import WEB_LOOP
from tests.web.stack import WebStack, another_gateway, create_customer, start_stack

EVIL = "http://evil.example"
pytestmark = WEB_LOOP


async def start_chat(web: WebStack, text: str) -> str:
    """A visitor on the gateway's demo site says `text`; the chat's session id."""
    async with Browser(web.url).socket("/widget/chat") as ws:
        # A visitor of their own: chats of one visitor would share a ticket, and tests share a stack.
        await ws.send(json.dumps({"start": {"handle": f"visitor-{uuid.uuid4().hex[:8]}", "display_name": "Visitor"}}))
        started = await frame(ws, "started")
        await ws.send(json.dumps({"text": {"text": text, "client_message_id": "c-1"}}))
        await frame(ws, "message")
        return str(started["session_id"])


async def test_sign_in_sets_an_http_only_strict_cookie_and_the_desk_reads_with_it(shared_web: WebStack) -> None:
    browser = Browser(shared_web.url)
    answer = await browser.sign_in(shared_web.agent_token())
    assert answer.status == 200
    assert answer.body["display_name"] == "Li Wei"
    cookie = answer.cookies["omni_desk"]
    assert cookie["httponly"] and cookie["samesite"].lower() == "strict"
    me = await browser.call("GET", "/api/me")
    assert me.status == 200 and me.body["subject"] == "A-1001" and me.body["csrf"] == browser.csrf


async def test_every_answer_carries_the_security_headers(shared_web: WebStack) -> None:
    for path in ("/desk/", "/api/me", "/widget/widget.js"):
        headers = (await Browser(shared_web.url).call("GET", path)).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
    assert (await Browser(shared_web.url).call("GET", "/widget/widget.js")).headers[
        "cross-origin-resource-policy"] == "cross-origin"


async def test_changes_without_the_csrf_token_of_this_sign_in_are_refused(shared_web: WebStack) -> None:
    session_id = await start_chat(shared_web, "I need help with my account")
    browser = Browser(shared_web.url)
    await browser.sign_in(shared_web.agent_token())
    other = Browser(shared_web.url)
    await other.sign_in(shared_web.agent_token("A-1002"))
    for csrf in ("-", "forged-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", other.csrf):
        refused = await browser.call("POST", f"/api/sessions/{session_id}/notes", {"text": "hi"}, csrf=csrf)
        assert refused.status == 403, refused.body
        assert "CSRF" in refused.body["error"]
    with pytest.raises(InvalidStatus) as no_csrf:
        async with browser.socket("/api/desk"):
            pass
    assert no_csrf.value.response.status_code == 403
    noted = await browser.call("POST", f"/api/sessions/{session_id}/notes", {"text": "checked the account"})
    assert noted.status == 200 and noted.body["text"] == "checked the account"


async def test_requests_from_another_origin_are_refused(shared_web: WebStack) -> None:
    assert (await Browser(shared_web.url, origin=EVIL).sign_in(shared_web.agent_token())).status == 403
    browser = Browser(shared_web.url)
    await browser.sign_in(shared_web.agent_token())
    browser.origin = EVIL
    assert (await browser.call("POST", "/api/signout")).status == 403
    for path in (f"/api/desk?csrf={browser.csrf}", "/widget/chat"):
        with pytest.raises(InvalidStatus) as refused:
            async with browser.socket(path):
                pass
        assert refused.value.response.status_code == 403, path


async def test_the_widget_is_accepted_from_configured_sites_only(shared_web: WebStack) -> None:
    async with another_gateway(shared_web, web_site_origins=("https://shop.example",)) as url:
        async with Browser(url, origin="https://shop.example").socket("/widget/chat") as ws:
            await ws.send(json.dumps({"start": {"handle": "shop-visitor"}}))
            assert (await frame(ws, "started"))["session_token"]
        with pytest.raises(InvalidStatus):
            async with Browser(url, origin="https://shop.example.evil.example").socket("/widget/chat"):
                pass


async def test_an_agent_cannot_reach_another_groups_session_through_the_gateway(shared_web: WebStack) -> None:
    session_id = await start_chat(shared_web, "I need help with my account")
    outsider = Browser(shared_web.url)
    assert (await outsider.sign_in(shared_web.agent_token("A-3001"))).status == 200
    seen = await outsider.call("GET", f"/api/sessions/{session_id}")
    assert seen.status == 403 and "groups" in seen.body["error"]
    replied = await outsider.call("POST", f"/api/sessions/{session_id}/replies", {"text": "hello"})
    assert replied.status == 403
    async with outsider.socket(f"/api/sessions/{session_id}/watch?csrf={outsider.csrf}") as ws:
        assert "groups" in await frame(ws, "error")
    insider = Browser(shared_web.url)
    await insider.sign_in(shared_web.agent_token())
    assert (await insider.call("GET", f"/api/sessions/{session_id}")).status == 200


async def test_customer_tokens_and_oversized_bodies_are_refused(shared_web: WebStack) -> None:
    customer = shared_web.authority.mint("visitor", Role.CUSTOMER, session_id="S-1")
    refused = await Browser(shared_web.url).sign_in(customer)
    assert refused.status == 403 and "cannot sign in" in refused.body["error"]
    assert (await Browser(shared_web.url).sign_in("not-a-token")).status == 401
    browser = Browser(shared_web.url)
    await browser.sign_in(shared_web.agent_token())
    big = await browser.call("POST", "/api/sessions/S-1/notes", raw=b'{"text": "' + b"x" * 70_000 + b'"}')
    assert big.status == 413


async def ticket_of(web: WebStack, browser: Browser, session_id: str) -> dict[str, Any]:
    """The ticket tickets filed the session on (from an event, a moment after the chat started)."""
    session = await eventually(lambda: browser.call("GET", f"/api/sessions/{session_id}"),
                               lambda answer: answer.body.get("ticket_id"), what="the chat's ticket")
    timeline = await browser.call("GET", f"/api/tickets/{session.body['ticket_id']}/timeline")
    assert timeline.status == 200, timeline.body
    return timeline.body  # type: ignore[no-any-return]


async def test_a_ticket_change_carries_the_version_seen_and_a_stale_one_is_refused(shared_web: WebStack) -> None:
    browser = Browser(shared_web.url)
    await browser.sign_in(shared_web.agent_token())
    timeline = await ticket_of(shared_web, browser, await start_chat(shared_web, "My bill is wrong"))
    ticket = timeline["ticket"]
    assert [s["id"] for s in timeline["sessions"]] == [ticket["interactions"][0]["session_id"]]
    path = f"/api/tickets/{ticket['id']}"
    changed = await browser.call("PATCH", path, {"version": int(ticket["version"]), "status": "pending"})
    assert changed.status == 200 and changed.body["status"] == "TICKET_STATUS_PENDING", changed.body
    # A second change made from the same (now old) view would overwrite the first unseen.
    stale = await browser.call("PATCH", path, {"version": int(ticket["version"]), "priority": "high"})
    assert stale.status == 409 and "changed by someone else" in stale.body["error"]
    assert (await browser.call("PATCH", path, {"version": "1", "status": "open"})).status == 400


async def test_the_timeline_of_another_groups_ticket_is_refused(shared_web: WebStack) -> None:
    insider = Browser(shared_web.url)
    await insider.sign_in(shared_web.agent_token())
    session_id = await start_chat(shared_web, "I need help with my account")
    ticket = (await ticket_of(shared_web, insider, session_id))["ticket"]
    outsider = Browser(shared_web.url)
    await outsider.sign_in(shared_web.agent_token("A-3001"))
    refused = await outsider.call("GET", f"/api/tickets/{ticket['id']}/timeline")
    assert refused.status == 403 and "you may see tickets of tech" in refused.body["error"]


async def test_transfer_and_wrap_up_leave_their_notes_on_the_session_and_only_for_work_in_hand(web: WebStack) -> None:
    session_id = await start_chat(web, "Please move me to billing")
    agent, colleague = Browser(web.url), Browser(web.url)
    await agent.sign_in(web.agent_token())
    await colleague.sign_in(web.agent_token("A-1002"))
    async with agent.socket(f"/api/desk?csrf={agent.csrf}") as desk:
        await frame(desk, "agent")
        await desk.send(json.dumps({"set_state": {"status": "available", "reason": ""}}))
        offered = await frame(desk, "offer")
        await desk.send(json.dumps({"accept": {"offer_id": offered["id"]}}))
        work = await frame(desk, "assigned")
        # A wrap-up of work this desk was never given writes nothing: routing refuses it.
        await desk.send(json.dumps({"wrap_up": {"work_id": "S-not-mine", "disposition": "resolved", "note": "x"}}))
        assert "S-not-mine" in await frame(desk, "error")
        # A follow-up: a time without its zone or an unknown channel is refused by the gateway; a
        # colleague's for a contact they never handled by routing.
        soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
        for body, words in (({"channel": "call", "due": soon[:16]}, "time zone"),
                            ({"channel": "fax", "due": soon}, "channel must be one of")):
            refused = await agent.call("POST", f"/api/work/{work['id']}/follow-up", body)
            assert refused.status == 400 and words in str(refused.body), refused.body
        refused = await colleague.call("POST", f"/api/work/{work['id']}/follow-up", {"channel": "sms", "due": soon})
        assert refused.status == 403 and "not by you" in str(refused.body), refused.body
        moved = await agent.call("POST", f"/api/work/{work['id']}/transfer", {
            "queue_id": "billing", "reason_code": "wrong_queue", "reason": "billing question"})
        assert moved.status == 200 and "warning" not in moved.body, moved.body
    # A transferred contact never goes back to the agent who moved it: a colleague takes it.
    async with colleague.socket(f"/api/desk?csrf={colleague.csrf}") as desk:
        await frame(desk, "agent")
        await desk.send(json.dumps({"set_state": {"status": "available", "reason": ""}}))
        again = await frame(desk, "offer")
        await desk.send(json.dumps({"accept": {"offer_id": again["id"]}}))
        await frame(desk, "assigned")
        await desk.send(json.dumps({"wrap_up": {"work_id": work["id"], "disposition": "resolved", "note": "done"}}))
        session = await eventually(lambda: colleague.call("GET", f"/api/sessions/{session_id}"),
                                   lambda answer: answer.body["state"] == "SESSION_STATE_ENDED", what="the end")
    notes = [(n["author_id"], n["text"]) for n in session.body["notes"]]
    assert notes == [("A-1001", "transferred to billing: billing question"), ("A-1002", "wrap-up: resolved — done")]


async def test_the_view_of_a_session_waits_for_sessions_to_hear_of_the_assignment_and_only_for_its_agent(
        web: WebStack, settings: ServiceSettings) -> None:
    """The desk hears of an offer and an assignment straight from routing; sessions hears of them
    from routing's events (under a burst of chats, seconds later). Held up here by pausing
    sessions' consumer of routing's events on the real NATS server: meanwhile sessions refuses the
    view to an agent outside the chat queue's groups, and the gateway asks again only while
    routing says the work is that agent's."""
    session_id = await start_chat(web, "Hello, anyone there?")
    holder, colleague = Browser(web.url), Browser(web.url)
    await holder.sign_in(web.agent_token())
    await colleague.sign_in(web.agent_token("A-1002"))
    nats = await nats_client.connect(settings.nats_url)
    jetstream = nats.jetstream()
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await jetstream.pause_consumer("ROUTING", "sessions-routing", pause_until=until)
    try:
        async with holder.socket(f"/api/desk?csrf={holder.csrf}") as desk:
            await frame(desk, "agent")
            await desk.send(json.dumps({"set_state": {"status": "available", "reason": ""}}))
            offered = await frame(desk, "offer")
            await desk.send(json.dumps({"accept": {"offer_id": offered["id"]}}))
            await frame(desk, "assigned")
            # A colleague naming the same work is refused at once: routing says it is not theirs.
            async with colleague.socket(f"/api/sessions/{session_id}/watch?work={session_id}"
                                        f"&csrf={colleague.csrf}") as theirs:
                assert "not in that queue's groups" in await frame(theirs, "error")
            async with holder.socket(f"/api/sessions/{session_id}/watch?work={session_id}&csrf={holder.csrf}") as mine:
                await jetstream.resume_consumer("ROUTING", "sessions-routing")
                update = await frame(mine, "update")
    finally:
        await nats.close()
    assert update["kind"] == "snapshot" and update["session"]["agent_id"] == "A-1001"


async def test_the_survey_socket_answers_only_with_the_contacts_own_token(shared_web: WebStack) -> None:
    session_id = await start_chat(shared_web, "Where is my order?")
    other = shared_web.authority.mint("visitor-2", Role.CUSTOMER, session_id="S-someone-else")
    async with Browser(shared_web.url).socket("/widget/survey") as ws:
        await ws.send(json.dumps({"answer": {"csat": 5}}))
        assert "open a survey" in await frame(ws, "error")
    async with Browser(shared_web.url).socket("/widget/survey") as ws:
        await ws.send(json.dumps({"open": {"session_id": session_id, "token": other}}))
        assert "not your conversation" in await frame(ws, "error")
    async with Browser(shared_web.url).socket("/widget/survey") as ws:
        await ws.send(json.dumps({"open": {"session_id": session_id}}))
        assert "token" in await frame(ws, "error")
    with pytest.raises(InvalidStatus):
        async with Browser(shared_web.url, origin=EVIL).socket("/widget/survey"):
            pass


async def test_supervisors_browse_the_scheduled_reports_and_agents_do_not(shared_web: WebStack) -> None:
    supervisor = Browser(shared_web.url)
    assert (await supervisor.sign_in(shared_web.authority.mint("S-1", Role.SUPERVISOR))).status == 200
    # The stack's reports replica made yesterday's, last week's and last month's reports at start.
    listed = await eventually(lambda: supervisor.call("GET", "/api/reports"),
                              lambda answer: len(answer.body.get("reports", [])) == 3, what="three reports")
    name = next(r["name"] for r in listed.body["reports"] if r["period"] == "REPORT_PERIOD_WEEK")
    weekly = await supervisor.call("GET", "/api/reports?period=week")
    assert [r["name"] for r in weekly.body["reports"]] == [name]
    page = await supervisor.call("GET", f"/api/reports/{name}/html")
    policy = page.headers["content-security-policy"]
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "sandbox" in policy and "script-src" not in policy and "default-src 'none'" in policy
    assert b"<svg" in page.body and b"<script" not in page.body
    table = await supervisor.call("GET", f"/api/reports/{name}/csv")
    assert table.headers["content-type"].startswith("text/csv") and table.body.startswith(b"dimension,key,")
    assert "attachment" in table.headers["content-disposition"]
    assert (await supervisor.call("GET", "/api/reports?period=year")).status == 400
    assert (await supervisor.call("GET", "/api/reports/day-2999-01-01/html")).status == 404
    agent = Browser(shared_web.url)
    await agent.sign_in(shared_web.agent_token())
    assert (await agent.call("GET", "/api/reports")).status == 403
    assert (await agent.call("GET", f"/api/reports/{name}/csv")).status == 403
    assert (await Browser(shared_web.url).call("GET", "/api/reports")).status == 401
async def test_the_floor_is_the_supervisors_and_only_of_their_groups_queues(shared_web: WebStack) -> None:
    agent = Browser(shared_web.url)
    await agent.sign_in(shared_web.agent_token())
    alerts = await agent.call("GET", "/api/supervisor/alerts")
    assert alerts.status == 403 and "supervisor" in alerts.body["error"]
    async with agent.socket(f"/api/supervisor/floor?csrf={agent.csrf}") as ws:
        assert "supervisor" in await frame(ws, "error")
    session_id = await start_chat(shared_web, "I need help with my account")
    whispered = await agent.call("POST", f"/api/sessions/{session_id}/whisper", {"text": "psst"})
    assert whispered.status == 403
    # Routing makes the work from sessions' event, a moment after the chat started.
    taken = await eventually(lambda: agent.call("POST", f"/api/work/{session_id}/takeover"),
                             lambda answer: answer.status != 404, what="routing's work for the chat")
    assert taken.status == 403

    tech_lead = Browser(shared_web.url)
    await tech_lead.sign_in(shared_web.token("S-9", ("tech",), Role.SUPERVISOR))
    async with tech_lead.socket(f"/api/supervisor/floor?csrf={tech_lead.csrf}") as ws:
        seen = await frame(ws, "floor")
    assert [q["queue_id"] for q in seen["queues"]] == [] and [a["agent_id"] for a in seen["agents"]] == ["A-3001"]
    boss = Browser(shared_web.url)
    await boss.sign_in(shared_web.supervisor_token())
    async with boss.socket(f"/api/supervisor/floor?csrf={boss.csrf}") as ws:
        seen = await frame(ws, "floor")
    assert {q["queue_id"] for q in seen["queues"]} == {"chat", "general", "billing", "email"}


async def test_the_floor_and_its_alerts_come_back_whole_from_a_restarted_gateway(shared_web: WebStack) -> None:
    """The gateway keeps nothing of the floor: a new gateway (another replica, or this one
    restarted) shows the same alerts, acknowledgements and queues, read from the services."""
    session_id = await start_chat(shared_web, "I am furious, this is unacceptable!!")
    boss = Browser(shared_web.url)
    await boss.sign_in(shared_web.supervisor_token())
    async with boss.socket(f"/api/supervisor/floor?csrf={boss.csrf}") as ws:
        while (alert := await frame(ws, "alert"))["alert"]["session_id"] != session_id:
            pass
    angry = alert["alert"]
    assert angry["kind"] == "ALERT_KIND_ANGRY"
    assert (await boss.call("POST", f"/api/supervisor/alerts/{angry['id']}/acknowledge")).status == 200

    async with another_gateway(shared_web) as url:
        again = Browser(url)
        again.cookie, again.csrf = boss.cookie, boss.csrf
        listed = await again.call("GET", "/api/supervisor/alerts")
        [same] = [a for a in listed.body if a["id"] == angry["id"]]
        assert same["acknowledged"] and same["acknowledged_by"] == "S-1"
        async with again.socket(f"/api/supervisor/floor?csrf={again.csrf}") as ws:
            floor = await frame(ws, "floor")
        assert "chat" in {q["queue_id"] for q in floor["queues"]}


async def test_the_desk_reaches_the_routing_replica_serving_the_agent_and_follows_it_when_it_moves(
        settings: ServiceSettings, authority: LocalIssuer, client_settings: Any) -> None:
    """Two routing replicas; the gateway is pointed at the one that does not serve the agent.
    The chat's customer is found by any of the chat's identities."""
    async with services(settings) as start_service:
        web, stop = await start_stack(start_service, settings, authority, client_settings, routing_replicas=2)
        try:
            admin = bearer(web.authority.mint("admin", Role.ADMIN))
            await create_customer(web.addresses, admin, "Wang Fang", "wang.fang@example.cn", phone="+86 138 0013 8000")
            # A signed-in visitor: the chat's first identity is the widget's handle, the second the email.
            async with Browser(web.url).socket("/widget/chat") as ws:
                await ws.send(json.dumps({"start": {"handle": "visitor-7", "display_name": "Visitor",
                                                    "identity_token": web.identity_token("wang.fang@example.cn")}}))
                session_id = (await frame(ws, "started"))["session_id"]
                await ws.send(json.dumps({"text": {"text": "I need a refund", "client_message_id": "c-1"}}))
                await frame(ws, "message")
            agent = Browser(web.url)
            await agent.sign_in(web.agent_token())
            async with agent.socket(f"/api/desk?csrf={agent.csrf}") as desk:
                await frame(desk, "agent")
                await desk.send(json.dumps({"set_state": {"status": "available", "reason": ""}}))
                offered = await frame(desk, "offer")
                assert offered["screen_pop"]["display_name"] == "Wang Fang"
                await desk.send(json.dumps({"accept": {"offer_id": offered["id"]}}))
                work = await frame(desk, "assigned")
                assert work["session_id"] == session_id
                # The replica serving the agent shuts down: the other takes the partition over, and the
                # same desk socket goes on there, the agent still holding the chat.
                await web.routing[1].stop()
                assert (await frame(desk, "assigned"))["id"] == work["id"]
                await desk.send(json.dumps({"wrap_up": {"work_id": work["id"], "disposition": "resolved", "note": ""}}))
                await eventually(lambda: agent.call("GET", f"/api/sessions/{session_id}"),
                                 lambda answer: answer.body["state"] == "SESSION_STATE_ENDED",
                                 what="the chat wrapped up")

            # The desk's own look-up: an email tickets does not know, then the phone it does.
            found = await agent.call("GET", "/api/customer-context?email=nobody%40example.cn&phone=%2B8613800138000")
            assert found.status == 200 and found.body["customer"]["display_name"] == "Wang Fang"
            missing = await agent.call("GET", "/api/customer-context?email=nobody%40example.cn")
            assert missing.status == 404
        finally:
            await stop()
