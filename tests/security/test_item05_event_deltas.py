"""Issue 13, item 5: events carry deltas, not transcripts.

Before, every live update and every session_state_changed carried the whole session. Once a long
email thread passed NATS's 1 MiB payload limit, its next mail could no longer be published: SMTP
answered 451 for ever and the session was stuck. Now an event carries one change, what one mail
brings is capped, a session keeps its newest messages, and an event the bus cannot take is
refused for good (554), never retried."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import grpc
import pytest

from omni.devstack.processes import ManagedProcess, executable, free_port, wait_for_port
from omni.runtime import outbox, storage
from omni.runtime.auth import Role
from omni.runtime.clock import utcnow
from omni.runtime.events import EventBus
from omni.sessions.publishing import DOMAIN, PAYLOADS
from omni.sessions.service import SPEC
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1 import events_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb
from omnichannel.tickets.v1 import tickets_pb2 as tpb
from tests.sessions.conftest import Stack
from tests.support.events import EventRecorder
from tests.tickets.conftest import Harness, at, interaction, phone

NATS_MAX_PAYLOAD = 1024 * 1024


def _mail(number: int, body: str, *, thread: list[str], to: str = "support@example.com") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Li Wei <li.wei@customer.cn>"
    mail["To"] = to
    mail["Subject"] = "Re: the contract, again"
    mail["Message-ID"] = f"<thread-{number}@customer.cn>"
    if thread:
        mail["In-Reply-To"] = thread[-1]
        mail["References"] = " ".join(thread)
    mail.set_content(body)
    return mail


def _send(port: int, mail: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.send_message(mail, from_addr="li.wei@customer.cn", to_addrs=["support@example.com"])


def _body(number: int, chars: int) -> str:
    return f"Mail {number}:\n" + "".join(f"line {number}.{i:05} of the contract\n" for i in range(chars // 30))


async def _reply(stack: Stack, thread: list[str], chars: int) -> None:
    """The thread's next mail, with `chars` characters of its own."""
    number = len(thread)
    await asyncio.to_thread(_send, stack.smtp_port, _mail(number, _body(number, chars), thread=thread))
    thread.append(f"<thread-{number}@customer.cn>")


@pytest.mark.slow
async def test_a_thread_longer_than_a_nats_message_takes_every_mail_and_publishes_only_changes(
        stack: Stack, published: EventRecorder) -> None:
    # 14 mails of 90 KB: 1.3 MB of conversation, past the 1 MiB a NATS message may carry.
    staff = stack.token(Role.SUPERVISOR, "S-1")
    thread: list[str] = []
    await _reply(stack, thread, 90_000)
    [opened] = await published.wait("interaction_received", events_pb2.InteractionReceived)
    session_id = opened.interaction.session_id
    watch = stack.sessions.WatchSession(pb.WatchSessionRequest(session_id=session_id), metadata=staff)
    assert (await asyncio.wait_for(watch.read(), 10)).kind == "snapshot"
    while len(thread) < 14:
        # Every mail is taken (before: 451 from the mail whose update outgrew the bus, for ever).
        await _reply(stack, thread, 90_000)

    received = await published.wait("interaction_received", events_pb2.InteractionReceived, count=14)
    assert {r.interaction.email.message_id for r in received} == set(thread)
    assert {r.interaction.session_id for r in received} == {session_id}
    [queued] = published.payloads("session_state_changed", events_pb2.SessionStateChanged)
    assert queued.session.id == session_id and queued.session.state == pb.SESSION_STATE_QUEUED
    assert not queued.session.messages and not queued.answered  # the change, not the transcript
    assert max(len(e.SerializeToString()) for e in published.envelopes) < NATS_MAX_PAYLOAD // 4

    # The watcher was told of the last mail, by an update carrying that mail alone.
    last = None
    while last is None or last.message.id != received[-1].interaction.id:
        last = await asyncio.wait_for(watch.read(), 10)
    assert last.kind == "message" and not last.session.messages
    watch.cancel()
    session = await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=staff)
    assert len(session.messages) == 14 and session.earlier_messages == 0


@pytest.fixture
async def short_memory(start_service: Any, stack: Stack) -> AsyncIterator[Stack]:
    """A second sessions service sharing the stack's database, keeping 250 KB of transcript and
    listing 100 KB of it per page."""
    own = dataclasses.replace(stack.settings, session_max_transcript_bytes=250_000, session_list_max_bytes=100_000,
                              smtp_listen=f"127.0.0.1:{free_port()}", websocket_listen="")
    host = await start_service(SPEC, settings_override=own)
    async with grpc.aio.insecure_channel(host.address) as channel:
        yield dataclasses.replace(stack, host=host, settings=own, channel=channel)


