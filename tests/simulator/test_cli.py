"""`omni simulate` and `omni report` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omni.cli.main import main
from omni.cli.simulate import CALLBACKS_BEGIN, CALLBACKS_END, COMPARISON_BEGIN, COMPARISON_END


def test_simulate_writes_json_html_and_records_that_report_can_reread(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "night-holiday", "--strategy", "fifo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fifo" in out and "report.html" in out
    report = json.loads((tmp_path / "fifo" / "report.json").read_text())
    assert report["meta"]["scenario"] == "night-holiday" and report["meta"]["mode"] == "fast"
    assert {"overall", "by_queue", "by_channel", "daily", "weekly", "monthly", "intervals"} <= set(report)
    assert set(report["by_queue"]) == {"billing", "support", "orders", "complaints"}
    html = (tmp_path / "fifo" / "report.html").read_text()
    assert html.count("data:image/png;base64") >= 3 and "Service level" in html

    saved = tmp_path / "fifo" / "records.jsonl"
    assert main(["report", "--records", str(saved), "--out", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    assert again["overall"]["offered"] == report["overall"]["offered"]
    assert again["overall"]["service_level"] == report["overall"]["service_level"]


def test_compare_replaces_only_its_section_of_the_docs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "kpis.md"
    docs.write_text("# KPIs\n\nintro\n")
    argv = ["simulate", "night-holiday", "--compare", "--write-docs", str(docs)]
    assert main(argv) == 0
    assert main(argv) == 0
    text = docs.read_text()
    assert text.startswith("# KPIs\n\nintro\n")
    assert text.count(COMPARISON_BEGIN) == 1 and text.count(COMPARISON_END) == 1
    assert "### night-holiday" in text and "| answer rate |" in text
    # Both strategies side by side, and the waits per channel (a call's seconds, an email's hours).
    assert "| KPI | fifo | routing |" in text
    assert "| phone: VIP ASA |" in text and "| email: ASA |" in text
    assert "| answer rate |" in capsys.readouterr().out


def test_callbacks_compares_three_ways_and_replaces_only_its_own_section(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "kpis.md"
    docs.write_text(f"# KPIs\n\n{COMPARISON_BEGIN}\nstrategies\n{COMPARISON_END}\n")
    argv = ["simulate", "--callbacks", "--scale", "0.1", "--days", "1", "--write-docs", str(docs)]
    assert main(argv) == 0 and main(argv) == 0
    text = docs.read_text()
    assert f"{COMPARISON_BEGIN}\nstrategies\n{COMPARISON_END}" in text
    assert text.count(CALLBACKS_BEGIN) == 1 and text.count(CALLBACKS_END) == 1
    assert "| KPI | no callback offers | callbacks, called when due | callbacks, best time |" in text
    assert "| attempts per contact |" in text and "Contact rate by hour of the call" in text
    assert "| abandoned |" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--days must be at least 1"):
        main(["simulate", "--callbacks", "--days", "0"])


def test_report_prints_the_callbacks_and_their_contact_rate_by_hour(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    nine = 1_795_424_400.0  # 2026-11-24 09:00 UTC
    common = {"customer_id": "c", "channel": "phone", "queue": "billing", "intent": "billing", "arrived": nine,
              "callback": True}
    rows = [{"contact_id": "kept", "matter_id": "kept", "outcome": "answered", "answered": nine + 3600,
             "callback_attempts": 2, "callback_reached": True, "calls": [[nine, False], [nine + 3600, True]]},
            {"contact_id": "failed", "matter_id": "failed", "outcome": "unanswered", "callback_attempts": 1,
             "callback_reached": False, "calls": [[nine + 60, False]]}]
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps({"contact": {**common, **row}}) + "\n" for row in rows))
    assert main(["report", "--records", str(records), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert ("callbacks 2: kept 1, failed 1; 3 calls, attempts per contact 3.00, contact rate 33.3 % "
            "(by hour, UTC: 09h 0.0 % of 2, 10h 100.0 % of 1)") in out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["contact_rate_by_hour"][1] == {"hour": 10, "calls": 1, "reached": 1, "contact_rate": 1.0}
    assert "Callback calls by hour" in (tmp_path / "out" / "report.html").read_text()


def test_bad_input_gets_an_actionable_message(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="bundled scenarios"):
        main(["simulate", "no-such-day"])
    with pytest.raises(SystemExit, match="unknown strategy 'lifo'"):
        main(["simulate", "normal-day", "--strategy", "lifo"])
    with pytest.raises(SystemExit, match="--contacts must be positive"):
        main(["simulate", "normal-day", "--contacts", "0"])
    broken = tmp_path / "records.jsonl"
    broken.write_text('{"contact": {"contact_id": "x"}}\n')
    with pytest.raises(SystemExit, match=r"records\.jsonl:1: not a contact or agent record"):
        main(["report", "--records", str(broken)])
    with pytest.raises(SystemExit, match="start the stack first"):
        main(["--data-dir", str(tmp_path), "report"])
