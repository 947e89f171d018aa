"""The routing engine's side of the self-service bots: work overflows to the bot lane, a bot
worker takes it on a claim it renews, and either resolves it or hands it back to a person.
"""

from __future__ import annotations

from collections.abc import Iterable

from omni.routing.domain.dispatch import Dispatcher
from omni.routing.domain.stats import Kind
from omni.routing.domain.work import Reason, Work, WorkState


class BotWork(Dispatcher):
    def take_bot_work(self, worker_id: str, queue_ids: Iterable[str]) -> Work | None:
        """The oldest unclaimed overflow work of the named queues (all queues if none named)."""
        return self._bots.take(worker_id, queue_ids, self.clock())

    def renew_bot_claim(self, work_id: str, worker_id: str) -> float:
        """Extend a bot worker's claim by another claim period from now; the new expiry."""
        return self._bots.renew(self.get(work_id), worker_id, self.clock())

    def complete_bot_work(self, work_id: str, resolved: bool, handoff_queue_id: str = "", reason: str = "",
                          worker_id: str = "") -> Work:
        work = self.get(work_id)
        self._bots.check_completion(work, worker_id)
        now = self.clock()
        self._bots.remove(work)
        if resolved:
            work.answer_time = now
            work.disposition = "resolved_by_bot"
            self._finish(work, WorkState.COMPLETED, now)
            self._journal.notify("work_completed", work, agent_id=work.bot_worker, disposition=work.disposition,
                                 reason=reason)
            return work
        target = self.queue(handoff_queue_id or work.queue_id)
        work.queue_id = target.id
        work.state = WorkState.WAITING
        # Named in the event like the agent an agent's transfer comes from: sessions records who handed over.
        bot, work.bot_worker = work.bot_worker, ""
        work.reasons.append(Reason("bot_handoff", reason or "the bot handed over to a person"))
        # Keeps its original arrival: the customer does not go to the back of the line.
        self._into_line(work)
        self._journal.notify("work_transferred", work, agent_id=bot, reason=reason or "bot handoff")
        self._pending_work[work.id] = None
        self._dispatch()
        return work

    def _to_bot(self, work: Work, reason: str) -> None:
        work.state = WorkState.OVERFLOWED_TO_BOT
        self._bots.add(work)
        self._metrics.record(work.queue_id, self.clock(), Kind.OVERFLOWED)
        self._journal.notify("work_overflowed", work, reason=reason)
