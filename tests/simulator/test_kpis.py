"""KPI arithmetic on hand-made records, where every figure can be checked by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from omni.kpis import figures as kpis
from omni.kpis import seed_targets
from omni.kpis.records import AgentRecord, ContactRecord

T0 = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC).timestamp()


def contact(n: int, *, wait: float | None, outcome: str = "answered", channel: str = "phone", queue: str = "billing",
            handle: float = 300.0, transfers: int = 0, estimate: float | None = None, vip: bool = False,
            matter: str = "", follow_up: bool = False, resolved: bool = True, callback: bool = False,
            day: int = 0) -> ContactRecord:
    arrived = T0 + day * 86_400 + n * 10
    return ContactRecord(
        contact_id=f"C{n}", customer_id=f"CU{n}", matter_id=matter or f"M{n}", channel=channel, queue=queue,
        intent=queue, arrived=arrived, outcome=outcome,  # type: ignore[arg-type]
        answered=arrived + wait if outcome == "answered" and wait is not None else None,
        ended=arrived + (wait or 0) + (handle if outcome == "answered" else 0),
        handle_seconds=handle if outcome == "answered" else 0.0, transfers=transfers, estimated_wait=estimate,
        vip=vip, follow_up=follow_up, resolved=resolved and outcome == "answered", callback=callback,
    )


def test_headline_kpis_by_hand() -> None:
    records = [
        contact(1, wait=5, estimate=10, vip=True),
        contact(2, wait=30, estimate=0, transfers=1, resolved=False, matter="M-A"),
        contact(3, wait=15, transfers=2, handle=600),
        contact(4, wait=40, outcome="abandoned"),
        contact(5, wait=None, outcome="overflowed"),
        contact(6, wait=200, callback=True, matter="M-A", follow_up=True),
    ]
    agents = [AgentRecord(agent_id="A", team="t", shift_start=T0, logged_in_seconds=1000, busy_seconds=600)]
    k = kpis.compute(records, agents)
    assert (k.offered, k.answered, k.abandoned, k.overflowed) == (6, 4, 1, 1)
    assert k.answer_rate == pytest.approx(4 / 6)
    assert k.abandon_rate == pytest.approx(1 / 6)
    # Held and answered: waits 5, 30, 15 (the callback did not hold); within 20 s: 2 of (3 + 1 abandoned).
    assert k.service_level == pytest.approx(2 / 4)
    assert k.asa_seconds == pytest.approx(50 / 3)
    assert k.longest_wait_seconds == pytest.approx(40)
    assert k.aht_seconds == pytest.approx((300 + 300 + 600 + 300) / 4)
    assert k.occupancy == pytest.approx(0.6)
    assert k.transfer_rate == pytest.approx(2 / 4)
    assert k.repeat_transfer_rate == pytest.approx(1 / 4)
    # First contacts answered: 1, 2, 3; contact 2 did not resolve its matter.
    assert k.fcr == pytest.approx(2 / 3)
    assert k.callback_share == pytest.approx(1 / 6)
    assert k.vip_asa_seconds == pytest.approx(5)
    assert k.ewt_error.samples == 2
    assert k.ewt_error.mean == pytest.approx(((10 - 5) + (0 - 30)) / 2)
    assert k.ewt_error.within_10s == pytest.approx(0.5)
    assert sum(k.ewt_error.histogram) == 2


def test_empty_input_gives_counts_of_zero_and_no_ratios() -> None:
    k = kpis.compute([])
    assert k.offered == 0 and k.service_level is None and k.asa_seconds is None and k.occupancy is None


def test_service_level_uses_each_channels_target() -> None:
    records = [contact(1, wait=50, channel="chat"), contact(2, wait=50, channel="phone")]
    assert kpis.compute(records, targets={"phone": 20, "chat": 60}).service_level == pytest.approx(0.5)


def test_daily_weekly_monthly_rollups_split_by_calendar() -> None:
    # Mon 2026-11-23, Tue 24th, Mon 30th (next ISO week), Tue 1 Dec (next month).
    records = [contact(1, wait=1, day=0), contact(2, wait=1, day=1), contact(3, wait=1, day=7),
               contact(4, wait=1, day=8)]
    agents = [AgentRecord(agent_id="A", team="t", shift_start=T0 + 86_400, logged_in_seconds=100, busy_seconds=50)]
    assert list(kpis.rollup(records, agents, "day")) == ["2026-11-23", "2026-11-24", "2026-11-30", "2026-12-01"]
    weekly = kpis.rollup(records, agents, "week")
    assert {k: v.offered for k, v in weekly.items()} == {"2026-W48": 2, "2026-W49": 2}
    assert weekly["2026-W48"].occupancy == pytest.approx(0.5)
    assert {k: v.offered for k, v in kpis.rollup(records, agents, "month").items()} == {"2026-11": 3, "2026-12": 1}


def test_grouping_and_intervals() -> None:
    records = [contact(1, wait=1, queue="billing"), contact(2, wait=1, queue="support"),
               contact(200, wait=1, queue="support")]
    assert {k: v.offered for k, v in kpis.grouped(records, lambda r: r.queue).items()} == {"billing": 1,
                                                                                           "support": 2}
    series = kpis.intervals(records, 1800)
    assert [i.offered for i in series] == [2, 1]
    assert series[1].start - series[0].start == 1800


def test_seed_targets_by_hand_with_the_policys_verdicts() -> None:
    routing = [
        *(contact(n, wait=10, vip=True) for n in range(19)),
        contact(19, wait=40, vip=True),  # the one VIP in 20 over 15 s: p95 is the 19th, 10 s
        contact(20, wait=300, vip=True, callback=True),  # a callback is not a wait on hold
        contact(21, wait=25),  # past 20 s: 19 of the 22 calls held or abandoned were answered within it
        contact(22, wait=30, outcome="abandoned"),
        contact(23, wait=1000, queue="complaints", channel="email"),  # past 15 minutes
        contact(24, wait=60, queue="complaints", channel="chat", transfers=2),
        contact(25, wait=None, queue="complaints", outcome="unanswered"),
    ]
    fifo = [contact(n, wait=100, vip=True) for n in range(4)] + [contact(4, wait=50, outcome="abandoned")]
    figures = seed_targets.measure(routing)
    assert figures.vip_phone_p95 == pytest.approx(10)
    assert figures.call_service_level == pytest.approx(19 / 22)
    assert figures.complaints_answered == pytest.approx(2 / 3) and figures.others_answered == pytest.approx(22 / 23)
    assert figures.complaints_p90 == pytest.approx(1000)
    assert figures.repeat_transfers == pytest.approx(1 / 24)
    assert seed_targets.verdicts(figures, seed_targets.measure(fifo)) == {
        "vip_phone_p95": True, "call_service_level": True, "repeat_transfers": True,
        "complaints_answered": False, "complaints_p90": False, "abandoned": True}
    table = seed_targets.markdown({"day": {"fifo": fifo, "routing": routing}})
    assert "| VIP phone wait p95 ≤ 15 s | 100.0 s | 10.0 s | yes |" in table
    assert "| complaints: answer rate ≥ the other queues' | – | 66.7 % | **no** |" in table
