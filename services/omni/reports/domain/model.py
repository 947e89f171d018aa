"""A stored report and what a replica writes into it."""

from __future__ import annotations

import dataclasses
import datetime as dt

from omni.reports.domain.periods import PeriodKind


@dataclasses.dataclass(frozen=True)
class StoredReport:
    name: str
    kind: PeriodKind
    start: dt.datetime
    end: dt.datetime
    generate_time: dt.datetime
    generated_by: str
    contacts: int
    # How many times a replica claimed the period: 1 unless one died while generating it.
    claims: int
    html: str = ""
    csv: str = ""


@dataclasses.dataclass(frozen=True)
class Contents:
    contacts: int
    html: str
    csv: str
