"""Issue 13, item 11: one stuck message does not stop a consumer. Before, a tickets process killed
in the middle of a transaction left that transaction open on the server for its whole lifetime
(60 s): the next interaction of the same customer waited on a write conflict until then, and
since the consumer handled one batch at a time, nobody else's mail was threaded meanwhile, without
a log line. Now events of other customers are threaded alongside, a conflict is retried a bounded
number of times (counted, logged) and then sent back for later, and the dead process's
transaction is ended (killSessions) once its lease runs out."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from omni.devstack.processes import ManagedProcess, free_port
from omni.runtime.config import ServiceSettings
from omni.runtime.events import EventBus
from omni.tickets.service import SPEC
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1.events_pb2 import InteractionReceived
from omnichannel.tickets.v1 import events_pb2
from tests.conftest import StartService
from tests.support.events import EventRecorder
from tests.support.polling import eventually
from tests.support.settings import ticket_settings
from tests.tickets.conftest import at, interaction, phone

KILLED_MID_TRANSACTION = Path(__file__).with_name("tickets_killed_mid_transaction.py")
PHONE = common_pb2.CHANNEL_PHONE


@pytest.mark.slow
@pytest.mark.soak
async def test_a_transaction_left_by_a_killed_process_holds_back_only_its_customer(
        start_service: StartService, settings: ServiceSettings, nats: ManagedProcess, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    bus = await EventBus.connect(nats.url, "test-sessions")
    recorder = await EventRecorder.start(nats.url, "tickets")

    async def send(msg: common_pb2.Interaction) -> None:
        await bus.publish("sessions", "interaction_received", f"sessions/{msg.session_id}",
                          InteractionReceived(interaction=msg), event_id=msg.id)

    async def threaded() -> set[str]:
        return {t.interaction_id for t in recorder.payloads("interaction_threaded", events_pb2.InteractionThreaded)}

    stuck = phone("+86 139 1100 0001")
    others = [phone(f"+86 139 1100 1{n:03d}") for n in range(6)]
    # Six customers with a ticket each, threaded by a healthy tickets.
    opened = [interaction(PHONE, at(0), who, text="my parcel is late") for who in others]
    first_host = await start_service(SPEC, settings_override=ticket_settings(settings))
    for msg in opened:
        await send(msg)
    await eventually(threaded, lambda seen: seen >= {m.id for m in opened}, what="the first contacts threaded")
    await first_host.stop()

    # A tickets killed at its commit: the stuck customer's documents stay locked by a transaction
    # nobody will end, and its lease promises 20 s.
    env = {**os.environ, "OMNI_TOKEN_JWKS": settings.token_jwks, "OMNI_REPLICA_SECRET": settings.replica_secret,
           "OMNI_NATS_URL": nats.url, "OMNI_MONGO_URL": settings.mongo_url,
           "OMNI_MONGO_DATABASE": settings.mongo_database, "OMNI_GRPC_LISTEN": f"127.0.0.1:{free_port()}",
           "OMNI_SHUTDOWN_DELAY": "0.1", "OMNI_LOG_LEVEL": "WARNING", "OMNI_TRANSACTION_MAX_SECONDS": "20"}
    dying = ManagedProcess("tickets", [sys.executable, str(KILLED_MID_TRANSACTION)], env=env,
                           log_path=tmp_path / "tickets.log").start()
    try:
        first = interaction(PHONE, at(1), stuck, text="my bill is wrong")
        await send(first)
        await eventually(lambda: _exited(dying), what="tickets killed at its first commit", within=60)

        with caplog.at_level(logging.INFO, logger="omni.transactions"):
            await start_service(SPEC, settings_override=ticket_settings(settings))
            second = interaction(PHONE, at(2), stuck, text="any news?")
            await send(second)
            follow_ups = [interaction(PHONE, at(3), who, text="still waiting") for who in others]
            for msg in follow_ups:
                await send(msg)

            # Everyone else is threaded while the stuck customer waits for the dead transaction ...
            seen = await eventually(threaded, lambda seen: seen >= {m.id for m in follow_ups},
                                    what="the other customers threaded meanwhile", within=30)
            assert not seen & {first.id, second.id}
            # ... which is ended once its lease runs out, long before the server's 60 s lifetime.
            await eventually(threaded, lambda seen: {first.id, second.id} <= seen,
                             what="the stuck customer threaded", within=60)
        done = recorder.payloads("interaction_threaded", events_pb2.InteractionThreaded)
        mine = [t for t in done if t.interaction_id in (first.id, second.id)]
        assert [t.interaction_id for t in mine][:2] == [first.id, second.id]
        assert mine[0].ticket_id == mine[1].ticket_id
        said = [r.getMessage() for r in caplog.records]
        assert any("whose lease ran out" in line for line in said), said
        assert any("met a write conflict" in line for line in said), said
    finally:
        dying.stop()
        await recorder.close()
        await bus.close()


async def _exited(process: ManagedProcess) -> bool:
    return process.returncode is not None
