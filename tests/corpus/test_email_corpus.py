"""The email corpus end to end: each mail of tests/corpus/email/ goes over SMTP into the sessions
service's listener, sessions publishes it, tickets threads it (real NATS, the MongoDB-protocol
server, both services running), and the outcome is checked against expected.tsv: which customer,
which ticket, third party or not, the flags, the sender, the name, the subject and the text.

Every row is checked and all failures are reported together, with the pass count."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import re
from collections.abc import AsyncIterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import aiosmtplib
import grpc
import pytest
from aiosmtpd.controller import Controller

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import ManagedProcess, free_port
from omni.runtime.auth import Role, bearer
from omni.runtime.config import ServiceSettings
from omni.sessions.service import SPEC as SESSIONS
from omni.sessions.settings import SessionSettings
from omni.tickets.service import SPEC as TICKETS
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc
from omnichannel.sessions.v1.events_pb2 import InteractionReceived
from omnichannel.tickets.v1 import events_pb2, tickets_pb2_grpc
from omnichannel.tickets.v1 import tickets_pb2 as pb
from tests.conftest import StartService
from tests.sessions.conftest import Sink
from tests.support.events import EventRecorder
from tests.support.settings import settings_for, ticket_settings

CORPUS = Path(__file__).parent / "email"
TRUSTED_MTA = "mx.omni.test"
_MSGID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.MULTILINE | re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{\{(reply|ticket):([A-Za-z0-9]+)\}\}")


@dataclasses.dataclass(frozen=True)
class Row:
    file: str
    customer: str
    ticket: str
    third: bool
    flags: frozenset[str]
    sender: str
    name: str
    subject: str
    text: str
    reply_to: str


def rows() -> list[Row]:
    with (CORPUS / "expected.tsv").open(encoding="utf-8") as table:
        lines = [line for line in table if not line.startswith("#")]
    return [
        Row(file=r["file"], customer=r["customer"], ticket=r["ticket"], third=r["third"] == "yes",
            flags=frozenset(f for f in r["flags"].split() if f != "-"), sender=_none(r["sender"]),
            name=_none(r["name"]), subject=r["subject"], text=r["text"].replace("\\n", "\n"),
            reply_to=_none(r["reply_to"]))
        for r in csv.DictReader(lines, delimiter="\t")
    ]


def _none(value: str) -> str:
    return "" if value == "-" else value


@dataclasses.dataclass
class Stack:
    smtp_port: int
    sessions: sessions_pb2_grpc.SessionServiceStub
    tickets: tickets_pb2_grpc.TicketServiceStub
    metadata: Any
    sink: Sink
    from_sessions: EventRecorder
    from_tickets: EventRecorder


@pytest.fixture
async def stack(start_service: StartService, settings: ServiceSettings, nats: ManagedProcess,
                authority: LocalIssuer) -> AsyncIterator[Stack]:
    sink = Sink()
    relay_port = free_port()
    relay = Controller(sink, hostname="127.0.0.1", port=relay_port)
    relay.start()
    smtp_port = free_port()
    tickets = await start_service(TICKETS, settings_override=ticket_settings(settings, database="tickets"))
    sessions = await start_service(SESSIONS, settings_override=settings_for(
        settings, SessionSettings, database="sessions", smtp_listen=f"127.0.0.1:{smtp_port}",
        smtp_relay=f"127.0.0.1:{relay_port}", smtp_accepted_domains=("example.com",),
        mail_trusted_authserv_ids=(TRUSTED_MTA,)))
    from_sessions = await EventRecorder.start(nats.url, "sessions")
    from_tickets = await EventRecorder.start(nats.url, "tickets")
    async with grpc.aio.insecure_channel(sessions.address) as s_channel, \
            grpc.aio.insecure_channel(tickets.address) as t_channel:
        yield Stack(smtp_port, sessions_pb2_grpc.SessionServiceStub(s_channel),
                    tickets_pb2_grpc.TicketServiceStub(t_channel),
                    bearer(authority.mint("sup-corpus", Role.SUPERVISOR)), sink, from_sessions, from_tickets)
    await from_sessions.close()
    await from_tickets.close()
    relay.stop()


class Run:
    """Labels bound to real ids as the corpus goes, and the failures met."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.customers: dict[str, str] = {}
        self.tickets: dict[str, str] = {}
        self.replies: dict[str, str] = {}
        self.failures: list[str] = []

    def fill(self, text: str) -> str:
        def value(found: re.Match[str]) -> str:
            kind, label = found.groups()
            return (self.replies if kind == "reply" else self.tickets).get(label, f"<unknown-{label}@corpus>")

        return _PLACEHOLDER.sub(value, text)

    def bind(self, labels: dict[str, str], label: str, actual: str, what: str) -> str:
        """'' when `actual` is the id `label` stands for (binding a new label to a new id)."""
        if label == "-":
            return "" if not actual else f"{what} {actual}, expected none"
        if label in labels:
            return "" if labels[label] == actual else f"{what} {actual}, expected {label}={labels[label]}"
        if not actual or actual in labels.values():
            return f"{what} {actual or 'none'}, expected a new one ({label})"
        labels[label] = actual
        return ""

    async def send(self, row: Row) -> None:
        raw = self.fill((CORPUS / row.file).read_bytes().decode("utf-8", "surrogateescape")) \
            .encode("utf-8", "surrogateescape")
        found = _MSGID.search(raw)
        assert found, f"{row.file} has no Message-ID"
        interaction_id = f"I-{hashlib.sha256(found.group(1)).hexdigest()[:20]}"
        envelope = "" if "bounce" in row.flags else (row.sender or "ghost@ghost-mail.net")
        # Bounces come from the null reverse-path (MAIL FROM:<>), as MTAs send them.
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=self.stack.smtp_port) as client:
            await client.sendmail(envelope, ["support@example.com"], raw)
        [received] = await self.stack.from_sessions.wait(
            "interaction_received", InteractionReceived, lambda e: e.interaction.id == interaction_id, within=30)
        [threaded] = await self.stack.from_tickets.wait(
            "interaction_threaded", events_pb2.InteractionThreaded, lambda t: t.interaction_id == interaction_id,
            within=30)
        problems = self.check(row, received.interaction, threaded)
        if row.reply_to:
            problems += await self.reply(row, received.interaction.session_id)
        self.failures += [f"{row.file}: {p}" for p in problems if p]

    def check(self, row: Row, interaction: common_pb2.Interaction,
              threaded: events_pb2.InteractionThreaded) -> list[str]:
        email = interaction.email
        flags = {flag for flag, on in (("auto", email.auto_submitted), ("bounce", email.delivery_status_report),
                                       ("unverified", email.sender_trust == common_pb2.SENDER_TRUST_UNVERIFIED))
                 if on}
        return [
            self.bind(self.customers, row.customer, threaded.customer_id, "customer"),
            self.bind(self.tickets, row.ticket, threaded.ticket_id, "ticket"),
            "" if getattr(threaded, "third_party", False) == row.third else f"third party {not row.third}",
            "" if flags == row.flags else f"flags {sorted(flags)}, expected {sorted(row.flags)}",
            "" if email.sender == row.sender else f"sender {email.sender!r}, expected {row.sender!r}",
            "" if getattr(email, "sender_name", row.name) == row.name else f"name {email.sender_name!r}",
            "" if email.subject == self.fill(row.subject) else f"subject {email.subject!r}",
            "" if row.text in interaction.text else f"text {interaction.text[:120]!r} lacks {row.text!r}",
            "" if "bounce" not in row.flags or row.ticket == "-" or email.report.status else "no report status",
        ]

    async def reply(self, row: Row, session_id: str) -> list[str]:
        before = len(self.stack.sink.messages)
        sent = await self.stack.sessions.SendReply(sessions_pb2.SendReplyRequest(
            session_id=session_id, text="We are looking into it.", request_id=f"corpus-{row.file}"),
            metadata=self.stack.metadata)
        self.replies[row.file[:2]] = sent.message_id
        [(_, recipients, content)] = self.stack.sink.messages[before:]
        sent_to = str(message_from_bytes(content)["To"])
        return [] if recipients == [row.reply_to] and sent_to == row.reply_to else \
            [f"reply went to {recipients} (To: {sent_to}), expected {row.reply_to}"]


