"""Stored reports, one document per period (`_id` = the period's name): the claim a replica holds
while it generates the report (owner, lease) and, in the same document, the finished report. One
document per period is what makes a period's report unique across replicas and restarts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from pymongo import DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from omni.reports.domain.model import Contents, StoredReport
from omni.reports.domain.periods import Period, PeriodKind
from omni.runtime.errors import NotFound
from omni.runtime.paging import Page, PageRequest
from omni.runtime.storage import Document, IndexDeclarations, find_page

REPORTS = "reports"
INDEXES: IndexDeclarations = {
    REPORTS: [IndexModel([("state", DESCENDING), ("kind", DESCENDING), ("start", DESCENDING), ("_id", DESCENDING)],
                         name="done_by_kind")],
}
RUNNING, DONE = "running", "done"


def _report(doc: Document) -> StoredReport:
    return StoredReport(name=doc["_id"], kind=PeriodKind(doc["kind"]), start=doc["start"], end=doc["end"],
                        generate_time=doc["generate_time"], generated_by=doc["owner"], contacts=doc["contacts"],
                        claims=doc.get("claims", 1), html=doc.get("html", ""), csv=doc.get("csv", ""))


class ReportRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._reports = db[REPORTS]

    async def done(self, names: list[str]) -> set[str]:
        found = await self._reports.find({"_id": {"$in": names}, "state": DONE}, {"_id": 1}).to_list()
        return {doc["_id"] for doc in found}

    async def claim(self, period: Period, owner: str, now: dt.datetime, lease: dt.timedelta) -> bool:
        """Take the period to generate its report: it has none, and nobody else's lease is live
        (a replica that died while generating it leaves a lease that runs out; one whose attempt
        failed, sessions being down, takes it again at once)."""
        free = {"_id": period.name, "state": RUNNING, "$or": [{"lease_until": {"$lt": now}}, {"owner": owner}]}
        try:
            await self._reports.find_one_and_update(
                free,
                {"$set": {"owner": owner, "lease_until": now + lease},
                 "$setOnInsert": {"kind": period.kind.value, "start": period.start, "end": period.end},
                 "$inc": {"claims": 1}},
                upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            return False  # done, or another replica's lease is live
        return True

    async def complete(self, period: Period, owner: str, now: dt.datetime, contents: Contents) -> bool:
        """Store the report, if `owner` still holds the period (fencing: a replica whose lease ran
        out and was taken over writes nothing)."""
        written = await self._reports.update_one(
            {"_id": period.name, "state": RUNNING, "owner": owner},
            {"$set": {"state": DONE, "generate_time": now, "contacts": contents.contacts, "html": contents.html,
                      "csv": contents.csv}, "$unset": {"lease_until": ""}})
        return written.modified_count == 1

    async def list(self, kind: PeriodKind | None, page: PageRequest) -> Page[StoredReport]:
        query: dict[str, Any] = {"state": DONE}
        if kind is not None:
            query["kind"] = kind.value
        found = await find_page(self._reports, query, [("start", DESCENDING), ("_id", DESCENDING)],
                                page)
        return Page([dataclasses.replace(_report(doc), html="", csv="") for doc in found.items], found.next_after)

    async def get(self, name: str) -> StoredReport:
        doc = await self._reports.find_one({"_id": name, "state": DONE})
        if doc is None:
            raise NotFound(f"report {name} does not exist (yet): reports are made after their period ends")
        return _report(doc)
