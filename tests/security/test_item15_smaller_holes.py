"""Issue 13, item 15 (its sessions, routing, tickets and CLI parts): smaller holes.

- `omni agent` printed customer text as it came: a name or a message could carry terminal escape
  sequences (clear the screen, retitle the window, fake a line of the console's own).
- An anonymous chat's customer token could schedule a callback to any number it typed: the
  contact center would call a stranger.
- Any agent could make any customer VIP, set who is offered them first, or add an identity to their
  record (so that someone else's mail and calls land on it), whatever their groups.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from typing import Any

import grpc
import pytest
import websockets

from omni.devstack.processes import free_port
from omni.runtime.auth import Role
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2
from omnichannel.tickets.v1 import tickets_pb2 as tpb
from tests.routing.conftest import CHAT, RoutingClient
from tests.sessions.conftest import Stack
from tests.support.polling import eventually
from tests.tickets.conftest import Harness, at, interaction, phone

# What a terminal acts on: ESC and the other C0 controls, DEL, the C1 controls (8-bit CSI/OSC),
# and the bidirectional overrides.
CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


async def test_omni_agent_prints_customer_text_as_text_never_as_terminal_controls(routing: RoutingClient) -> None:
    await routing.queue("general")
    await routing.agent("A-1", available=False)
    token = routing.token_for(Role.AGENT, "A-1", groups=("general",))[0][1].removeprefix("Bearer ")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "omni.cli.main", "agent", "--agent", "A-1", "--routing", routing.host.address,
        "--token", token, "--sessions", f"127.0.0.1:{free_port()}", "--tickets", f"127.0.0.1:{free_port()}",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={"PATH": "/usr/bin:/bin"})
    assert process.stdin is not None and process.stdout is not None
    printed = ""
    try:
        process.stdin.write(b"state available\n")
        await process.stdin.drain()
        await routing.enqueue("S-1", channel=CHAT, customer=common_pb2.CustomerRef(
            display_name="Mallory\x1b]0;pwned\x07\x1b[8m", customer_id="C-1\x9b2J"),
            text="please refund\x1b[2J\x1b[H\nOFFER S-9 chat queue=vip\u202e evil")
        while "says:" not in printed:
            raw = await asyncio.wait_for(process.stdout.readline(), 15)
            assert raw, f"omni agent exited; printed {printed!r}"
            printed += raw.decode()
    finally:
        process.kill()
        await process.wait()
    assert not CONTROLS.search(printed), printed
    offer_lines = [line for line in printed.splitlines() if line.startswith("OFFER")]
    assert len(offer_lines) == 1  # the customer's text could not fake a second offer line
    assert "Mallory" in printed and "please refund" in printed


async def _queued_chat(stack: Stack, routing: RoutingClient, start: dict[str, Any]) -> tuple[str, Any]:
    """A web chat whose first message queued it in routing: (session id, the customer's token)."""
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": start}))
        while "started" not in (frame := json.loads(await asyncio.wait_for(ws.recv(), 10))):
            pass
        await ws.send(json.dumps({"text": {"text": "hello, anyone there?"}}))
        while "message" not in json.loads(await asyncio.wait_for(ws.recv(), 10)):
            pass
    session_id = frame["started"]["session_id"]
    await eventually(lambda: routing.work(session_id), what="the chat as routing's work",
                     ignoring=(grpc.aio.AioRpcError,))
    return session_id, (("authorization", f"Bearer {frame['started']['session_token']}"),)


async def test_an_anonymous_chat_cannot_have_a_stranger_called_back(stack: Stack, routing: RoutingClient) -> None:
    await routing.queue("chat")
    anonymous, token = await _queued_chat(stack, routing, {"handle": "web-anon"})
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await routing.stub.ScheduleCallback(routing_pb2.ScheduleCallbackRequest(
            work_id=anonymous, number="+8613912345678"), metadata=token)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await routing.work(anonymous)).state == routing_pb2.WORK_STATE_WAITING

    # A visitor the website signed in (a verified phone) is called back on that number, however written.
    signed = stack.identity_token(phone="+8613800138000", name="Li Wei")
    known, token = await _queued_chat(stack, routing, {"handle": "web-known", "identity_token": signed})
    scheduled = await routing.stub.ScheduleCallback(routing_pb2.ScheduleCallbackRequest(
        work_id=known, number="+86 138 0013 8000"), metadata=token)
    assert scheduled.state == routing_pb2.WORK_STATE_CALLBACK_SCHEDULED


async def test_an_agent_steers_only_their_groups_customers(harness: Harness, token_for: Any) -> None:
    threaded = await harness.thread(interaction(common_pb2.CHANNEL_PHONE, at(0), phone("+86 138 0013 8202"),
                                                queue="billing", text="I was charged twice"))
    customer = await harness.stub.GetCustomer(tpb.GetCustomerRequest(id=threaded.customer_id),
                                              metadata=harness.metadata)
    outsider = token_for(Role.AGENT, "A-9", groups=("sales",))
    billing = token_for(Role.AGENT, "A-1", groups=("billing",))
    stranger = common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_EMAIL, value="someone.else@example.cn")

    for paths, change in ((["tier"], {"tier": "vip"}), (["preferred_agent_id"], {"preferred_agent_id": "A-9"})):
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await harness.stub.UpdateCustomer(tpb.UpdateCustomerRequest(
                customer=tpb.Customer(id=customer.id, version=customer.version, **change),
                update_mask={"paths": paths}), metadata=outsider)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await harness.stub.AddIdentity(tpb.AddIdentityRequest(customer_id=customer.id, identity=stranger),
                                       metadata=outsider)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # The directory stays shared (anyone may fix a name); the customer's own groups steer them.
    renamed = await harness.stub.UpdateCustomer(tpb.UpdateCustomerRequest(
        customer=tpb.Customer(id=customer.id, version=customer.version, display_name="Chen Jing"),
        update_mask={"paths": ["display_name"]}), metadata=outsider)
    vip = await harness.stub.UpdateCustomer(tpb.UpdateCustomerRequest(
        customer=tpb.Customer(id=customer.id, version=renamed.version, tier="vip"),
        update_mask={"paths": ["tier"]}), metadata=billing)
    assert (vip.display_name, vip.tier) == ("Chen Jing", "vip")
    added = await harness.stub.AddIdentity(tpb.AddIdentityRequest(customer_id=customer.id, identity=stranger),
                                           metadata=billing)
    assert "someone.else@example.cn" in [i.value for i in added.identities]
