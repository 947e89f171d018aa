"""Issue 13, item 10: sessions loses no state event.

Before, a change was stored and then published; when the publish failed (NATS down, the process
killed) the sender's retry found the stored mail or chat message and published its
interaction_received again, but never its session_state_changed: routing and reports never
learnt the session was queued (41 of 300 mails in a 15 s NATS outage). Now the events are stored
with the change (an outbox) and published by whoever comes next: the retry, or the relay."""

from __future__ import annotations

import asyncio
import json
import os
import smtplib
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import websockets
from nats.errors import TimeoutError as PublishTimedOut

from omni.devstack.processes import ManagedProcess, free_port, wait_for_port
from omni.runtime.config import ServiceSettings
from omni.runtime.events import EventBus, stream_name, unpack
from omnichannel.common.v1.event_pb2 import EventEnvelope
from omnichannel.sessions.v1 import events_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb
from tests.sessions.conftest import Stack
from tests.support.polling import eventually

KILLED_BEFORE_PUBLISH = Path(__file__).with_name("sessions_killed_before_publish.py")


async def _stored_events(nats_url: str) -> list[EventEnvelope]:
    """Every event the SESSIONS stream holds (what consumers get), oldest first."""
    bus = await EventBus.connect(nats_url, "test-reader")
    try:
        stream = stream_name("sessions")
        state = (await bus.js.stream_info(stream)).state
        return [EventEnvelope.FromString((await bus.js.get_msg(stream, seq)).data)
                for seq in range(state.first_seq, state.last_seq + 1) if state.last_seq]
    finally:
        await bus.close()


def _queued_sessions(events: list[EventEnvelope]) -> set[str]:
    return {unpack(e, events_pb2.SessionStateChanged).session.id for e in events
            if e.type == "session_state_changed"
            and unpack(e, events_pb2.SessionStateChanged).session.state == pb.SESSION_STATE_QUEUED}


