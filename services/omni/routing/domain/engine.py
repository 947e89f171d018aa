"""The routing engine: every operation on queues, agents and work, in one object.

Pure (no gRPC, MongoDB or NATS): the service wraps it with persistence, events and the agent
desktop; the simulator drives the same object on a virtual clock (`clock`, any () -> seconds).
Every method is synchronous and fast; call them from one task (the service holds a lock).

Work is routed inside each call (`dispatch`). Offers wait for `accept`; `tick()` moves
unanswered ones on (RONA) and ends holds when `next_deadline()` comes. `drain()` hands over
what happened (notices and changed work and agents) to persist and publish. The parts beside
this module: `engine_state` (the state, read-only queries), `dispatch` (offering and the state
changes operations share), `bot_work` (the self-service bots' side), `roster` (queues, agents,
groups), `lines` (waiting lines), `bot_lane`, `deadlines`, `queue_metrics` (statistics, wait
estimates) and `journal`.
"""

from __future__ import annotations

from collections.abc import Iterable

from omni.routing.domain import policy
from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.bot_work import BotWork
from omni.routing.domain.deadlines import Due
from omni.routing.domain.journal import Changes
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.stats import Kind
from omni.routing.domain.transfers import TransferReason, transfer_reason
from omni.routing.domain.work import CALLBACK_REACHED, WAITING_STATES, Reason, Turn, Work, WorkState
from omni.runtime.errors import FailedPrecondition, InvalidArgument


