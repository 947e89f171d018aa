"""Issue 13, item 13: the SMTP listener.

Before, mail was parsed on the service's event loop (a message of many MIME parts froze every
chat, RPC and SMTP session of the process for seconds), any number of SMTP sessions were served
at once, mail up to 25 MiB was taken, and attachments up to 10 MiB were kept although
GetAttachment can return only OMNI_MAX_MESSAGE_BYTES (8 MiB): such an attachment could be stored
but never read back."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import smtplib
import socket
from email.message import EmailMessage
from typing import Any

import grpc
import pytest

from omni.devstack.processes import free_port
from omni.runtime.auth import Role
from omni.runtime.config import ConfigError
from omni.sessions.service import SPEC
from omnichannel.sessions.v1 import events_pb2, sessions_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2 as pb
from tests.sessions.conftest import Stack
from tests.support.events import EventRecorder

MiB = 1024 * 1024


def _many_parts(parts: int) -> bytes:
    """A small mail that is slow to parse: `parts` one-byte MIME parts."""
    part = b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nx\r\n"
    return (b"From: flood@customer.cn\r\nTo: support@example.com\r\nMessage-ID: <parts@customer.cn>\r\n"
            b"Subject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + part * parts + b"--b--\r\n")


def _send(port: int, raw: bytes | EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        if isinstance(raw, EmailMessage):
            client.send_message(raw, from_addr="li.wei@customer.cn", to_addrs=["support@example.com"])
        else:
            client.sendmail("flood@customer.cn", ["support@example.com"], raw)


@pytest.mark.slow
async def test_a_mail_slow_to_parse_does_not_stop_the_service_meanwhile(stack: Stack, published: EventRecorder) -> None:
    # The service runs in this process, on this event loop: a ticker shows how long the loop stood still.
    loop = asyncio.get_running_loop()
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(loop.time())
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    began = loop.time()
    try:
        await asyncio.to_thread(_send, stack.smtp_port, _many_parts(8_000))
    finally:
        ticking.cancel()
    took = loop.time() - began
    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived)
    assert len(received.interaction.attachments) == 50  # (and the rest left out, see item 5)
    longest_stall = max(b - a for a, b in itertools.pairwise(ticks))
    # Parsing took seconds; on the loop it would have stopped the ticker (and everything else) that long.
    assert took > 1.0 and longest_stall < took / 2, (took, longest_stall)


async def test_smtp_sessions_are_capped_and_mail_is_limited_to_10_mib(start_service: Any, stack: Stack) -> None:
    own = dataclasses.replace(stack.settings, smtp_listen=f"127.0.0.1:{free_port()}", websocket_listen="",
                              smtp_max_sessions=2)
    capped = dataclasses.replace(stack, host=await start_service(SPEC, settings_override=own), settings=own)
    # (The clients run in a thread: this test's loop is also the service's.)
    size, third_greeting, after = await asyncio.to_thread(_fill_up, capped.smtp_port, 2)
    assert size == b"SIZE 10485760"
    assert third_greeting.startswith(b"421 ")
    assert after == 250  # a slot is free again once a session ends


def _fill_up(port: int, sessions: int) -> tuple[bytes, bytes, int]:
    """Hold `sessions` SMTP sessions and try one more: (the SIZE offered, the extra one's greeting,
    the reply to NOOP in a session opened after the others ended)."""
    held = [smtplib.SMTP("127.0.0.1", port, timeout=10) for _ in range(sessions)]
    try:
        _, features = held[0].ehlo()
        size = next(line for line in features.splitlines() if line.startswith(b"SIZE"))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:
            greeting = extra.recv(512)
    finally:
        for client in held:
            client.quit()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as again:
        return size, greeting, again.noop()[0]


async def test_every_attachment_kept_can_be_read_back(start_service: Any, stack: Stack) -> None:
    # The default limit fits what GetAttachment may return; a larger setting does not start.
    too_large = dataclasses.replace(stack.settings, smtp_listen="", websocket_listen="",
                                    attachment_max_bytes=stack.settings.max_message_bytes)
    with pytest.raises(ConfigError, match="OMNI_ATTACHMENT_MAX_BYTES"):
        await start_service(SPEC, settings_override=too_large)

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "li.wei@customer.cn", "support@example.com", "scans"
    mail["Message-ID"] = "<scans@customer.cn>"
    mail.set_content("the scans you asked for")
    scan = bytes(range(256)) * (int(6.9 * MiB) // 256)
    mail.add_attachment(scan, maintype="application", subtype="octet-stream", filename="scan.bin")
    await asyncio.to_thread(_send, stack.smtp_port, mail)
    staff = stack.token(Role.SUPERVISOR, "S-1")
    listed = await stack.sessions.ListSessions(pb.ListSessionsRequest(), metadata=staff)
    [attachment] = [a for s in listed.sessions for m in s.messages for a in m.attachments]
    assert not attachment.truncated
    options = [("grpc.max_receive_message_length", 16 * MiB)]
    async with grpc.aio.insecure_channel(stack.host.address, options=options) as channel:
        stored = await sessions_pb2_grpc.SessionServiceStub(channel).GetAttachment(
            pb.GetAttachmentRequest(session_id=listed.sessions[0].id, attachment_id=attachment.attachment_id),
            metadata=staff)
    assert stored.content == scan
