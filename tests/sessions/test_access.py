"""Who may do what on the sessions service: a token on every call, agents held to their groups'
sessions and to themselves, customers to their own conversation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest
import websockets

from omni.runtime.auth import Role
from omni.sessions.service import ACCESS
from omnichannel.sessions.v1 import sessions_pb2 as pb
from tests.rpc_access import assert_every_rpc_needs_a_token, assert_table_matches_protos


async def chat(stack: Any, handle: str, text: str) -> tuple[str, str]:
    """A web chat whose first message queued it: (session id, the customer's session token)."""
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": handle}}))
        while "started" not in (frame := json.loads(await asyncio.wait_for(ws.recv(), 10))):
            pass
        await ws.send(json.dumps({"text": {"text": text}}))
        while "message" not in json.loads(await asyncio.wait_for(ws.recv(), 10)):
            pass
    return frame["started"]["session_id"], frame["started"]["session_token"]


async def denied(call: Any) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED, failure.value.details()
    return failure.value.details() or ""


async def test_every_rpc_has_a_rule_and_needs_a_token(stack: Any) -> None:
    assert_table_matches_protos(ACCESS, pb.DESCRIPTOR)
    await assert_every_rpc_needs_a_token(stack.host.address, pb.DESCRIPTOR)


async def test_agents_of_other_groups_and_other_customers_reach_nothing_of_a_session(stack: Any) -> None:
    session_id, _ = await chat(stack, "web-1", "My internet is not working!")  # → queue tech_internet
    other_id, other_token = await chat(stack, "web-2", "My internet is down too")
    billing = stack.token(Role.AGENT, "A-1", groups=("billing",))
    sessions = stack.sessions
    await denied(sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=billing))
    await denied(sessions.WatchSession(pb.WatchSessionRequest(session_id=session_id), metadata=billing).read())
    await denied(sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="hi"), metadata=billing))
    await denied(sessions.AddSessionNote(pb.AddSessionNoteRequest(session_id=session_id, text="n"), metadata=billing))
    assert (await sessions.ListSessions(pb.ListSessionsRequest(), metadata=billing)).sessions == []

    # Held by A-2: another agent of the same group reads it but does not answer in it.
    supervisor = stack.token(Role.SUPERVISOR, "S-1")
    await sessions.UpdateSessionState(pb.UpdateSessionStateRequest(
        session_id=session_id, state=pb.SESSION_STATE_CONNECTED, agent_id="A-2"), metadata=supervisor)
    colleague = stack.token(Role.AGENT, "A-3", groups=("tech_internet",))
    assert (await sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=colleague)).agent_id == "A-2"
    assert "A-2" in await denied(sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="hi"),
                                                    metadata=colleague))

    customer = stack.token(Role.CUSTOMER, "web-1", session_id=session_id)
    await denied(sessions.WatchSession(pb.WatchSessionRequest(session_id=other_id), metadata=customer).read())
    resume = stack.chat.Chat(iter([pb.ChatClientFrame(resume=pb.ChatResume(session_token=other_token))]),
                             metadata=customer)
    frame = await asyncio.wait_for(resume.read(), 10)
    assert "your token is for session" in frame.error


async def test_an_agent_names_only_themselves_as_the_sessions_agent(stack: Any) -> None:
    session_id, _ = await chat(stack, "web-3", "My internet is not working!")
    agent = stack.token(Role.AGENT, "A-1", groups=("tech_internet",))
    to_someone_else = pb.UpdateSessionStateRequest(session_id=session_id, state=pb.SESSION_STATE_CONNECTED,
                                                   agent_id="A-2")
    assert "A-2" in await denied(stack.sessions.UpdateSessionState(to_someone_else, metadata=agent))
    own = await stack.sessions.UpdateSessionState(pb.UpdateSessionStateRequest(
        session_id=session_id, state=pb.SESSION_STATE_CONNECTED, agent_id="A-1"), metadata=agent)
    assert own.agent_id == "A-1"


