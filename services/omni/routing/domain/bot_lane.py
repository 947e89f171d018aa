"""The bot overflow lane: work handed to the self-service bots, per queue in arrival order.

A bot worker takes the oldest unclaimed work and holds it on a claim that lapses unless the
worker renews it, so work of a worker that went silent goes to another.
"""

from __future__ import annotations

from collections.abc import Iterable

from omni.routing.domain.deadlines import Deadlines, Due
from omni.routing.domain.journal import Journal
from omni.routing.domain.work import Work, WorkState
from omni.runtime.errors import FailedPrecondition

# A bot worker's claim on work it took lasts this long unless it renews it.
BOT_CLAIM_SECONDS = 300.0


class BotLane:
    def __init__(self, deadlines: Deadlines, journal: Journal, claim_seconds: float = BOT_CLAIM_SECONDS) -> None:
        self._deadlines = deadlines
        self._journal = journal
        self._claim_seconds = claim_seconds
        self._lanes: dict[str, dict[str, Work]] = {}

    def add_queue(self, queue_id: str) -> None:
        self._lanes.setdefault(queue_id, {})

    def add(self, work: Work) -> None:
        self._lanes[work.queue_id][work.id] = work

    def remove(self, work: Work) -> None:
        self._lanes[work.queue_id].pop(work.id, None)

    def unclaimed(self, queue_id: str) -> int:
        return sum(1 for work in self._lanes[queue_id].values() if not work.bot_worker)

    def claimed(self, queue_id: str) -> int:
        """Conversations a bot worker holds now (what a worker scaled down would have in hand)."""
        return len(self._lanes[queue_id]) - self.unclaimed(queue_id)

    def take(self, worker_id: str, queue_ids: Iterable[str], now: float) -> Work | None:
        """Claim the oldest unclaimed work of the named queues (all queues if none named)."""
        best: Work | None = None
        for queue_id in list(queue_ids) or list(self._lanes):
            for work in self._lanes.get(queue_id, {}).values():
                if not work.bot_worker:
                    if best is None or work.seq < best.seq:
                        best = work
                    break
        if best is not None:
            best.bot_worker = worker_id
            self._claim(best, now)
        return best

    def renew(self, work: Work, worker_id: str, now: float) -> float:
        """Extend the worker's claim by another claim period from now; the new expiry."""
        _check_with_bots(work)
        # A lapsed claim is not renewed even before tick() noticed: another worker may take it any moment.
        if work.bot_worker != worker_id or work.bot_claim_expires <= now:
            holder = work.bot_worker if work.bot_worker != worker_id else ""
            raise FailedPrecondition(f"work {work.id} is no longer with {worker_id}: its claim lapsed"
                                     + (f" and the work is with {holder}" if holder else ""))
        self._claim(work, now)
        return work.bot_claim_expires

    def check_completion(self, work: Work, worker_id: str) -> None:
        _check_with_bots(work)
        if worker_id and work.bot_worker != worker_id:
            raise FailedPrecondition(f"work {work.id} is no longer with {worker_id}: its claim lapsed and the work "
                                     f"is with {work.bot_worker or 'no bot yet'}")

    def lapse(self, work: Work, expires: float) -> None:
        """The claim until `expires` ran out, unless the work moved on or the claim was renewed since."""
        if work.state is WorkState.OVERFLOWED_TO_BOT and work.bot_claim_expires == expires:
            work.bot_worker = ""
            self._journal.changed(work)

    def restore(self, work: Work, now: float) -> None:
        """Put back work loaded from storage."""
        # A claim still running survives the restart: its worker is mid-conversation and renews it.
        if work.bot_worker and work.bot_claim_expires > now:
            self._deadlines.at(work.bot_claim_expires, Due.BOT_CLAIM, work.id, work.bot_claim_expires)
        else:
            work.bot_worker = ""
        self.add(work)

    def _claim(self, work: Work, now: float) -> None:
        work.bot_claim_expires = now + self._claim_seconds
        self._deadlines.at(work.bot_claim_expires, Due.BOT_CLAIM, work.id, work.bot_claim_expires)
        self._journal.changed(work)


def _check_with_bots(work: Work) -> None:
    if work.state is not WorkState.OVERFLOWED_TO_BOT:
        raise FailedPrecondition(f"work {work.id} is {work.state.value}, not with the self-service bots")
