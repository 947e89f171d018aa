"""The period report's callbacks: booked, kept and failed, attempts per contact and the contact
rate, per row of the CSV and the HTML, and the calls by hour of the day."""

from __future__ import annotations

import csv
import datetime as dt
import io

from omni.kpis.records import ContactRecord
from omni.reports.domain import document
from omni.reports.domain.periods import PeriodKind, containing

NINE = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC).timestamp()


def callback(contact_id: str, calls: list[tuple[float, bool]], reached: bool | None) -> ContactRecord:
    return ContactRecord(contact_id=contact_id, customer_id=contact_id, matter_id=contact_id, channel="phone",
                         queue="billing", intent="billing", arrived=NINE - 600, callback=True,
                         outcome="answered" if reached else "unanswered", callback_attempts=len(calls),
                         callback_reached=reached, calls=calls,
                         answered=calls[-1][0] if reached else None)


def test_the_period_report_counts_callbacks_and_the_contact_rate_by_hour() -> None:
    records = [callback("kept", [(NINE, False), (NINE + 3 * 3600, True)], True),
               callback("failed", [(NINE + 60, False), (NINE + 3 * 3600 + 60, False)], False)]
    rows = document.groups(records)
    overall = next(csv.DictReader(io.StringIO(document.to_csv(rows))))
    assert (overall["callbacks"], overall["callbacks_kept"], overall["callbacks_failed"]) == ("2", "1", "1")
    assert (overall["attempts_per_contact"], overall["contact_rate"]) == ("4.0000", "0.2500")
    page = document.to_html(containing(PeriodKind.DAY, dt.datetime.fromtimestamp(NINE, dt.UTC)), rows, records,
                            dt.datetime.now(dt.UTC))
    assert "Callback calls by hour (UTC)" in page
    assert "<tr><td>09:00</td><td>2</td><td>0</td><td>0.0 %</td></tr>" in page
    assert "<tr><td>12:00</td><td>2</td><td>1</td><td>50.0 %</td></tr>" in page
    # A day without callback calls has no such table.
    assert "Callback calls" not in document.to_html(containing(PeriodKind.DAY, dt.datetime.now(dt.UTC)), [], [],
                                                    dt.datetime.now(dt.UTC))
