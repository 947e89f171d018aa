"""The routing engine's dispatch core: offering work to agents, and the state changes every
public operation of `engine` is built from (into and out of a line, offers made and taken back,
agents released, work finished).

Routing happens inside each call: new work is offered to the best eligible free agent at
once; an agent who gains capacity takes the highest-priority work they may take. An operation
marks what needs routing (`_pending_work`, `_pending_agents`) and calls `_dispatch()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from omni.routing.domain import policy, ranking
from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.bot_lane import BOT_CLAIM_SECONDS
from omni.routing.domain.deadlines import Due
from omni.routing.domain.engine_state import Clock, EngineState
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.stats import Kind
from omni.routing.domain.work import WAITING_STATES, Reason, Work, WorkState
from omni.runtime.errors import FailedPrecondition


class Dispatcher(EngineState):
    def __init__(self, clock: Clock, *, bot_claim_seconds: float = BOT_CLAIM_SECONDS) -> None:
        super().__init__(clock, bot_claim_seconds=bot_claim_seconds)
        self._seq = 0
        # Routing still to do, in the order it arose: agents who may take work, work to place.
        self._pending_work: dict[str, None] = {}
        self._pending_agents: dict[str, None] = {}
        # Whether a queue this engine does not hold is routed by another replica (a partition it
        # does not own): work overflowing to it is handed away rather than kept. Set by the
        # service; alone, an engine holds every queue there is.
        self.routed_elsewhere: Callable[[str], bool] = lambda queue_id: False

    def _set_status(self, agent: Agent, status: AgentStatus, reason: str) -> Agent:
        """A change of presence; leaving `available` takes the agent's open offers back."""
        previous = agent.status
        agent.set_status(status, reason, self.clock())
        self._vacancies.changed(agent)
        self._metrics.forget_slots()
        if status is AgentStatus.AVAILABLE:
            self._pending_agents[agent.id] = None
        else:
            for work_id in sorted(agent.offered):
                self._withdraw_offer(self._work[work_id], f"agent {agent.id} went {status.value}"
                                     + (f" ({reason})" if reason else ""), counts=False)
        self._journal.agent_changed(agent, previous)
        self._dispatch()
        return agent

    def _arrive(self, work: Work, queue: QueueConfig, now: float) -> None:
        """New work, or work arriving by transfer: to the back of the line, classified afresh. A
        follow-up scheduled ahead arrives (waits, rings, is ranked) from when it is due."""
        self._seq += 1
        work.seq = self._seq
        start = max(now, work.follow_up_due)
        work.enqueue_time = work.ring_start = start
        work.state = WorkState.WAITING
        work.reasons = policy.classify(work, queue, start)
        self._metrics.record(queue.id, now, Kind.ARRIVED)

    def _arrive_tiered(self, work: Work, queue: QueueConfig, now: float) -> QueueConfig:
        """`_arrive` in `queue`, or, for VIP work, in the queue's VIP queue where this engine
        holds it and the work did not leave it before; the queue the work is in."""
        target = queue.policy.vip_queue
        tiered = work.vip and bool(target) and target not in work.transferred_from_queues
        # Not held here (another replica routes it, or it does not exist): the VIP is served in
        # its own queue, ahead of the line, rather than handed on.
        held = tiered and self.has_queue(target)
        arrived_in = self.queue(target) if held else queue
        work.queue_id = arrived_in.id
        self._arrive(work, arrived_in, now)
        if held:
            work.reasons.append(Reason("vip_queue", f"VIP customer: {queue.id} -> {target}"))
        elif tiered:
            work.reasons.append(Reason("vip_queue_unavailable", f"{target} is not routed here; stays in {queue.id}"))
        return arrived_in

    def _into_line(self, work: Work) -> None:
        opened = self._lines.enter(work, self.clock())
        if opened is not None:
            self._metrics.joined(work.queue_id, opened, self.clock())
        self._journal.changed(work)

    def _leave_line(self, work: Work) -> None:
        left = self._lines.leave(work)
        if left is not None:
            self._metrics.left(work.queue_id, left[0], self.clock(), left[1])

    def _schedule_holds(self, work: Work) -> None:
        now = self.clock()
        queue_policy = self.queue(work.queue_id).policy
        rings = [work.ring_start + ring.after for ring in queue_policy.rings[1:]]
        for until in (work.affinity_until, work.escalation_until, work.not_before, *rings):
            if until > now:
                self._deadlines.at(until, Due.HOLD, work.id, 0)
        if queue_policy.overflow_queue:
            # The last ring opens after its seconds, or when the customer's own target runs out
            # if that comes first (a VIP's 15 s before a queue's 20 s).
            opens = min(work.ring_start + queue_policy.overflow_after, work.deadline)
            self._deadlines.at(max(now, opens), Due.OVERFLOW, work.id, work.ring_start)

    def _overflow(self, work: Work, now: float) -> None:
        """The last ring: waiting work moves on to the overflow queue (never back to one it left),
        keeping its deadline and its place by it. An overflow queue another replica routes gets
        the work as it is: it leaves this engine, for that queue's owner to take (as a transfer
        across partitions does)."""
        source = self.queue(work.queue_id)
        target = source.policy.overflow_queue
        here = self.has_queue(target)
        if not (here or self.routed_elsewhere(target)) or target in work.transferred_from_queues:
            return
        self._leave_line(work)
        work.transferred_from_queues += (source.id,)
        waited = now - work.ring_start
        work.queue_id, work.ring_start = target, now
        work.reasons.append(Reason("ring_overflow", f"{source.id} -> {target} after {waited:.0f}s" + (
            f" (the {work.target:g}s target)" if waited < source.policy.overflow_after else "")))
        if not here:
            del self._work[work.id]
            self._pending_work.pop(work.id, None)
            self._journal.changed(work)
            return
        self._into_line(work)
        self._schedule_holds(work)
        self._pending_work[work.id] = None

    def _finish(self, work: Work, state: WorkState, now: float) -> None:
        work.state = state
        work.end_time = now
        self._work.pop(work.id, None)
        self._journal.changed(work)

    def _offered_to(self, agent_id: str, work_id: str) -> Work:
        self.agent(agent_id)
        work = self._work.get(work_id)
        if work is None or work.state is not WorkState.OFFERED or work.offered_agent_id != agent_id:
            state = work.state.value if work is not None else "gone"
            raise FailedPrecondition(f"work {work_id} is not offered to {agent_id} (it is {state}); "
                                     "the offer was withdrawn or answered already")
        return work

    def _release(self, agent_id: str, work_id: str) -> None:
        agent = self._roster.find_agent(agent_id)
        if agent is None:
            return
        previous = agent.status
        agent.released(work_id, self.clock())
        self._vacancies.changed(agent)
        self._journal.agent_changed(agent, previous)
        self._pending_agents[agent_id] = None

    def _withdraw_offer(self, work: Work, reason: str, *, counts: bool, kind: str = "offer_rejected") -> None:
        """Take an offer back and put the work back in line (in its old place)."""
        agent_id = work.offered_agent_id
        agent = self.agent(agent_id)
        now = self.clock()
        queue = self.queue(work.queue_id)
        work.state = WorkState.WAITING
        work.offered_agent_id = ""
        work.last_missed_by = agent_id
        work.missed_hold_until = now + queue.policy.offer_timeout
        self._deadlines.at(work.missed_hold_until, Due.HOLD, work.id, 0)
        self._into_line(work)
        self._journal.notify("offer_revoked", work, agent_id=agent_id, reason=reason)
        self._journal.notify(kind, work, agent_id=agent_id, reason=reason)
        self._release(agent_id, work.id)
        if counts:
            agent.missed_offers += 1
            if agent.missed_offers >= queue.policy.max_missed_offers and agent.ready:
                self._set_status(agent, AgentStatus.BREAK, f"rona: {agent.missed_offers} offers missed in a row")
        self._pending_work[work.id] = None

    def _offer(self, work: Work, agent: Agent, reasons: Iterable[Reason], now: float) -> None:
        queue = self.queue(work.queue_id)
        self._leave_line(work)
        work.state = WorkState.OFFERED
        work.offered_agent_id = agent.id
        work.offer_attempts += 1
        work.offer_expires = now + queue.policy.offer_timeout
        work.priority = policy.overdue(work, now)
        work.reasons = [r for r in work.reasons if r.code in policy.CLASSIFY_CODES] + list(reasons)
        agent.offered_work(work.id, work.channel)
        self._vacancies.changed(agent)
        self._journal.touched(agent)
        self._metrics.record(queue.id, now, Kind.OFFERED)
        self._deadlines.at(work.offer_expires, Due.OFFER, work.id, work.offer_attempts)
        self._journal.notify("work_offered", work, agent_id=agent.id)

    def _dispatch(self) -> None:
        now = self.clock()
        while self._pending_agents or self._pending_work:
            if self._pending_agents:
                agent_id = next(iter(self._pending_agents))
                del self._pending_agents[agent_id]
                agent = self._roster.find_agent(agent_id)
                while agent is not None and agent.ready and self._route_agent(agent, now):
                    pass
                continue
            pending = [self._work[w] for w in self._pending_work if w in self._work]
            self._pending_work.clear()
            pending.sort(key=policy.line_key)
            for work in pending:
                if work.state in WAITING_STATES:
                    self._route_work(work, now)

    def _route_work(self, work: Work, now: float) -> None:
        queue = self.queue(work.queue_id)
        preferred = self._roster.find_agent(work.preferred_agent_id) if work.preferred_agent_id else None
        candidates = self._vacancies.candidates(queue, work, now, preferred)
        choice = policy.choose_agent(candidates, work, queue, now, preferred)
        if choice is not None:
            self._offer(work, choice.agent, choice.reasons, now)

    def _route_agent(self, agent: Agent, now: float) -> bool:
        """Offer `agent` the highest-priority work they may take; False when there is none."""
        if not agent.has_room():
            return False
        work = ranking.next_work(agent, self._roster, self._lines, self._work, now)
        if work is None:
            return False
        self._offer(work, agent, policy.explain(agent, work, self.queue(work.queue_id), now), now)
        return True