def _mail(number: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"customer{number}@customer.cn"
    mail["To"] = "support@example.com"
    mail["Subject"] = f"Order {number} has not arrived"
    mail["Message-ID"] = f"<order-{number}@customer.cn>"
    mail.set_content(f"Where is my order {number}?")
    return mail


def _deliver(port: int, mail: EmailMessage, *, until: float = 120.0) -> int:
    """Send as a sending MTA does: after a 4xx or a lost connection, again a little later.
    Returns the number of tries it took."""
    tries = 0
    while True:
        tries += 1
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.send_message(mail, from_addr=str(mail["From"]), to_addrs=["support@example.com"])
            return tries
        except (smtplib.SMTPDataError, smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            if isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500:
                raise
            if tries * 0.3 > until:
                raise
            time.sleep(0.3)


@pytest.mark.slow
@pytest.mark.soak
async def test_every_state_event_reaches_the_stream_after_a_nats_outage_under_a_stream_of_mail(
        stack: Stack, nats: ManagedProcess) -> None:
    total = 40

    async def sender() -> list[int]:
        tries = []
        for number in range(total):
            tries.append(await asyncio.to_thread(_deliver, stack.smtp_port, _mail(number)))
            await asyncio.sleep(0.25)
        return tries

    sending = asyncio.create_task(sender())
    await asyncio.sleep(1.0)
    # Mid-stream, longer than a publish waits for its acknowledgement (5 s): mails stored now
    # cannot be published, and their senders are told to try again later.
    nats.stop()
    await asyncio.sleep(8.0)
    nats.start()
    assert nats.process is not None
    wait_for_port(int(nats.url.rsplit(":", 1)[1]), nats.process, "nats-server")
    tries = await sending
    assert any(t > 1 for t in tries), "the outage did not hit the stream of mail"

    async def queued() -> set[str]:
        return _queued_sessions(await _stored_events(nats.url))

    async def received() -> set[str]:
        return {unpack(e, events_pb2.InteractionReceived).interaction.email.message_id
                for e in await _stored_events(nats.url) if e.type == "interaction_received"}

    await eventually(received, lambda ids: len(ids) == total, what="every mail's interaction in the stream")
    # Every mail opened a session that became queued; each of those transitions reached the stream.
    found = await eventually(queued, lambda ids: len(ids) == total, what="every mail's state event in the stream",
                             within=30)
    assert len(found) == total


async def test_a_state_event_stored_before_a_kill_is_published_on_restart(
        settings: ServiceSettings, nats: ManagedProcess, tmp_path: Path) -> None:
    smtp_port = free_port()
    env = {**os.environ, "OMNI_TOKEN_JWKS": settings.token_jwks, "OMNI_CHAT_TOKEN_JWKS": settings.chat_token_jwks,
           "OMNI_REPLICA_SECRET": settings.replica_secret, "OMNI_NATS_URL": nats.url,
           "OMNI_MONGO_URL": settings.mongo_url, "OMNI_MONGO_DATABASE": settings.mongo_database,
           "OMNI_GRPC_LISTEN": f"127.0.0.1:{free_port()}", "OMNI_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
           "OMNI_OUTBOX_GRACE_SECONDS": "0.5", "OMNI_SHUTDOWN_DELAY": "0.1", "OMNI_LOG_LEVEL": "WARNING"}
    log = tmp_path / "sessions.log"
    dying = ManagedProcess("sessions", [sys.executable, str(KILLED_BEFORE_PUBLISH)], env=env, log_path=log).start()
    restarted = ManagedProcess("sessions", [sys.executable, "-m", "omni.sessions"], env=env, log_path=log)
    assert dying.process is not None
    try:
        wait_for_port(smtp_port, dying.process, "sessions (killed before publishing)", timeout=60)
        with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError)):
            await asyncio.to_thread(_deliver_once, smtp_port, _mail(1))
        assert await asyncio.to_thread(dying.process.wait, 30) == -9
        assert not _queued_sessions(await _stored_events(nats.url))  # stored, not published

        # Restarted, and nobody sends the mail again: the stored state event goes out anyway.
        restarted.start()
        assert restarted.process is not None
        wait_for_port(smtp_port, restarted.process, "sessions", timeout=60)

        async def queued() -> set[str]:
            return _queued_sessions(await _stored_events(nats.url))

        [session_id] = await eventually(queued, what="the state event stored before the kill, in the stream")
        # The sender's retry finds the mail stored and makes nothing twice.
        assert await asyncio.to_thread(_deliver, smtp_port, _mail(1)) == 1
        events = await _stored_events(nats.url)
        assert [e.type for e in events].count("session_state_changed") == 1
        assert {unpack(e, events_pb2.InteractionReceived).interaction.session_id
                for e in events if e.type == "interaction_received"} == {session_id}
    finally:
        dying.stop()
        restarted.stop()


def _deliver_once(port: int, mail: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(mail, from_addr=str(mail["From"]), to_addrs=["support@example.com"])


async def test_a_chat_message_resent_after_a_failed_publish_publishes_its_state_change(
        stack: Stack, published: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = EventBus.publish
    failures = [PublishTimedOut()]

    async def failing_once(self: EventBus, domain: str, event_type: str, *args: Any, **kwargs: Any) -> Any:
        if event_type == "session_state_changed" and failures:
            raise failures.pop()
        return await real(self, domain, event_type, *args, **kwargs)

    monkeypatch.setattr(EventBus, "publish", failing_once)
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": "web-outage"}}))
        started = json.loads(await asyncio.wait_for(ws.recv(), 10))["started"]
        await ws.send(json.dumps({"text": {"text": "Is my parcel lost?", "client_message_id": "m-1"}}))
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            while True:  # the stored message could not be published: the connection fails
                await asyncio.wait_for(ws.recv(), 10)
    assert not failures
    # The widget resumes and sends the message again under the same id.
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"resume": {"session_token": started["session_token"]}}))
        resumed = json.loads(await asyncio.wait_for(ws.recv(), 10))["started"]
        assert [m["text"] for m in resumed["transcript"]] == ["Is my parcel lost?"]
        await ws.send(json.dumps({"text": {"text": "Is my parcel lost?", "client_message_id": "m-1"}}))
        [changed] = await published.wait("session_state_changed", events_pb2.SessionStateChanged)
    assert changed.session.id == started["session_id"] and changed.session.state == pb.SESSION_STATE_QUEUED
    assert len({e.id for e in published.of("interaction_received")}) == 1
