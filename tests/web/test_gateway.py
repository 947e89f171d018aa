"""The gateway's security model, over real HTTP and WebSockets against the real services:
it never lets a browser user do more than their own token allows."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from omni.devstack.local_issuer import LocalIssuer
from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from tests.conftest import StartService
from tests.web.client import Browser, frame
from tests.web.stack import WebStack, start_stack

EVIL = "http://evil.example"


async def start_chat(web: WebStack, text: str) -> str:
    """A visitor on the gateway's demo site says `text`; the chat's session id."""
    async with Browser(web.url).socket("/widget/chat") as ws:
        await ws.send(json.dumps({"start": {"handle": "visitor-1", "display_name": "Visitor"}}))
        started = await frame(ws, "started")
        await ws.send(json.dumps({"text": {"text": text, "client_message_id": "c-1"}}))
        await frame(ws, "message")
        return str(started["session_id"])


async def test_sign_in_sets_an_http_only_strict_cookie_and_the_desk_reads_with_it(web: WebStack) -> None:
    browser = Browser(web.url)
    answer = await browser.sign_in(web.agent_token())
    assert answer.status == 200
    assert answer.body["display_name"] == "Li Wei"
    cookie = answer.cookies["omni_desk"]
    assert cookie["httponly"] and cookie["samesite"].lower() == "strict"
    me = await browser.call("GET", "/api/me")
    assert me.status == 200 and me.body["subject"] == "A-1001" and me.body["csrf"] == browser.csrf


async def test_every_answer_carries_the_security_headers(web: WebStack) -> None:
    for path in ("/desk/", "/api/me", "/widget/widget.js"):
        headers = (await Browser(web.url).call("GET", path)).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
    assert (await Browser(web.url).call("GET", "/widget/widget.js")).headers[
        "cross-origin-resource-policy"] == "cross-origin"


async def test_changes_without_the_csrf_token_of_this_sign_in_are_refused(web: WebStack) -> None:
    session_id = await start_chat(web, "I need help with my account")
    browser = Browser(web.url)
    await browser.sign_in(web.agent_token())
    other = Browser(web.url)
    await other.sign_in(web.agent_token("A-1002"))
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


async def test_requests_from_another_origin_are_refused(web: WebStack) -> None:
    assert (await Browser(web.url, origin=EVIL).sign_in(web.agent_token())).status == 403
    browser = Browser(web.url)
    await browser.sign_in(web.agent_token())
    browser.origin = EVIL
    assert (await browser.call("POST", "/api/signout")).status == 403
    for path in (f"/api/desk?csrf={browser.csrf}", "/widget/chat"):
        with pytest.raises(InvalidStatus) as refused:
            async with browser.socket(path):
                pass
        assert refused.value.response.status_code == 403, path


async def test_the_widget_is_accepted_from_configured_sites_only(start_service: StartService,
                                                                 settings: ServiceSettings, authority: LocalIssuer,
                                                                 client_settings: Any) -> None:
    web, stop = await start_stack(start_service, settings, authority, client_settings,
                                  web_site_origins=("https://shop.example",))
    try:
        async with Browser(web.url, origin="https://shop.example").socket("/widget/chat") as ws:
            await ws.send(json.dumps({"start": {"handle": "shop-visitor"}}))
            assert (await frame(ws, "started"))["session_token"]
        with pytest.raises(InvalidStatus):
            async with Browser(web.url, origin="https://shop.example.evil.example").socket("/widget/chat"):
                pass
    finally:
        await stop()


async def test_an_agent_cannot_reach_another_groups_session_through_the_gateway(web: WebStack) -> None:
    session_id = await start_chat(web, "I need help with my account")
    outsider = Browser(web.url)
    assert (await outsider.sign_in(web.agent_token("A-3001"))).status == 200
    seen = await outsider.call("GET", f"/api/sessions/{session_id}")
    assert seen.status == 403 and "groups" in seen.body["error"]
    replied = await outsider.call("POST", f"/api/sessions/{session_id}/replies", {"text": "hello"})
    assert replied.status == 403
    async with outsider.socket(f"/api/sessions/{session_id}/watch?csrf={outsider.csrf}") as ws:
        assert "groups" in await frame(ws, "error")
    insider = Browser(web.url)
    await insider.sign_in(web.agent_token())
    assert (await insider.call("GET", f"/api/sessions/{session_id}")).status == 200


async def test_customer_tokens_and_oversized_bodies_are_refused(web: WebStack) -> None:
    customer = web.authority.mint("visitor", Role.CUSTOMER, session_id="S-1")
    refused = await Browser(web.url).sign_in(customer)
    assert refused.status == 403 and "cannot sign in" in refused.body["error"]
    assert (await Browser(web.url).sign_in("not-a-token")).status == 401
    browser = Browser(web.url)
    await browser.sign_in(web.agent_token())
    big = await browser.call("POST", "/api/sessions/S-1/notes", raw=b'{"text": "' + b"x" * 70_000 + b'"}')
    assert big.status == 413