class RoutingEngine(BotWork):
    # ----- configuration -------------------------------------------------------

    def put_queue(self, queue: QueueConfig) -> None:
        self._roster.put_queue(queue)
        self._vacancies.forget()
        self._metrics.forget_slots()
        self._metrics.add_queue(queue)
        self._lines.add_queue(queue.id)
        self._bots.add_queue(queue.id)
        self._pending_agents.update(dict.fromkeys(self._roster.agent_ids_of(queue)))
        self._dispatch()

    def put_agent(self, agent: Agent) -> Agent:
        """Add an agent, or replace the profile of a known one (presence and work are kept)."""
        current = self._roster.put_agent(agent)
        self._vacancies.forget()
        self._metrics.forget_slots()
        self._journal.touched(current)
        self._pending_agents[current.id] = None
        self._dispatch()
        return current

    # ----- presence ------------------------------------------------------------------

    def set_agent_status(self, agent_id: str, status: AgentStatus, reason: str = "") -> Agent:
        return self._set_status(self.agent(agent_id), status, reason)

    def agent_disconnected(self, agent_id: str, grace: float) -> None:
        """The desktop went away: unless it comes back within `grace`, the agent goes offline."""
        self.agent(agent_id)
        self._deadlines.disconnected(agent_id, self.clock() + grace)

    def agent_connected(self, agent_id: str) -> None:
        self.agent(agent_id)
        self._deadlines.connected(agent_id)

    # ----- work ----------------------------------------------------------------------

    def enqueue(self, work: Work) -> Work:
        """Queue new work (idempotent on id) and route it if someone can take it now."""
        existing = self._work.get(work.id)
        if existing is not None:
            return existing
        now = self.clock()
        queue = self._arrive_tiered(work, self.queue(work.queue_id), now)
        self._work[work.id] = work
        to_bots = policy.admit(work, queue, len(self._lines.of(queue.id)), now)
        if to_bots:
            self._to_bot(work, to_bots)
            return work
        if work.state is WorkState.CALLBACK_SCHEDULED:
            self._deadlines.at(work.not_before, Due.HOLD, work.id, 0)
        self._into_line(work)
        self._schedule_holds(work)
        queued = self._journal.notify(
            "callback_scheduled" if work.state is WorkState.CALLBACK_SCHEDULED else "work_queued",
            work, reason=";".join(r.code for r in work.reasons))
        if work.callback_offered:
            # Told apart from the queued event so whoever books callbacks hears of the offer.
            self._journal.notify("callback_offered", work, reason=next(
                r.detail for r in work.reasons if r.code == "callback_offered"))
        self._pending_work[work.id] = None
        self._dispatch()
        # Estimated once routing had its go, so work offered at once is told it will not wait;
        # the queued event carries the same figure.
        work.estimated_wait = queued.estimated_wait = self._estimate(work) if work.state in WAITING_STATES else 0.0
        return work

    def restore(self, work: Work) -> None:
        """Put back work loaded from storage (after a restart), keeping its place; no events."""
        self._seq = max(self._seq, work.seq)
        if not self.has_queue(work.queue_id):
            return
        self._metrics.restore(work)
        if work.state is WorkState.OFFERED:
            # The offer died with the old process; the agent's desktop will get a fresh one.
            work.state, work.offered_agent_id = WorkState.WAITING, ""
        self._work[work.id] = work
        if work.state in WAITING_STATES:
            self._into_line(work)
            self._schedule_holds(work)
            self._pending_work[work.id] = None
        elif work.state is WorkState.OVERFLOWED_TO_BOT:
            self._bots.restore(work, self.clock())
        elif work.state is WorkState.ASSIGNED:
            holder = self._roster.find_agent(work.assigned_agent_id)
            if holder is not None:
                holder.holding[work.id] = work.channel
                self._vacancies.changed(holder)

    def restore_history(self, work: Work) -> None:
        """Feed finished work from storage into the rolling statistics."""
        self._metrics.restore(work)

    def add_reasons(self, work_id: str, reasons: Iterable[Reason]) -> Work:
        """Note more reasons on live work (kept with it, not announced)."""
        work = self.get(work_id)
        work.reasons.extend(reasons)
        self._journal.changed(work)
        return work

    def customer_turn(self, work_id: str, turn: Turn) -> Work:
        """A later turn of the customer's conversation (see `policy.escalate_turn`): waiting work
        it escalates is re-ranked in its line and routed again; offered or connected work keeps
        its agent. Either way the supervisors hear of it (`work_escalated`, with the reason)."""
        work = self.get(work_id)
        if turn.interaction_id in (work.interaction_id, work.last_turn_id) or (
                work.state is WorkState.OVERFLOWED_TO_BOT):
            return work  # a redelivery, or the bot's conversation
        work.last_turn_id = turn.interaction_id
        waiting = work.state in WAITING_STATES
        if waiting:
            self._lines.leave(work)  # re-ranked, not gone: the line's pace does not count it
        reason = policy.escalate_turn(work, self.queue(work.queue_id), turn, self.clock())
        if waiting:
            self._lines.enter(work, self.clock())
        self._journal.changed(work)
        if reason is None:
            return work
        if work.escalation_until > self.clock():
            self._deadlines.at(work.escalation_until, Due.HOLD, work.id, 0)
        self._journal.notify("work_escalated", work, agent_id=work.assigned_agent_id or work.offered_agent_id,
                             reason=f"{reason.code}: {reason.detail}")
        if waiting:
            self._pending_work[work.id] = None
            self._dispatch()
        return work

    def accept(self, agent_id: str, work_id: str) -> Work:
        work = self._offered_to(agent_id, work_id)
        agent = self.agent(agent_id)
        now = self.clock()
        previous = agent.status
        agent.accepted(work.id, now)
        work.state = WorkState.ASSIGNED
        work.assigned_agent_id = agent_id
        work.answer_time = now
        if not work.callback_number:
            # A callback is answered when a call of it reaches the customer (`callback_reached`).
            self._metrics.record(work.queue_id, now, Kind.ANSWERED, now - work.enqueue_time)
        self._journal.notify("offer_accepted", work, agent_id=agent_id)
        self._journal.notify("work_assigned", work, agent_id=agent_id)
        self._journal.agent_changed(agent, previous)
        return work

    def reject(self, agent_id: str, work_id: str, reason: str = "") -> Work:
        work = self._offered_to(agent_id, work_id)
        self._withdraw_offer(work, reason or "rejected", counts=True, kind="offer_rejected")
        self._dispatch()
        return work

    def complete(self, agent_id: str, work_id: str, disposition: str = "", note: str = "") -> Work:
        work = self.get(work_id)
        if work.state is not WorkState.ASSIGNED or work.assigned_agent_id != agent_id:
            raise FailedPrecondition(f"work {work_id} is {work.state.value}"
                                     + (f" with {work.assigned_agent_id}" if work.assigned_agent_id else "")
                                     + f", not assigned to {agent_id}; only the assigned agent wraps it up")
        now = self.clock()
        work.disposition, work.wrap_up_note = disposition, note
        self._metrics.handled(work.queue_id, now, now - work.answer_time)
        self._finish(work, WorkState.COMPLETED, now)
        self._journal.notify("work_completed", work, agent_id=agent_id, disposition=disposition)
        self._release(agent_id, work.id)
        self._dispatch()
        return work

    def abandon(self, work_id: str, reason: str = "customer left") -> Work:
        work = self.get(work_id)
        if work.state is WorkState.ASSIGNED:
            raise FailedPrecondition(f"work {work_id} is already with agent {work.assigned_agent_id}; "
                                     "the agent wraps it up instead")
        now = self.clock()
        if work.state is WorkState.OFFERED:
            agent_id = work.offered_agent_id
            self._journal.notify("offer_revoked", work, agent_id=agent_id, reason=reason)
            self._release(agent_id, work.id)
        self._leave_line(work)
        self._bots.remove(work)
        if not work.follow_up_due:  # a follow-up cancelled is no customer who gave up waiting
            self._metrics.record(work.queue_id, now, Kind.ABANDONED, now - work.enqueue_time)
        self._finish(work, WorkState.ABANDONED, now)
        self._journal.notify("work_abandoned", work, reason=reason)
        self._dispatch()
        return work

    def schedule_callback(self, work_id: str, number: str = "", not_before: float = 0.0) -> Work:
        work = self.get(work_id)
        if work.state not in WAITING_STATES:
            raise FailedPrecondition(f"work {work_id} is {work.state.value}; only waiting work can take a callback")
        work.state = WorkState.CALLBACK_SCHEDULED
        work.callback_number = number or work.callback_number
        if not_before > self.clock():
            work.not_before = not_before
            self._deadlines.at(not_before, Due.HOLD, work.id, 0)
            self._lines.hold(work)
        work.reasons.append(Reason("callback", "keeps its place in line"))
        self._journal.notify("callback_scheduled", work, reason="customer chose a callback")
        return work

    def announce_callback(self, work_id: str, attempt: int, not_before: float = 0.0) -> None:
        """Ask for the SMS that tells the customer call `attempt` of their callback is coming (sent
        no earlier than `not_before`)."""
        self._journal.notify("callback_sms_requested", self.get(work_id), reason=f"before callback attempt {attempt}",
                             at=not_before)

    def callback_reached(self, work_id: str, detail: str) -> None:
        """A call of the callback the agent holds reached the customer: answered now."""
        work = self.get(work_id)
        now = self.clock()
        self._metrics.record(work.queue_id, now, Kind.ANSWERED, now - work.enqueue_time)
        self.add_reasons(work.id, [Reason(CALLBACK_REACHED, detail)])

    def requeue_callback(self, work_id: str, not_before: float, reason: str) -> Work:
        """An accepted callback whose call did not reach the customer: its agent is free again and
        it waits in its old place until `not_before` (domain/callbacks.py decides when)."""
        work = self.get(work_id)
        if work.state is not WorkState.ASSIGNED:
            raise FailedPrecondition(f"work {work_id} is {work.state.value}; only a callback being called is retried")
        agent_id, work.assigned_agent_id, work.answer_time = work.assigned_agent_id, "", 0.0
        work.state, work.not_before = WorkState.CALLBACK_SCHEDULED, not_before
        self._deadlines.at(not_before, Due.HOLD, work.id, 0)
        self._into_line(work)
        self._journal.notify("callback_scheduled", work, agent_id=agent_id, reason=reason)
        self._release(agent_id, work.id)
        self._pending_work[work.id] = None
        self._dispatch()
        return work

    def transfer(self, work_id: str, code: TransferReason | None, note: str = "", target_queue_id: str = "",
                 target_agent_id: str = "") -> Work:
        """Pass work on to another queue and/or agent; `code` says why (with a free-text `note`)."""
        reason = transfer_reason(code, note)
        work = self.get(work_id)
        if not target_queue_id and not target_agent_id:
            raise InvalidArgument("name a target queue or a target agent for the transfer")
        target = self.queue(target_queue_id or work.queue_id)
        if target_agent_id:
            self.agent(target_agent_id)
        now = self.clock()
        source_agent = self._pass_on(work, target, target_agent_id, now)
        kept = (work.target, work.deadline - work.rank)
        self._arrive_tiered(work, target, now)
        policy.keep_deadline(work, *kept, now)
        work.reasons.insert(0, Reason("transfer", reason))
        self._into_line(work)
        self._schedule_holds(work)
        # The event says what the agent wrote (the code alone when they wrote nothing).
        self._journal.notify("work_transferred", work, agent_id=source_agent, reason=note.strip() or reason)
        self._pending_work[work.id] = None
        self._dispatch()
        return work

    def transfer_away(self, work_id: str, code: TransferReason | None, note: str, target: QueueConfig,
                      target_agent_id: str = "") -> Work:
        """Pass work on to `target`, a queue of a partition another replica routes: it leaves this
        engine waiting in `target` from now (classified for it, numbered here), for the owner of
        that partition to take as it is written."""
        reason = transfer_reason(code, note)
        work = self.get(work_id)
        now = self.clock()
        source_agent = self._pass_on(work, target, target_agent_id, now)
        self._seq += 1
        work.seq = self._seq
        work.enqueue_time = work.ring_start = now
        work.state = WorkState.WAITING
        work.reasons = [Reason("transfer", reason), *policy.classify(work, target, now)]
        del self._work[work.id]
        self._pending_work.pop(work.id, None)
        self._journal.notify("work_transferred", work, agent_id=source_agent, reason=note.strip() or reason)
        self._dispatch()
        return work

    def _pass_on(self, work: Work, target: QueueConfig, target_agent_id: str, now: float) -> str:
        """Take work off its queue and agent for a transfer to `target`; the agent who had it."""
        if work.state not in (*WAITING_STATES, WorkState.ASSIGNED, WorkState.OFFERED):
            raise FailedPrecondition(f"work {work.id} is {work.state.value}; it cannot be transferred")
        if target.id in work.transferred_from_queues:
            raise FailedPrecondition(f"work {work.id} was transferred away from {target.id}; it does not go back")
        if target_agent_id in work.transferred_from_agents:
            raise FailedPrecondition(f"agent {target_agent_id} transferred work {work.id} away; "
                                     "it does not go back to them")
        source_agent = work.assigned_agent_id or work.offered_agent_id
        # Never back to whoever handed it on: the agent who held it, and the queue it leaves.
        if work.assigned_agent_id:
            work.transferred_from_agents += (work.assigned_agent_id,)
        if target.id != work.queue_id:
            work.transferred_from_queues += (work.queue_id,)
        if work.state is WorkState.OFFERED:
            self._journal.notify("offer_revoked", work, agent_id=source_agent, reason="transferred")
        if source_agent:
            self._release(source_agent, work.id)
        self._leave_line(work)
        work.transfer_count += 1
        # The value: which transfer of the contact this is (the second and later are repeats).
        self._metrics.record(work.queue_id, now, Kind.TRANSFERRED, work.transfer_count)
        work.queue_id = target.id
        work.offered_agent_id = work.assigned_agent_id = ""
        # The customer's target travels with them, and so does the time they waited in line.
        work.waited += (work.answer_time or now) - work.enqueue_time
        work.answer_time = 0.0
        work.preferred_agent_id = target_agent_id
        return source_agent

    # ----- time and changes --------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock()
        for kind, key, token in self._deadlines.due(now):
            if kind is Due.GRACE:
                if self._deadlines.grace_holds(key, token) and self.agent(key).logged_in:
                    self.set_agent_status(key, AgentStatus.OFFLINE, "desktop_disconnected")
                continue
            work = self._work.get(key)
            if work is None:
                continue
            if kind is Due.OFFER and work.state is WorkState.OFFERED and work.offer_attempts == token:
                self._withdraw_offer(work, "not answered in time", counts=True, kind="offer_timed_out")
            elif kind is Due.HOLD and work.state in WAITING_STATES:
                if work.not_before and work.not_before <= now and (part := self._lines.unhold(work)) is not None:
                    self._metrics.joined(work.queue_id, part, now)
                self._pending_work[work.id] = None
            elif kind is Due.OVERFLOW and work.state is WorkState.WAITING and work.ring_start == token:
                self._overflow(work, now)
            elif kind is Due.BOT_CLAIM:
                self._bots.lapse(work, token)
        self._dispatch()

    def drain(self) -> Changes:
        """Hand over what happened since the last drain (to persist and publish)."""
        return self._journal.drain()