async def test_a_session_keeps_its_newest_messages_and_one_mail_brings_no_more_than_its_limits(
        short_memory: Stack, published: EventRecorder) -> None:
    staff = short_memory.token(Role.SUPERVISOR, "S-1")
    thread: list[str] = []
    while len(thread) < 5:
        await _reply(short_memory, thread, 90_000)
    received = await published.wait("interaction_received", events_pb2.InteractionReceived, count=5)
    session = await short_memory.sessions.GetSession(pb.GetSessionRequest(id=received[0].interaction.session_id),
                                                     metadata=staff)
    # 450 KB of mail: the newest that fit in 250 KB stay, the session counts the others.
    assert [m.id for m in session.messages] == [r.interaction.id for r in received][-len(session.messages):]
    assert 1 <= len(session.messages) < 5 and session.earlier_messages == 5 - len(session.messages)

    # A hostile mail: 500 references, 300 addressees, a 1 MB HTML part.
    mail = _mail(99, "see the table", thread=[f"<old-{i}@customer.cn>" for i in range(500)],
                 to=", ".join(f"person{i}@customer.cn" for i in range(300)))
    mail.add_alternative("<table>" + "<tr><td>row</td></tr>" * 50_000 + "</table>", subtype="html")
    await asyncio.to_thread(_send, short_memory.smtp_port, mail)
    [hostile] = await published.wait("interaction_received", events_pb2.InteractionReceived,
                                      where=lambda e: e.interaction.email.message_id == "<thread-99@customer.cn>")
    email = hostile.interaction.email
    assert len(email.references) == 50 and email.references[0] == "<old-0@customer.cn>"
    assert email.references[-1] == "<old-499@customer.cn>"
    assert len(email.to) == 100
    assert any("HTML body" in d for d in email.defects) and any("References" in d for d in email.defects)

    # A page of sessions ends early rather than outgrow a response; the next page goes on from there.
    pages, token = [], ""
    while True:
        page = await short_memory.sessions.ListSessions(pb.ListSessionsRequest(page_size=50, page_token=token),
                                                        metadata=staff)
        pages.append([s.id for s in page.sessions])
        if not (token := page.next_page_token):
            break
    listed = sorted(session_id for page_ids in pages for session_id in page_ids)
    assert len(pages) == 2 and listed == sorted({session.id, hostile.interaction.session_id})


@pytest.fixture
def small_nats(tmp_path: Path) -> Any:
    """A nats-server taking messages of 64 KiB at most."""
    port = free_port()
    config = tmp_path / "nats.conf"
    config.write_text(f"port: {port}\nhost: 127.0.0.1\nmax_payload: 65536\n"
                      f"jetstream {{ store_dir: {tmp_path / 'js'} }}\n")
    proc = ManagedProcess("nats", [executable("nats-server"), "-c", str(config)], url=f"nats://127.0.0.1:{port}")
    proc.start()
    assert proc.process is not None
    wait_for_port(port, proc.process, "nats-server")
    yield proc
    proc.stop()


async def test_an_event_the_bus_cannot_take_is_refused_for_good_not_retried(
        small_nats: ManagedProcess, start_service: Any, stack: Stack) -> None:
    # (small_nats first: it has to outlive the service started on it.)
    own = dataclasses.replace(stack.settings, nats_url=small_nats.url, smtp_listen=f"127.0.0.1:{free_port()}",
                              websocket_listen="")
    small = dataclasses.replace(stack, host=await start_service(SPEC, settings_override=own), settings=own)
    # 30,000 Chinese characters are 90 KB of UTF-8: an interaction the bus cannot carry.
    mail = _mail(1, "合同" * 15_000, thread=[])
    for _ in range(2):  # a retry gets the same permanent answer
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(_send, small.smtp_port, mail)
        assert refused.value.smtp_code == 554 and b"cannot be published" in refused.value.smtp_error

    # An event that became too large after it was stored (the server's limit was lowered) is set
    # aside by the relay instead of being tried again and again.
    bus = await EventBus.connect(small_nats.url, "test")
    client = storage.connect(own.mongo_url)
    try:
        collection = client[own.mongo_database]["outbox_probe"]
        oversize = events_pb2.InteractionReceived()
        oversize.interaction.text = "x" * 100_000
        entry = {"id": "E-1", "type": "interaction_received", "subject": "sessions/S-1",
                 "payload": oversize.SerializeToString(), "at": utcnow()}
        await collection.insert_one({"_id": "S-1", outbox.FIELD: [entry]})
        relay = outbox.Outbox(collection, bus, DOMAIN, PAYLOADS)
        assert await relay.relay_once(grace=0) == 1
        stored = await collection.find_one({"_id": "S-1"})
        assert stored is not None and stored[outbox.FIELD] == []
        assert [e["id"] for e in stored[outbox.FAILED_FIELD]] == ["E-1"]
        assert await relay.relay_once(grace=0) == 0
    finally:
        await bus.close()
        await client.close()


@pytest.mark.slow
async def test_a_long_ticket_shows_its_newest_interactions_within_one_response(harness: Harness) -> None:
    # 20 long chats of 300 KB on one ticket: 6 MB, more than a gRPC client takes in one response (4 MiB).
    caller = phone("+86 138 0013 8303")
    threaded = [await harness.thread(interaction(common_pb2.CHANNEL_CHAT, at(n), caller, queue="billing",
                                                 text=f"mail {n}: " + "the contract again. " * 15_000))
                for n in range(20)]
    assert len({t.ticket_id for t in threaded}) == 1
    ticket = await harness.stub.GetTicket(tpb.GetTicketRequest(id=threaded[0].ticket_id), metadata=harness.metadata)
    assert ticket.interaction_count == 20
    shown = [i.id for i in ticket.interactions]
    assert 1 <= len(shown) < 20 and shown == [t.interaction_id for t in threaded][-len(shown):]
