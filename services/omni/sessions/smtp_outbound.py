"""The relay agent replies by email go out through (OMNI_SMTP_RELAY host:port)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from omni.runtime.errors import Unavailable


class RelayMailer:
    """Sends through the configured relay; a relay that does not take the mail is UNAVAILABLE."""

    def __init__(self, relay: str, timeout: float) -> None:
        host, _, port = relay.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"OMNI_SMTP_RELAY={relay!r} must be host:port")
        self._host, self._port, self._timeout = host, int(port), timeout

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(message, hostname=self._host, port=self._port, timeout=self._timeout)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise Unavailable(
                f"the SMTP relay {self._host}:{self._port} did not take the reply ({exc}); "
                "it was not sent, try again"
            ) from exc
