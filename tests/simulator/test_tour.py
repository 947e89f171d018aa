"""`omni tour` against a whole stack started in the test, the way `make run` starts it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from omni.cli.main import main
from omni.devstack.stack import DevStack
from omni.kpis import figures as kpis
from omni.kpis import stored
from omni.simulator import tour
from omni.simulator.live import StackAccess, fetch_sessions


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One stack for the module, started as `make run` starts it. The tour runs first (the file's
    order): the live report's test leaves its chat waiting in a queue, where the tour's agent would
    be offered it."""
    data = tmp_path_factory.mktemp("stack")
    stack = DevStack(data, ephemeral=True)
    try:
        stack.start()
        asyncio.run(stack.seed())
        stack.start_bots()
        yield data
    finally:
        stack.stop()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_tour_customer_calls_chats_and_emails_into_one_ticket(stack_dir: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    access = StackAccess.open(stack_dir)
    lines: list[str] = []
    result = asyncio.run(tour.run(access, lines.append, step_seconds=30))
    assert [h.channel for h in result.handled] == ["chat", "phone", "email"]
    assert result.one_ticket_for_all_channels, "\n".join(lines)
    assert any("one ticket holds the call, the chat and the email" in line for line in lines)
    # The second customer's parcel question was answered by the stack's bot, from the knowledge base.
    assert result.bot_answer.startswith("Where is my parcel? Tracking your order"), "\n".join(lines)
    assert result.bot_resolved, "\n".join(lines)

    # The same stack's stored sessions feed the live KPI report.
    records = stored.contact_records(asyncio.run(fetch_sessions(access)))
    answered = [r for r in records if r.outcome == "answered"]
    assert {r.channel for r in answered} >= {"phone", "chat", "email"}
    assert kpis.compute(records).answered >= 3
    assert main(["--data-dir", str(stack_dir), "report", "--out", str(stack_dir / "report")]) == 0
    assert (stack_dir / "report" / "report.html").exists()
    capsys.readouterr()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_live_report_reads_the_stacks_stored_sessions(stack_dir: Path) -> None:
    async def chat() -> str:
        access = StackAccess.open(stack_dir)
        async with websockets.connect(access.websocket_url) as ws:
            await ws.send(json.dumps({"start": {"handle": "web-report", "display_name": "Zhang San"}}))
            while "started" not in (frame := json.loads(await asyncio.wait_for(ws.recv(), 10))):
                pass
            await ws.send(json.dumps({"text": {"text": "my invoice was charged twice"}}))
            # Shown back to the customer once stored (and the chat queued): the report can see it.
            while "message" not in json.loads(await asyncio.wait_for(ws.recv(), 10)):
                pass
            return str(frame["started"]["session_id"])

    session_id = asyncio.run(chat())
    out = stack_dir / "live-report"
    assert main(["--data-dir", str(stack_dir), "report", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["meta"]["mode"] == "live"
    assert report["overall"]["offered"] >= 1 and "billing" in report["by_queue"]
    # Routing's follow-ups are read too (none scheduled here).
    assert report["follow_ups"]["due"] == 0 and report["follow_ups"]["on_time_rate"] is None
    records = stored.contact_records(asyncio.run(fetch_sessions(StackAccess.open(stack_dir))))
    assert session_id in {r.contact_id for r in records}
    # This week so far, as the scheduled weekly report will count it: HTML with charts and CSV.
    assert main(["--data-dir", str(stack_dir), "report", "--period", "week", "--out", str(out)]) == 0
    [page] = out.glob("week-*.html")
    assert "<svg" in page.read_text() and "<script" not in page.read_text()
    assert "<h2>Follow-ups</h2>" in page.read_text()
    assert "queue,billing," in page.with_suffix(".csv").read_text()


def test_tour_without_a_stack_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"make run"):
        main(["--data-dir", str(tmp_path), "tour"])