@pytest.mark.slow
async def test_every_mail_of_the_corpus_lands_as_expected(stack: Stack) -> None:
    table = rows()
    assert len(table) >= 40 and {r.file for r in table} == {p.name for p in CORPUS.glob("*.eml")}
    run = Run(stack)
    for row in table:
        await run.send(row)
    # Nobody who threaded in as a third party (or forged a customer's address) became anyone's identity.
    for label, customer_id in run.customers.items():
        customer = await stack.tickets.GetCustomer(pb.GetCustomerRequest(id=customer_id), metadata=stack.metadata)
        strangers = {i.value for i in customer.identities} & {
            "eve@evil.example", "peter.schmidt@gmx.de", "jens.boss@contoso.com", "zhangmin@163.com", "sara@me.com"}
        if strangers:
            run.failures.append(f"customer {label} holds third-party identities {sorted(strangers)}")
    ticket = await stack.tickets.GetTicket(pb.GetTicketRequest(id=run.tickets["A1"]), metadata=stack.metadata)
    if set(ticket.participants) != {"jens.boss@contoso.com", "eve@evil.example", "peter.schmidt@gmx.de"}:
        run.failures.append(f"A1 participants {sorted(ticket.participants)}")
    if ticket.status == pb.TICKET_STATUS_SOLVED or not any(i.email.report.status == "5.2.2" for i in ticket.interactions
                                                           if i.direction == common_pb2.DIRECTION_OUTBOUND):
        run.failures.append("A1's bounced reply is not flagged with the bounce's status")
    failed = {f.split(":")[0] for f in run.failures}
    print(f"email corpus: {len(table) - len(failed)}/{len(table)} mails as expected")
    assert not run.failures, "\n".join(run.failures)
