"""A small SMSC for tests: SMPP 3.4 over real TCP on a free port, PDUs encoded and decoded with
aiosmpplib's own codec. It binds transceivers (checking system_id and password), answers
submit_sm with submit_sm_resp and then sends a delivery receipt (deliver_sm, esm_class 0x04),
and lets a test inject an inbound SMS as a deliver_sm.

(smppy's packaged SMSC binds and answers submit_sm but cannot send delivery receipts.)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import itertools

from aiosmpplib import (
    NPI,
    TON,
    BindTransceiverResp,
    DeliverSm,
    EnquireLinkResp,
    GenericNack,
    PduHeader,
    PhoneNumber,
    SmppCommand,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
    UnbindResp,
)
from aiosmpplib.protocol import MESSAGE_TYPE_MAP

from tests.support.polling import WITHIN


@dataclasses.dataclass
class Submitted:
    smsc_id: str
    source: str
    destination: str
    text: str


class Smsc:
    def __init__(self, system_id: str = "omni", password: str = "secret") -> None:
        self.system_id, self.password = system_id, password
        self.submitted: list[Submitted] = []
        # Receipt state per destination number (without +); DELIVRD for any other.
        self.receipt_states: dict[str, str] = {}
        self.port = 0
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._bound: list[asyncio.StreamWriter] = []
        self._ids = itertools.count(1)
        self._sequence = itertools.count(1)
        self._changed = asyncio.Condition()

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port or self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """The SMSC goes down: listener closed, every connection dropped."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            await self._server.wait_closed()
            self._server = None
        self._bound.clear()

    async def wait_for(self, count: int) -> list[Submitted]:
        """Until at least `count` SMS were submitted (within WITHIN seconds)."""
        async with asyncio.timeout(WITHIN), self._changed:
            await self._changed.wait_for(lambda: len(self.submitted) >= count)
        return list(self.submitted)

    async def wait_bound(self) -> None:
        async with asyncio.timeout(WITHIN), self._changed:
            await self._changed.wait_for(lambda: bool(self._bound))

    async def deliver(self, source: str, text: str, destination: str = "10086") -> None:
        """An SMS from a handset: a deliver_sm to the bound ESME."""
        await self.wait_bound()
        message = DeliverSm(short_message=text, source=PhoneNumber(source, TON.INTERNATIONAL, NPI.ISDN),
                            destination=PhoneNumber(destination), registered_delivery=0)
        await self._send(self._bound[-1], message)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                head = await reader.readexactly(16)
                header = SmppMessage.parse_header(head)
                pdu = head + await reader.readexactly(header.pdu_length - 16)
                await self._handle(writer, pdu, header)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._clients.discard(writer)
            if writer in self._bound:
                self._bound.remove(writer)
            writer.close()

    async def _handle(self, writer: asyncio.StreamWriter, pdu: bytes, header: PduHeader) -> None:
        command, seq = header.smpp_command, header.sequence_num
        if command is SmppCommand.BIND_TRANSCEIVER:
            bind = MESSAGE_TYPE_MAP[command].from_pdu(pdu, header)
            ok = getattr(bind, "system_id", "") == self.system_id and getattr(bind, "password", "") == self.password
            status = SmppCommandStatus.ESME_ROK if ok else SmppCommandStatus.ESME_RINVPASWD
            writer.write(BindTransceiverResp(sequence_num=seq, command_status=status, system_id="smsc").pdu())
            if ok:
                self._bound.append(writer)
                async with self._changed:
                    self._changed.notify_all()
        elif command is SmppCommand.SUBMIT_SM:
            submit = SubmitSm.from_pdu(pdu, header, "gsm0338")
            assert isinstance(submit, SubmitSm)
            smsc_id = f"M{next(self._ids)}"
            writer.write(SubmitSmResp(sequence_num=seq, message_id=smsc_id).pdu())
            self.submitted.append(Submitted(smsc_id, submit.source.number, submit.destination.number,
                                            submit.short_message or submit.message_payload))
            async with self._changed:
                self._changed.notify_all()
            await self._receipt(writer, submit, smsc_id)
        elif command is SmppCommand.ENQUIRE_LINK:
            writer.write(EnquireLinkResp(sequence_num=seq).pdu())
        elif command is SmppCommand.UNBIND:
            writer.write(UnbindResp(sequence_num=seq).pdu())
        elif command in (SmppCommand.DELIVER_SM_RESP, SmppCommand.GENERIC_NACK):
            pass
        else:
            writer.write(GenericNack(sequence_num=seq, command_status=SmppCommandStatus.ESME_RINVCMDID).pdu())
        await writer.drain()

    async def _receipt(self, writer: asyncio.StreamWriter, submit: SubmitSm, smsc_id: str) -> None:
        stat = self.receipt_states.get(submit.destination.number, "DELIVRD")
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        text = DeliverSm.encode_receipt({"id": smsc_id, "sub": 1, "dlvrd": int(stat == "DELIVRD"),
                                         "submit date": now, "done date": now, "stat": stat,
                                         "err": 0 if stat == "DELIVRD" else 1, "text": ""})
        receipt = DeliverSm(short_message=text, source=submit.destination, destination=submit.source,
                            esm_class=0b00000100, registered_delivery=0)
        await self._send(writer, receipt)

    async def _send(self, writer: asyncio.StreamWriter, message: DeliverSm) -> None:
        message.sequence_num = next(self._sequence)
        message.set_encoding_info("gsm0338", None)
        with contextlib.suppress(ConnectionError):
            writer.write(message.pdu())
            await writer.drain()
