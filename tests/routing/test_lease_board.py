"""The lease board on a real nats-server: the ownership rounds wake for news (a replica or a lease
that came, went or changed hands), not for what every replica writes each round (statistics,
renewals, announcements that repeat themselves). Waking on those kept the rounds, and their reads
of MongoDB, going back to back on an idle stack."""

from __future__ import annotations

import asyncio

import nats as nats_py

from omni.devstack.processes import ManagedProcess
from omni.routing.leases import Holder, LeaseBoard
from tests.support.polling import eventually

ME = Holder("r-1", "127.0.0.1:1")


async def not_woken(board: LeaseBoard) -> asyncio.Task[None]:
    """A round waiting for news; still waiting after the loop turned a few times."""
    waiting = asyncio.create_task(board.changed(60.0))
    for _ in range(10):
        await asyncio.sleep(0)
    assert not waiting.done(), "the round woke without news"
    return waiting


async def test_rounds_wake_for_news_only(nats: ManagedProcess) -> None:
    nc = await nats_py.connect(nats.url)
    board = await LeaseBoard.open(nc.jetstream(), ttl=30.0)
    try:
        await board.announce(ME)
        epoch = await board.acquire("p-1", ME)
        assert epoch is not None

        async def known() -> tuple[Holder | None, set[str]]:
            return board.holder("p-1"), set(board.replicas())

        await eventually(known, lambda found: found == (ME, {"r-1"}), what="the lease and the replica")
        await board.changed(0)  # what came so far is known

        # Each round: the same announcement, a renewal, statistics (last: seen once all are).
        await board.announce(ME)
        epoch = await board.renew("p-1", epoch, ME)
        assert epoch is not None
        await board.put_stats("p-1", [{"queue": "general", "waiting": 3}])
        stats = [{"queue": "general", "waiting": 3}]

        async def seen() -> list[dict[str, object]]:
            return board.stats("p-1")

        await eventually(seen, lambda found: found == stats, what="the statistics on the board")
        waiting = await not_woken(board)

        # News: another replica.
        await board.announce(Holder("r-2", "127.0.0.1:2"))
        await asyncio.wait_for(waiting, 10.0)
        assert set(board.replicas()) == {"r-1", "r-2"}

        # News: a lease given up.
        waiting = await not_woken(board)
        await board.release("p-1", epoch)
        await asyncio.wait_for(waiting, 10.0)
        assert board.holder("p-1") is None
    finally:
        await board.close()
        await nc.close()

