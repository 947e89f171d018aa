"""What the reports service does: make each completed period's report once across replicas
(`Schedule`), and show the stored reports to supervisors (`Reports`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence

from omni.kpis import follow_ups
from omni.reports.domain import document
from omni.reports.domain.model import Contents, StoredReport
from omni.reports.domain.periods import Period, PeriodKind, due
from omni.reports.repository import ReportRepository
from omni.reports.sources import RoutingFollowUps, SessionContacts
from omni.runtime.clock import utcnow
from omni.runtime.paging import Page, PageRequest
from omni.runtime.validation import require

log = logging.getLogger("omni.reports")


class Schedule:
    """Every replica runs it; the claim in the report's own document makes one of them generate
    each period, once, and lets another take over from one that died while generating."""

    def __init__(self, repo: ReportRepository, contacts: SessionContacts, follow_ups: RoutingFollowUps | None, *,
                 owner: str,
                 kinds: Sequence[PeriodKind], lease: dt.timedelta, catch_up: int) -> None:
        self._repo = repo
        self._contacts = contacts
        self._follow_ups = follow_ups
        self.owner = owner
        self._kinds = kinds
        self._lease = lease
        self._catch_up = catch_up

    async def run_due(self, now: dt.datetime) -> list[str]:
        """Generate the due reports nobody has made or is making; the names this replica made."""
        made = []
        for kind in self._kinds:
            periods = due(kind, now, self._catch_up)
            done = await self._repo.done([p.name for p in periods])
            for period in periods:
                if period.name in done or not await self._repo.claim(period, self.owner, now, self._lease):
                    continue
                if await self._generate(period):
                    made.append(period.name)
        return made

    async def _generate(self, period: Period) -> bool:
        records = await self._contacts.between(period.start, period.end)
        generated = utcnow()
        done_on_time = follow_ups.figures(await self._follow_ups.between(period.start, period.end),
                                          generated.timestamp()) if self._follow_ups is not None else None
        rows = document.groups(records)
        contents = Contents(len(records), document.to_html(period, rows, records, generated, done_on_time),
                            document.to_csv(rows))
        if not await self._repo.complete(period, self.owner, generated, contents):
            log.warning("report %s was taken over by another replica while this one generated it", period.name)
            return False
        log.info("report %s generated (%d contacts)", period.name, len(records))
        return True

    async def run(self, every: float) -> None:
        """The service loop: look for due reports now and then every `every` seconds."""
        while True:
            try:
                await self.run_due(utcnow())
            except Exception:
                log.exception("generating reports failed; trying again in %.0f s", every)
            await asyncio.sleep(every)


class Reports:
    def __init__(self, repo: ReportRepository) -> None:
        self._repo = repo

    async def list(self, kind: PeriodKind | None, page: PageRequest) -> Page[StoredReport]:
        return await self._repo.list(kind, page)

    async def get(self, name: str) -> StoredReport:
        return await self._repo.get(require(name, "name"))
