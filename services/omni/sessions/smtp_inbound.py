"""The inbound SMTP server (aiosmtpd) on the service's own event loop.

Accepts mail only for the configured domains (550 otherwise: we are no open relay), refuses
oversize mail with 552 (advertised through SIZE so well-behaved senders never send it), and
answers 451 when storing fails so the sender retries instead of the mail being lost. Offers
STARTTLS when it has a certificate.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope

from omni.runtime.config import ConfigError, env_name
from omni.sessions.usecases.mail import Mailbox

log = logging.getLogger("omni.sessions.smtp")


class InboundMailHandler:
    def __init__(self, mailbox: Mailbox, accepted_domains: tuple[str, ...]) -> None:
        self._mailbox = mailbox
        self._domains = {d.casefold() for d in accepted_domains}

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        domain = address.rpartition("@")[2].casefold()
        if domain not in self._domains:
            return f"550 5.7.1 relaying denied: this server accepts mail for {', '.join(sorted(self._domains))} only"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            stored = await self._mailbox.receive(raw, str(envelope.mail_from or ""), list(envelope.rcpt_tos))
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


async def start_smtp(listen: str, handler: InboundMailHandler, *, max_message_bytes: int,
                     tls_context: ssl.SSLContext | None = None, require_starttls: bool = False) -> asyncio.Server:
    host, _, port = listen.rpartition(":")
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, data_size_limit=max_message_bytes, enable_SMTPUTF8=True, decode_data=False,
                     hostname="omnichannel-sessions", tls_context=tls_context, require_starttls=require_starttls),
        host=host or "0.0.0.0",
        port=int(port),
    )
