"""The inbound SMTP server (aiosmtpd) on the service's own event loop.

Accepts mail only for the configured domains (550 otherwise: we are no open relay), up to a
number of recipients (452 beyond), refuses oversize mail with 552 (advertised through SIZE so
well-behaved senders never send it), serves a bounded number of connections at once (421 to one
more), answers 451 when storing fails so the sender retries instead of the mail being lost, and
554 when the mail can never be taken (retrying would not help). Offers STARTTLS when it has a
certificate. Parsing happens in worker processes (`mail_parsing`), not on this loop.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope

from omni.runtime.config import ConfigError, env_name
from omni.runtime.events import PermanentError
from omni.sessions.usecases.mail import Mailbox

log = logging.getLogger("omni.sessions.smtp")


class InboundMailHandler:
    def __init__(self, mailbox: Mailbox, accepted_domains: tuple[str, ...], *, max_recipients: int) -> None:
        self._mailbox = mailbox
        self._domains = {d.casefold() for d in accepted_domains}
        self._max_recipients = max_recipients

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        domain = address.rpartition("@")[2].casefold()
        if domain not in self._domains:
            return f"550 5.7.1 relaying denied: this server accepts mail for {', '.join(sorted(self._domains))} only"
        if len(envelope.rcpt_tos) >= self._max_recipients:
            # RFC 5321 §4.5.3.1.10: the sender sends the rest in another transaction.
            return f"452 4.5.3 too many recipients; at most {self._max_recipients} per message"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            stored = await self._mailbox.receive(raw, str(envelope.mail_from or ""), list(envelope.rcpt_tos))
        except PermanentError as exc:
            log.warning("refused mail from %s for good: %s", envelope.mail_from, exc)
            return f"554 5.6.0 this message cannot be taken: {' '.join(str(exc).split())[:400]}"
        except Exception:
            log.exception("could not store mail from %s; the sender will retry", envelope.mail_from)
            return "451 4.3.0 temporary failure storing the message; please try again later"
        return f"250 2.0.0 accepted as session {stored.id}"


def starttls_context(cert_file: str, key_file: str, *, require: bool) -> ssl.SSLContext | None:
    """The server side of STARTTLS from a PEM certificate chain and key; None when neither is set."""
    if not cert_file and not key_file and not require:
        return None
    if not cert_file or not key_file:
        raise ConfigError(f"{env_name('smtp_tls_cert_file')} and {env_name('smtp_tls_key_file')} go together, and "
                          f"{env_name('smtp_require_starttls')} needs both")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


class _Slots:
    """The SMTP sessions open at once, and the most allowed."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.open = 0


class _CountedSMTP(SMTP):
    """An SMTP session that takes one of the server's slots while it lasts."""

    def __init__(self, slots: _Slots, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = slots
        self._holding = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._holding:  # called again by STARTTLS for the same connection
            self._slots.open += 1
            self._holding = True
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._holding:
            self._slots.open -= 1
            self._holding = False
        super().connection_lost(error)


class _Busy(asyncio.Protocol):
    """The answer to a connection over the cap: 421, then close (RFC 5321 §3.8: the client tries later)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(b"421 4.3.2 too many connections; try again later\r\n")
        transport.close()


async def start_smtp(listen: str, handler: InboundMailHandler, *, max_message_bytes: int, max_sessions: int,
                     tls_context: ssl.SSLContext | None = None, require_starttls: bool = False) -> asyncio.Server:
    host, _, port = listen.rpartition(":")
    loop = asyncio.get_running_loop()
    slots = _Slots(max_sessions)

    def session() -> asyncio.Protocol:
        if slots.open >= slots.most:
            log.warning("SMTP connection refused: %d sessions open, the most allowed", slots.open)
            return _Busy()
        return _CountedSMTP(slots, handler, data_size_limit=max_message_bytes, enable_SMTPUTF8=True,
                            decode_data=False, hostname="omnichannel-sessions", tls_context=tls_context,
                            require_starttls=require_starttls)

    return await loop.create_server(session, host=host or "0.0.0.0", port=int(port))