async def test_a_watch_ends_when_the_session_is_handed_to_someone_the_watcher_may_not_follow(stack: Any) -> None:
    session_id, _ = await chat(stack, "web-4", "My internet is not working!")  # tech_internet
    supervisor = stack.token(Role.SUPERVISOR, "S-1")

    async def hand_to(agent_id: str) -> None:
        await stack.sessions.UpdateSessionState(pb.UpdateSessionStateRequest(
            session_id=session_id, state=pb.SESSION_STATE_CONNECTED, agent_id=agent_id), metadata=supervisor)

    await hand_to("A-9")  # transferred to A-9 personally, though A-9 is not in tech_internet
    watcher = stack.token(Role.AGENT, "A-9", groups=("billing",))
    watch = stack.sessions.WatchSession(pb.WatchSessionRequest(session_id=session_id), metadata=watcher)
    assert (await asyncio.wait_for(watch.read(), 10)).kind == "snapshot"
    await hand_to("A-7")
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        await asyncio.wait_for(watch.read(), 10)
    assert ended.value.code() == grpc.StatusCode.PERMISSION_DENIED and "A-7" in (ended.value.details() or "")


async def test_an_agent_paging_through_sessions_sees_only_their_groups_and_their_own(stack: Any) -> None:
    pbx, supervisor = stack.token(Role.SERVICE, "pbx"), stack.token(Role.SUPERVISOR, "S-1")

    async def call(number: int, digits: str) -> pb.Session:
        request = pb.StartCallRequest(call_id=f"call-{number}", ani=f"1380013{number:04d}")
        session = (await stack.telephony.StartCall(request, metadata=pbx)).session
        if digits:  # 1: billing, 21: tech_internet, 3: sales
            input_ = pb.SubmitIvrInputRequest(call_id=f"call-{number}", digits=digits)
            session = (await stack.telephony.SubmitIvrInput(input_, metadata=pbx)).session
        return session

    async def hand_to(session: pb.Session, agent_id: str) -> pb.Session:
        return await stack.sessions.UpdateSessionState(pb.UpdateSessionStateRequest(
            session_id=session.id, state=pb.SESSION_STATE_CONNECTED, agent_id=agent_id), metadata=supervisor)

    billing = [await call(n, "1") for n in range(3)]
    internet = [await call(n, "21") for n in range(3, 5)]
    sales = [await call(n, "3") for n in range(5, 8)]
    in_the_ivr = await call(8, "")  # in no queue yet
    billing[0] = await hand_to(billing[0], "A-2")  # a colleague's, still in a queue of A-1's groups
    mine = await hand_to(sales[0], "A-1")  # assigned to A-1, in a queue outside A-1's groups

    agent = stack.token(Role.AGENT, "A-1", groups=("billing", "tech_internet"))

    async def every_page(**filters: Any) -> list[list[pb.Session]]:
        pages, token = [], ""
        while True:
            page = await stack.sessions.ListSessions(pb.ListSessionsRequest(page_size=2, page_token=token, **filters),
                                                     metadata=agent)
            pages.append(list(page.sessions))
            if not (token := page.next_page_token):
                return pages

    pages = await every_page()
    assert len(pages) == 3 and all(len(page) <= 2 for page in pages)
    seen = [s.id for page in pages for s in page]
    assert sorted(seen) == sorted(s.id for s in [*billing, *internet, mine])
    assert all(s.queue in ("billing", "tech_internet") or s.agent_id == "A-1" for page in pages for s in page)
    assert in_the_ivr.id not in seen and sales[1].id not in seen and sales[2].id not in seen
    # The list and the check of a single session agree.
    for session_id in seen:
        await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=agent)
    for hidden in (in_the_ivr, sales[1], sales[2]):
        await denied(stack.sessions.GetSession(pb.GetSessionRequest(id=hidden.id), metadata=agent))

    # Asking for a queue outside the agent's groups lists only what is assigned to them there.
    assert [s.id for page in await every_page(queue="sales") for s in page] == [mine.id]
