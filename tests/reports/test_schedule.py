"""Scheduled KPI reports: each completed day, week and month gets one report across replicas;
a replica that dies while generating is taken over, a restart neither skips nor repeats a
period; the reports count the stored contacts and their surveys; supervisors only."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from typing import Any

import grpc
import pytest
import websockets
from pymongo import AsyncMongoClient

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import free_port
from omni.reports.domain.model import Contents
from omni.reports.domain.periods import PeriodKind, containing, due
from omni.reports.repository import ReportRepository
from omni.reports.service import ACCESS as REPORTS_ACCESS
from omni.reports.service import SPEC as REPORTS
from omni.reports.settings import ReportSettings
from omni.reports.sources import SessionContacts
from omni.reports.usecases import Schedule
from omni.runtime.auth import Role, audience, bearer
from omni.runtime.clock import utcnow
from omni.runtime.config import ServiceSettings
from omni.sessions.service import SPEC as SESSIONS
from omnichannel.reports.v1 import reports_pb2 as rpb
from omnichannel.reports.v1 import reports_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2 as spb
from omnichannel.sessions.v1 import sessions_pb2_grpc
from tests.rpc_access import assert_every_rpc_needs_a_token, assert_table_matches_protos
from tests.support.polling import eventually
from tests.support.settings import session_settings, settings_for

KINDS = (PeriodKind.DAY, PeriodKind.WEEK, PeriodKind.MONTH)
LEASE = dt.timedelta(seconds=30)


@dataclasses.dataclass
class Contacts:
    sessions_addr: str
    authority: LocalIssuer
    ws_url: str

    def source(self) -> SessionContacts:
        token = self.authority.mint("reports", Role.SERVICE, audiences=(audience("sessions"),))
        return SessionContacts(self.sessions_addr, token, 30)

    async def chat(self, handle: str, *, rate: int | None = None) -> str:
        """A chat a person answers and ends; the customer rates it `rate` when given."""
        async with websockets.connect(self.ws_url) as ws:
            await ws.send(json.dumps({"start": {"handle": handle, "language": "en"}}))
            session_id: str = json.loads(await ws.recv())["started"]["session_id"]
            await ws.send(json.dumps({"text": {"text": "where is my order", "client_message_id": "c1"}}))
            await asyncio.wait_for(ws.recv(), 10)
        async with grpc.aio.insecure_channel(self.sessions_addr) as channel:
            stub = sessions_pb2_grpc.SessionServiceStub(channel)
            supervisor = bearer(self.authority.mint("S-1", Role.SUPERVISOR))
            for state in (spb.SESSION_STATE_QUEUED, spb.SESSION_STATE_CONNECTED, spb.SESSION_STATE_ENDED):
                await stub.UpdateSessionState(spb.UpdateSessionStateRequest(
                    session_id=session_id, state=state, agent_id="A-7"), metadata=supervisor)
            if rate is not None:
                customer = bearer(self.authority.mint(handle, Role.CUSTOMER, session_id=session_id))
                await eventually(lambda: _survey(stub, session_id, customer), bool, what="the survey")
                await stub.AnswerSurvey(spb.AnswerSurveyRequest(session_id=session_id, csat=rate, nps=10),
                                        metadata=customer)
        return session_id


async def _survey(stub: Any, session_id: str, metadata: Any) -> bool:
    try:
        await stub.GetSurvey(spb.GetSurveyRequest(session_id=session_id), metadata=metadata)
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return False
        raise
    return True


@pytest.fixture
async def contacts(start_service: Any, settings: ServiceSettings, authority: LocalIssuer) -> Contacts:
    own = session_settings(settings, authority, database="sessions", websocket_listen=f"127.0.0.1:{free_port()}")
    host = await start_service(SESSIONS, settings_override=own)
    return Contacts(host.address, authority, f"ws://{own.websocket_listen}/chat")


@pytest.fixture
async def repo(settings: ServiceSettings) -> Any:
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    yield ReportRepository(client[settings.mongo_database + "_reports"])
    await client.close()


def _due(now: dt.datetime) -> set[str]:
    return {p.name for kind in KINDS for p in due(kind, now, 2)}


def _replica(repo: ReportRepository, contacts: Contacts, owner: str) -> Schedule:
    return Schedule(repo, contacts.source(), None, owner=owner, kinds=KINDS, lease=LEASE, catch_up=2)


async def test_two_replicas_make_each_period_once_from_the_stored_contacts(repo, contacts) -> None:
    await contacts.chat("web-r1", rate=4)
    await contacts.chat("web-r2", rate=2)
    # A day later, today is a completed period with these two contacts in it.
    tomorrow = utcnow() + dt.timedelta(days=1)
    wanted = _due(tomorrow)
    first, second = await asyncio.gather(_replica(repo, contacts, "r-a").run_due(tomorrow),
                                         _replica(repo, contacts, "r-b").run_due(tomorrow))
    assert set(first) | set(second) == wanted and not set(first) & set(second)
    assert await _replica(repo, contacts, "r-c").run_due(tomorrow) == []  # a third finds them all done

    today = await repo.get(containing(PeriodKind.DAY, utcnow()).name)
    assert (today.contacts, today.claims) == (2, 1)
    overall = today.csv.splitlines()[1].split(",")
    header = today.csv.splitlines()[0].split(",")
    row = dict(zip(header, overall, strict=True))
    assert (row["dimension"], row["offered"], row["answered"], row["csat_average"], row["csat_responses"],
            row["nps"]) == ("overall", "2", "2", "3.0000", "2", "100.0000")
    assert "agent,A-7," in today.csv and "channel,chat," in today.csv
    assert "<svg" in today.html and "<script" not in today.html and "Service level by queue" in today.html


async def test_a_replica_dying_mid_report_is_taken_over_and_restarts_neither_skip_nor_repeat(repo, contacts) -> None:
    now = utcnow()
    yesterday = containing(PeriodKind.DAY, now).previous()
    # Replica A claims yesterday and dies before finishing: its lease keeps others off until it runs out.
    assert await repo.claim(yesterday, "r-a", now, LEASE)
    b = _replica(repo, contacts, "r-b")
    made = await b.run_due(now)
    assert yesterday.name not in made and len(made) == 5
    assert await b.run_due(now + LEASE / 2) == []
    assert await repo.claim(yesterday, "r-a", now, LEASE)  # its owner may try again at once
    assert await b.run_due(now + LEASE + dt.timedelta(seconds=1)) == [yesterday.name]
    taken = await repo.get(yesterday.name)
    assert (taken.generated_by, taken.claims) == ("r-b", 3)  # A twice, then B
    # A, back from the dead, cannot overwrite it; restarted under a new name it finds nothing to do.
    assert not await repo.complete(yesterday, "r-a", now, Contents(0, "stale", "stale"))
    assert (await repo.get(yesterday.name)).html == taken.html
    restarted = _replica(repo, contacts, "r-a2")
    assert await restarted.run_due(now + LEASE * 2) == []
    # Down across midnight: the first run after it makes the day it missed (and nothing twice).
    later = now + dt.timedelta(days=1)
    missed = _due(later) - _due(now)
    assert set(await restarted.run_due(later)) == missed and containing(PeriodKind.DAY, now).name in missed


async def test_report_service_replicas_serve_supervisors_one_report_per_period(
        start_service, settings, contacts, client_settings) -> None:
    own = settings_for(settings, ReportSettings, database="reports", sessions_addr=contacts.sessions_addr,
                       report_check_seconds=0.2, report_catch_up=2, **client_settings("reports"))
    replicas = [await start_service(REPORTS, settings_override=own) for _ in range(2)]
    async with grpc.aio.insecure_channel(replicas[0].address) as channel:
        stub = reports_pb2_grpc.ReportServiceStub(channel)
        supervisor = bearer(contacts.authority.mint("S-1", Role.SUPERVISOR))

        async def listed() -> list[rpb.Report]:
            return list((await stub.ListReports(rpb.ListReportsRequest(page_size=50), metadata=supervisor)).reports)

        reports = await eventually(listed, lambda found: len(found) == 6, what="6 reports")
        names = [r.name for r in reports]
        assert len(set(names)) == 6 and all(r.generated_by.startswith("reports-") for r in reports)
        weekly = await stub.ListReports(rpb.ListReportsRequest(period=rpb.REPORT_PERIOD_WEEK), metadata=supervisor)
        assert [r.period for r in weekly.reports] == [rpb.REPORT_PERIOD_WEEK] * 2
        whole = await stub.GetReport(rpb.GetReportRequest(name=weekly.reports[0].name), metadata=supervisor)
        assert whole.csv.startswith("dimension,key,offered") and "<svg" in whole.html
        agent = bearer(contacts.authority.mint("A-1", Role.AGENT, groups=("chat",)))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ListReports(rpb.ListReportsRequest(), metadata=agent)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetReport(rpb.GetReportRequest(name="day-2999-01-01"), metadata=supervisor)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_every_rpc_has_a_rule_and_needs_a_token(start_service, settings, client_settings) -> None:
    assert_table_matches_protos(REPORTS_ACCESS, rpb.DESCRIPTOR)
    own = settings_for(settings, ReportSettings, report_check_seconds=3600, **client_settings("reports"))
    await assert_every_rpc_needs_a_token((await start_service(REPORTS, settings_override=own)).address,
                                         rpb.DESCRIPTOR)
