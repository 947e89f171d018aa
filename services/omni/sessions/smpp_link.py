"""The SMPP 3.4 link to the operator's SMSC (aiosmpplib's ESME, bound as a transceiver): it sends
what the SMS outbox hands it and passes the SMSC's answers, receipts and inbound SMS to
`usecases/sms.py`. aiosmpplib reconnects by itself (with backoff) when the SMSC goes away.

aiosmpplib answers a deliver_sm (an inbound SMS or a receipt) after our hook returns, so the
hook returns only once the SMS is recorded: while the store is away it waits and tries again,
the SMSC holds the SMS meanwhile (unanswered), and nothing the SMSC handed over is lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiosmpplib import (
    ESME,
    NPI,
    TON,
    AbstractBroker,
    AbstractHook,
    DeliverSm,
    PhoneNumber,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
)
from aiosmpplib.retrytimer import SimpleExponentialBackoff

from omni.runtime.failure_kinds import FailureKind, classify
from omni.sessions.domain.sms import OutboundSms

log = logging.getLogger(__name__)

# Answers to submit_sm after which the same SMS is sent again later (the SMSC is busy).
_TRANSIENT = frozenset({SmppCommandStatus.ESME_RTHROTTLED, SmppCommandStatus.ESME_RMSGQFUL,
                        SmppCommandStatus.ESME_RSYSERR})
# Waits between two tries of recording an inbound SMS or receipt while the store is away.
RECORD_RETRY_FIRST = 0.2
RECORD_RETRY_CAP = 5.0


class SmsEvents(Protocol):
    async def submitted(self, sms_id: str, smsc_id: str) -> None: ...
    async def refused(self, sms_id: str, status: str, *, retry: bool) -> None: ...
    async def receipt(self, smsc_id: str, stat: str, error: str) -> None: ...
    async def receive(self, source: str, text: str) -> object: ...


class _Outgoing(AbstractBroker):
    """The ESME's send queue, holding each SMS once: the outbox hands an unanswered SMS again
    after its hold, and one still waiting here (the SMSC down) must not be sent twice."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[SubmitSm] = asyncio.Queue(size)
        self._waiting: set[str] = set()

    async def enqueue(self, message: SmppMessage) -> None:
        if isinstance(message, SubmitSm):
            self.put(message)

    def put(self, message: SubmitSm) -> None:
        if message.log_id in self._waiting:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            return  # still in the outbox: handed again after its hold
        self._waiting.add(message.log_id)

    async def dequeue(self) -> SmppMessage:
        message = await self._queue.get()
        self._waiting.discard(message.log_id)
        return message


class _Answers(AbstractHook):
    def __init__(self, link: SmppLink) -> None:
        self._link = link

    async def sending(self, smpp_message: SmppMessage, pdu: bytes, client_id: str) -> None:
        return None

    async def received(self, smpp_message: SmppMessage | None, pdu: bytes, client_id: str) -> None:
        try:
            await self._link.answered(smpp_message)
        except Exception:
            # An answer we failed to record: the outbox sends the SMS again after its hold.
            log.exception("SMPP answer not recorded")

    async def send_error(self, smpp_message: SmppMessage, error: Exception, client_id: str) -> None:
        log.warning("SMS %s not sent (%s); the outbox sends it again", getattr(smpp_message, "log_id", "?"), error)


class SmppLink:
    def __init__(self, *, host: str, port: int, system_id: str, password: str, source: str,
                 queue_size: int, reconnect_min_seconds: float, socket_timeout: float) -> None:
        self._source = source
        self._outgoing = _Outgoing(queue_size)
        self._events: SmsEvents | None = None
        self._esme = ESME(
            smsc_host=host, smsc_port=port, system_id=system_id, password=password,
            broker=self._outgoing, hook=_Answers(self), socket_timeout=socket_timeout,
            retry_timer=SimpleExponentialBackoff(min_delay=max(1, int(reconnect_min_seconds * 1000)),
                                                 max_increases=5),
            log_level=logging.WARNING,
        )

    def submit(self, sms: OutboundSms) -> None:
        self._outgoing.put(SubmitSm(
            short_message=sms.text, log_id=sms.id,
            source=_address(self._source),
            destination=PhoneNumber(sms.number.removeprefix("+"), TON.INTERNATIONAL, NPI.ISDN),
            registered_delivery=1))

    async def run(self, events: SmsEvents) -> None:
        self._events = events
        await self._esme.start()  # until cancelled: it reconnects by itself

    async def answered(self, message: SmppMessage | None) -> None:
        events = self._events
        if events is None or message is None:
            return
        if isinstance(message, SubmitSmResp) and message.log_id:
            if message.command_status is SmppCommandStatus.ESME_ROK:
                await events.submitted(message.log_id, message.message_id)
            else:
                await events.refused(message.log_id, message.command_status.name,
                                     retry=message.command_status in _TRANSIENT)
        elif isinstance(message, DeliverSm):
            if message.is_receipt():
                receipt = message.parse_receipt()
                await _until_recorded(lambda: events.receipt(
                    str(receipt.get("id", "")), str(receipt.get("stat", "")), str(receipt.get("err", ""))), "receipt")
            else:
                await _until_recorded(lambda: events.receive(
                    message.source.number, message.short_message or message.message_payload), "inbound SMS")


async def _until_recorded(record: Callable[[], Awaitable[object]], what: str) -> None:
    """Run `record` until it succeeds or fails for good; transient failures (the store or the
    event bus away) are tried again, for as long as they last."""
    delay = RECORD_RETRY_FIRST
    while True:
        try:
            await record()
            return
        except Exception as exc:
            if classify(exc) is not FailureKind.TRANSIENT:
                raise
            log.warning("%s not recorded yet (%s); the SMSC keeps it, trying again in %.1f s", what, exc, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RECORD_RETRY_CAP)


def _address(source: str) -> PhoneNumber:
    """Our sender: an international number (+…), a short code, or an alphanumeric name."""
    if source.startswith("+"):
        return PhoneNumber(source[1:], TON.INTERNATIONAL, NPI.ISDN)
    if source.isdigit():
        return PhoneNumber(source, TON.NETWORK_SPECIFIC, NPI.UNKNOWN)
    return PhoneNumber(source, TON.ALPHANUMERIC, NPI.UNKNOWN)
