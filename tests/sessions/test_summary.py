"""The draft summary at wrap-up: the transcript's own sentences for the customer's issue, what was
done and what was promised (dates and order numbers kept as said), in Chinese and English; kept
on the conversation as a summary note by whoever may write its notes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
import websockets

from omni.runtime.auth import Role
from omni.sessions.domain.summary import Turn, summarise
from omnichannel.sessions.v1 import events_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb

ROOT = Path(__file__).resolve().parents[2]
CONVERSATIONS = json.loads((ROOT / "tests" / "data" / "summary_conversations.json").read_text())


def _summary(number: int):  # type: ignore[no-untyped-def]
    conversation = CONVERSATIONS[number]
    turns = [Turn(customer=side == "customer", text=text) for side, text in conversation["turns"]]
    return summarise(turns, conversation["language"])


def test_english_chat_keeps_the_order_number_the_refund_and_the_promised_dates() -> None:
    summary = _summary(0)
    assert any("A-20931" in s and "November 28" in s for s in summary.issue)
    assert any("refunded the duplicate payment" in s for s in summary.done)
    assert any("within 5 business days" in s for s in summary.promised)
    assert not any("Bye" in s or "welcome" in s for s in (*summary.issue, *summary.done, *summary.promised))
    assert summary.text().splitlines()[0].startswith("Issue: ")


def test_chinese_chat_is_summarised_in_chinese_with_its_order_number_and_deadlines() -> None:
    summary = _summary(1)
    assert summary.language == "zh" and summary.text().startswith("客户问题: ")
    assert any("98127734" in s and "没有收到" in s for s in summary.issue)
    assert any("已经联系了快递公司" in s for s in summary.done)
    assert any("3个工作日内" in s for s in summary.promised)
    assert not any(s in ("你好", "好的，谢谢") for s in summary.issue)


def test_quoted_mail_history_is_not_taken_as_something_said_again() -> None:
    summary = _summary(2)
    everything = (*summary.issue, *summary.done, *summary.promised)
    assert not any(s.startswith(">") for s in everything)
    assert any("#48213" in s for s in summary.issue)
    assert any("by Friday" in s for s in summary.promised)


def test_an_empty_or_silent_conversation_gives_an_empty_draft_not_an_error() -> None:
    assert summarise([]).text() == "Issue: —\nDone: —\nPromised: —"
    assert summarise([Turn(customer=True, text="你好")], "zh").text() == "客户问题: 无\n已处理: 无\n承诺: 无"


def test_the_documented_examples_are_the_summariser_s_current_output() -> None:
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "summary_examples.py"), "--check"],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


async def test_an_agent_drafts_edits_and_keeps_the_summary_on_the_conversation(stack, published) -> None:
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": "web-sum", "language": "en"}}))
        session_id = json.loads(await ws.recv())["started"]["session_id"]
        await ws.send(json.dumps({"text": {"text": "My parcel for order A-77123 never arrived.",
                                           "client_message_id": "c1"}}))
        await published.wait("interaction_received", events_pb2.InteractionReceived)
    agent = stack.token(Role.AGENT, "A-1", groups=("chat",))
    await stack.sessions.SendReply(pb.SendReplyRequest(
        session_id=session_id, text="I have reshipped it today. It will arrive by Monday.", request_id="r1"),
        metadata=agent)

    draft = await stack.sessions.DraftSummary(pb.DraftSummaryRequest(session_id=session_id), metadata=agent)
    assert draft.issue == ["My parcel for order A-77123 never arrived."]
    assert "It will arrive by Monday." in draft.promised and "I have reshipped it today." in draft.done
    edited = draft.text + "\nCustomer prefers email."
    kept = await stack.sessions.AddSessionNote(pb.AddSessionNoteRequest(
        session_id=session_id, text=edited, request_id="summary-1", kind=pb.SESSION_NOTE_KIND_SUMMARY),
        metadata=agent)
    assert (kept.kind, kept.text) == (pb.SESSION_NOTE_KIND_SUMMARY, edited)
    session = await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id),
                                              metadata=stack.token(Role.SUPERVISOR, "S-1"))
    assert [(n.kind, n.text) for n in session.notes] == [(pb.SESSION_NOTE_KIND_SUMMARY, edited)]

    outsider = stack.token(Role.AGENT, "A-8", groups=("sales",))
    customer = stack.token(Role.CUSTOMER, "web-sum", session_id=session_id)
    for metadata in (outsider, customer):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stack.sessions.DraftSummary(pb.DraftSummaryRequest(session_id=session_id), metadata=metadata)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.sessions.AddSessionNote(pb.AddSessionNoteRequest(
            session_id=session_id, text="x", kind=pb.SESSION_NOTE_KIND_BOT_HANDOFF), metadata=agent)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.sessions.DraftSummary(pb.DraftSummaryRequest(session_id="S-nope"), metadata=agent)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
