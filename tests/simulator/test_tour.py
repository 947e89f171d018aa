"""`omni tour` against a whole stack started in the test, the way `make run` starts it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from omni.cli.main import main
from omni.devstack import DevStack
from omni.simulator import kpis, stored, tour
from omni.simulator.live import StackAccess, fetch_sessions


@pytest.fixture
def stack_dir(tmp_path: Path) -> Iterator[Path]:
    stack = DevStack(tmp_path, ephemeral=True)
    try:
        stack.start()
        asyncio.run(stack.seed())
        yield tmp_path
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

    # The same stack's stored sessions feed the live KPI report.
    records = stored.contact_records(asyncio.run(fetch_sessions(access)))
    answered = [r for r in records if r.outcome == "answered"]
    assert {r.channel for r in answered} >= {"phone", "chat", "email"}
    assert kpis.compute(records).answered >= 3
    assert main(["--data-dir", str(stack_dir), "report", "--out", str(stack_dir / "report")]) == 0
    assert (stack_dir / "report" / "report.html").exists()
    capsys.readouterr()


def test_tour_without_a_stack_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"make run"):
        main(["--data-dir", str(tmp_path), "tour"])
