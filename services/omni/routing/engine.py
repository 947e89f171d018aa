"""The routing engine: queues, agents, offers and timers in memory, driven by a clock.

Pure (no gRPC, MongoDB or NATS): the service wraps it with persistence, events and the agent
desktop; the simulator drives the same object on a virtual clock. Every method is synchronous
and fast; call them from one task (the service holds a lock).

Public API
----------
    engine = RoutingEngine(clock=time.time)          # any () -> float seconds
    engine.put_queue(QueueConfig(...))               # create/replace a queue's configuration
    engine.put_agent(Agent(...))                     # create/replace an agent's profile (presence kept)
    engine.set_agent_status(agent_id, AgentStatus.AVAILABLE, reason)   # also BREAK, WRAP_UP, OFFLINE
    engine.enqueue(Work(id=..., queue_id=..., channel=...)) -> Work    # idempotent on work id
    engine.accept(agent_id, work_id) / engine.reject(agent_id, work_id, reason)
    engine.complete(agent_id, work_id, disposition)  # wrap-up: frees the slot
    engine.abandon(work_id)                          # customer left before being answered
    engine.schedule_callback(work_id, number, not_before=0.0)          # keeps the place in line
    engine.transfer(work_id, reason, target_queue_id="", target_agent_id="")
    engine.agent_disconnected(agent_id, grace) / engine.agent_connected(agent_id)
    engine.take_bot_work(worker_id, queue_ids) / engine.renew_bot_claim(work_id, worker_id) -> expiry
    engine.complete_bot_work(work_id, resolved, ...)
    engine.tick()                                    # offer timeouts, holds ending, lost desktops
    engine.next_deadline() -> float | None           # when tick() next has something to do
    engine.position(work_id) -> Position             # place in line and estimated wait
    engine.queue_stats(queue_id, window) -> QueueView
    engine.drain() -> Changes                        # notices (events) and changed work/agents

Routing happens inside each call: new work is offered to the best eligible free agent at
once; an agent who gains capacity takes the highest-priority work they may take. Offers wait
for `accept`; `tick()` moves unanswered ones on (RONA). Time only moves through `clock`.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator

from omni.routing import policy
from omni.routing.agents import Agent, AgentStatus, Channel, primary_language
from omni.routing.estimates import HandleTime, Pace, steady_state_wait
from omni.routing.queues import QueueConfig
from omni.routing.stats import Kind, QueueStatistics, Snapshot
from omni.routing.work import WAITING_STATES, Reason, Work, WorkState
from omni.runtime.errors import FailedPrecondition, InvalidArgument, NotFound

Clock = Callable[[], float]
Key = tuple[float, int, str]
# A channel and (primary) language of a queue's line: the work the same agents would take.
Part = tuple[Channel, str]
# A bot worker's claim on work it took lasts this long unless it renews it; a worker that went
# silent loses the work to another then.
BOT_CLAIM_SECONDS = 300.0


@dataclasses.dataclass(frozen=True)
class Notice:
    """Something that happened. `kind` is a WorkEvent type (work_queued, work_offered, …) or
    "offer_revoked" / "agent_state_changed" (desktop only)."""

    kind: str
    work: Work | None = None
    agent: Agent | None = None
    agent_id: str = ""
    reason: str = ""
    disposition: str = ""
    previous_status: AgentStatus | None = None


@dataclasses.dataclass
class Changes:
    notices: list[Notice]
    work: list[Work]
    agents: list[Agent]


@dataclasses.dataclass(frozen=True)
class Position:
    work_id: str
    # 1-based; 0 once the work left the line.
    position: int
    estimated_wait: float
    callback_offered: bool
    state: WorkState


@dataclasses.dataclass(frozen=True)
class QueueView:
    queue_id: str
    as_of: float
    waiting: int
    longest_wait: float
    window: Snapshot
    occupancy: float
    agents_available: int
    agents_logged_in: int
    bot_waiting: int
    # Erlang C average speed of answer for a new arrival at the observed load.
    expected_wait: float
    average_handle_time: float


def part_of(work: Work) -> Part:
    return (work.channel, primary_language(work.language))


class Line:
    """One queue's waiting work, kept in routing order, and the same order within each part."""

    def __init__(self) -> None:
        self._keys: list[Key] = []
        self._parts: dict[Part, list[Key]] = {}

    def add(self, key: Key, part: Part) -> None:
        bisect.insort(self._keys, key)
        bisect.insort(self._parts.setdefault(part, []), key)

    def remove(self, key: Key, part: Part) -> None:
        for keys in (self._keys, self._parts.get(part, [])):
            index = bisect.bisect_left(keys, key)
            if index < len(keys) and keys[index] == key:
                del keys[index]

    def index(self, key: Key) -> int:
        return bisect.bisect_left(self._keys, key)

    def place(self, key: Key, part: Part) -> int:
        """1-based place among the waiting work of `part`."""
        return bisect.bisect_left(self._parts[part], key) + 1

    def waiting(self, part: Part) -> int:
        return len(self._parts.get(part, ()))

    def __iter__(self) -> Iterator[str]:
        return (key[2] for key in self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class RoutingEngine:
    def __init__(self, clock: Clock, *, bot_claim_seconds: float = BOT_CLAIM_SECONDS) -> None:
        self.clock = clock
        self.bot_claim_seconds = bot_claim_seconds
        self.queues: dict[str, QueueConfig] = {}
        self.agents: dict[str, Agent] = {}
        # Live work only (waiting, offered, assigned, with the bots); finished work is drained.
        self.work: dict[str, Work] = {}
        self._lines: dict[str, Line] = {}
        self._line_keys: dict[str, Key] = {}
        self._bot_lines: dict[str, dict[str, None]] = {}
        self._group_agents: dict[str, set[str]] = {}
        self._group_queues: dict[str, set[str]] = {}
        self._stats: dict[str, QueueStatistics] = {}
        self._handle: dict[str, HandleTime] = {}
        self._paces: dict[tuple[str, Part], Pace] = {}
        # Slots per queue and part; forgotten whenever a queue, an agent or a presence changes.
        self._slot_counts: dict[tuple[str, Part], int] = {}
        self._deadlines: list[tuple[float, int, str, str, float]] = []
        self._tie = itertools.count()
        self._seq = 0
        self._disconnects: dict[str, float] = {}
        self._pending_work: dict[str, None] = {}
        self._pending_agents: dict[str, None] = {}
        self._notices: list[Notice] = []
        self._dirty_work: dict[str, Work] = {}
        self._dirty_agents: set[str] = set()

    # ----- configuration -------------------------------------------------------------

    def put_queue(self, queue: QueueConfig) -> None:
        old = self.queues.get(queue.id)
        self.queues[queue.id] = queue
        self._slot_counts.clear()
        self._stats.setdefault(queue.id, QueueStatistics())
        if queue.id not in self._handle:
            self._handle[queue.id] = HandleTime(queue.expected_handle_time)
        self._lines.setdefault(queue.id, Line())
        self._bot_lines.setdefault(queue.id, {})
        if old is not None:
            for group in old.groups:
                self._group_queues.get(group, set()).discard(queue.id)
            if old.policy.aging_per_second != queue.policy.aging_per_second:
                self._rebuild_line(queue)
        for group in queue.groups:
            self._group_queues.setdefault(group, set()).add(queue.id)
        self._pending_agents.update(dict.fromkeys(self._queue_agent_ids(queue)))
        self._dispatch()

    def put_agent(self, agent: Agent) -> Agent:
        """Add an agent, or replace the profile of a known one (presence and work are kept)."""
        current = self.agents.get(agent.id)
        if current is None:
            current = agent
            self.agents[agent.id] = agent
        else:
            for group in current.groups:
                self._group_agents.get(group, set()).discard(agent.id)
            current.display_name = agent.display_name
            current.groups = agent.groups
            current.skills = dict(agent.skills)
            current.languages = agent.languages
            current.capacity = dict(agent.capacity)
            current.supervisor = agent.supervisor
            current.version += 1
        for group in current.groups:
            self._group_agents.setdefault(group, set()).add(agent.id)
        self._slot_counts.clear()
        self._touch_agent(current)
        self._pending_agents[current.id] = None
        self._dispatch()
        return current

    def agent(self, agent_id: str) -> Agent:
        found = self.agents.get(agent_id)
        if found is None:
            raise NotFound(f"agent {agent_id} does not exist; create it first")
        return found

    def queue(self, queue_id: str) -> QueueConfig:
        found = self.queues.get(queue_id)
        if found is None:
            raise NotFound(f"queue {queue_id!r} does not exist; known queues: {', '.join(sorted(self.queues))}")
        return found

    # ----- presence ------------------------------------------------------------------

    def set_agent_status(self, agent_id: str, status: AgentStatus, reason: str = "") -> Agent:
        agent = self.agent(agent_id)
        if status is AgentStatus.BUSY:
            raise InvalidArgument("busy is set by routing while an agent holds work; choose available, "
                                  "wrap_up, break or offline")
        now = self.clock()
        previous = agent.status
        self._slot_counts.clear()
        target_ready = status is AgentStatus.AVAILABLE
        if target_ready and agent.ready:
            agent.status_reason = reason
        else:
            agent.status = status
            agent.status_reason = reason
            agent.status_time = now
        if target_ready:
            agent.missed_offers = 0
            if not agent.holding:
                agent.idle_since = now
            agent.settle_status(now)
            self._pending_agents[agent.id] = None
        else:
            for work_id in sorted(agent.offered):
                self._withdraw_offer(self.work[work_id], f"agent {agent.id} went {status.value}"
                                     + (f" ({reason})" if reason else ""), counts=False)
        self._agent_changed(agent, previous)
        self._dispatch()
        return agent

    def agent_disconnected(self, agent_id: str, grace: float) -> None:
        """The desktop went away: unless it comes back within `grace`, the agent goes offline."""
        self.agent(agent_id)
        token = self._disconnects.get(agent_id, 0.0) + 1
        self._disconnects[agent_id] = token
        self._at(self.clock() + grace, "grace", agent_id, token)

    def agent_connected(self, agent_id: str) -> None:
        self.agent(agent_id)
        self._disconnects[agent_id] = self._disconnects.get(agent_id, 0.0) + 1

    # ----- work ----------------------------------------------------------------------

    def enqueue(self, work: Work) -> Work:
        """Queue new work (idempotent on id) and route it if someone can take it now."""
        existing = self.work.get(work.id)
        if existing is not None:
            return existing
        queue = self.queue(work.queue_id)
        now = self.clock()
        self._seq += 1
        work.seq = self._seq
        work.enqueue_time = now
        work.state = WorkState.WAITING
        work.reasons = policy.classify(work, queue, now)
        stats = self._stats[queue.id]
        stats.record(now, Kind.ARRIVED)
        self.work[work.id] = work
        if not queue.hours.is_open(now):
            if queue.hours.after_hours_action == "self_service":
                work.reasons.append(Reason("after_hours_self_service", "outside business hours"))
                self._to_bot(work, "after hours: self-service")
                return work
            work.not_before = queue.hours.next_open(now)
            work.state = WorkState.CALLBACK_SCHEDULED
            work.reasons.append(Reason("after_hours_callback", f"due at {work.not_before:.0f}"))
            self._at(work.not_before, "hold", work.id, 0)
        elif len(self._lines[queue.id]) >= queue.overflow_threshold and work.intent in queue.simple_intents:
            work.reasons.append(Reason("overflow", f"{len(self._lines[queue.id])} waiting >= "
                                                   f"{queue.overflow_threshold}; simple intent {work.intent!r}"))
            self._to_bot(work, f"{len(self._lines[queue.id])} waiting in {queue.id}")
            return work
        self._into_line(work)
        self._schedule_holds(work)
        queued = self._notify("callback_scheduled" if work.state is WorkState.CALLBACK_SCHEDULED else "work_queued",
                              work, reason=";".join(r.code for r in work.reasons))
        self._pending_work[work.id] = None
        self._dispatch()
        # Estimated once routing had its go, so work offered at once is told it will not wait;
        # the queued event carries the same figure.
        work.estimated_wait = queued.estimated_wait = self._estimate(work) if work.state in WAITING_STATES else 0.0
        return work

    def restore(self, work: Work) -> None:
        """Put back work loaded from storage (after a restart), keeping its place; no events."""
        self._seq = max(self._seq, work.seq)
        if work.queue_id not in self.queues:
            return
        stats = self._stats[work.queue_id]
        stats.record(work.enqueue_time, Kind.ARRIVED)
        if work.answer_time:
            stats.record(work.answer_time, Kind.ANSWERED, work.answer_time - work.enqueue_time)
        if work.state is WorkState.OFFERED:
            # The offer died with the old process; the agent's desktop will get a fresh one.
            work.state, work.offered_agent_id = WorkState.WAITING, ""
        self.work[work.id] = work
        if work.state in WAITING_STATES:
            self._into_line(work)
            self._schedule_holds(work)
            self._pending_work[work.id] = None
        elif work.state is WorkState.OVERFLOWED_TO_BOT:
            # A claim still running survives the restart: its worker is mid-conversation and renews it.
            if work.bot_worker and work.bot_claim_expires > self.clock():
                self._at(work.bot_claim_expires, "bot_claim", work.id, work.bot_claim_expires)
            else:
                work.bot_worker = ""
            self._bot_lines[work.queue_id][work.id] = None
        elif work.state is WorkState.ASSIGNED and work.assigned_agent_id in self.agents:
            self.agents[work.assigned_agent_id].holding[work.id] = work.channel

    def restore_history(self, work: Work) -> None:
        """Feed finished work from storage into the rolling statistics."""
        stats = self._stats.get(work.queue_id)
        if stats is None:
            return
        stats.record(work.enqueue_time, Kind.ARRIVED)
        if work.answer_time:
            stats.record(work.answer_time, Kind.ANSWERED, work.answer_time - work.enqueue_time)
        if work.state is WorkState.COMPLETED and work.answer_time and work.end_time:
            stats.record(work.end_time, Kind.COMPLETED, work.end_time - work.answer_time)
            self._handle[work.queue_id].observe(work.end_time - work.answer_time)
        elif work.state is WorkState.ABANDONED and work.end_time:
            stats.record(work.end_time, Kind.ABANDONED, work.end_time - work.enqueue_time)

    def get(self, work_id: str) -> Work:
        found = self.work.get(work_id)
        if found is None:
            raise NotFound(f"work {work_id} is not live in routing (finished or never queued)")
        return found

    def accept(self, agent_id: str, work_id: str) -> Work:
        work = self._offered_to(agent_id, work_id)
        agent = self.agents[agent_id]
        now = self.clock()
        agent.offered.discard(work.id)
        agent.missed_offers = 0
        work.state = WorkState.ASSIGNED
        work.assigned_agent_id = agent_id
        work.answer_time = now
        self._stats[work.queue_id].record(now, Kind.ANSWERED, now - work.enqueue_time)
        previous = agent.status
        agent.settle_status(now)
        self._notify("offer_accepted", work, agent_id=agent_id)
        self._notify("work_assigned", work, agent_id=agent_id)
        self._agent_changed(agent, previous)
        return work

    def reject(self, agent_id: str, work_id: str, reason: str = "") -> Work:
        work = self._offered_to(agent_id, work_id)
        self._withdraw_offer(work, reason or "rejected", counts=True, kind="offer_rejected")
        self._dispatch()
        return work

    def complete(self, agent_id: str, work_id: str, disposition: str = "") -> Work:
        work = self.get(work_id)
        if work.state is not WorkState.ASSIGNED or work.assigned_agent_id != agent_id:
            raise FailedPrecondition(f"work {work_id} is {work.state.value}"
                                     + (f" with {work.assigned_agent_id}" if work.assigned_agent_id else "")
                                     + f", not assigned to {agent_id}; only the assigned agent wraps it up")
        now = self.clock()
        work.disposition = disposition
        handle = now - work.answer_time
        self._stats[work.queue_id].record(now, Kind.COMPLETED, handle)
        self._handle[work.queue_id].observe(handle)
        self._finish(work, WorkState.COMPLETED, now)
        self._notify("work_completed", work, agent_id=agent_id, disposition=disposition)
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
            self._notify("offer_revoked", work, agent_id=agent_id, reason=reason)
            self._release(agent_id, work.id)
        self._leave_line(work)
        self._bot_lines[work.queue_id].pop(work.id, None)
        self._stats[work.queue_id].record(now, Kind.ABANDONED, now - work.enqueue_time)
        self._finish(work, WorkState.ABANDONED, now)
        self._notify("work_abandoned", work, reason=reason)
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
            self._at(not_before, "hold", work.id, 0)
        work.reasons.append(Reason("callback", "keeps its place in line"))
        self._notify("callback_scheduled", work, reason="customer chose a callback")
        return work

    def transfer(self, work_id: str, reason: str, target_queue_id: str = "", target_agent_id: str = "") -> Work:
        if not reason.strip():
            raise InvalidArgument("a transfer needs a reason (e.g. 'needs billing specialist')")
        work = self.get(work_id)
        if work.state not in (*WAITING_STATES, WorkState.ASSIGNED, WorkState.OFFERED):
            raise FailedPrecondition(f"work {work_id} is {work.state.value}; it cannot be transferred")
        if not target_queue_id and not target_agent_id:
            raise InvalidArgument("name a target queue or a target agent for the transfer")
        target = self.queue(target_queue_id or work.queue_id)
        if target_agent_id:
            self.agent(target_agent_id)
        now = self.clock()
        source_agent = work.assigned_agent_id or work.offered_agent_id
        if work.state is WorkState.OFFERED:
            self._notify("offer_revoked", work, agent_id=source_agent, reason="transferred")
        if source_agent:
            self._release(source_agent, work.id)
        self._leave_line(work)
        self._stats[work.queue_id].record(now, Kind.TRANSFERRED)
        work.queue_id = target.id
        work.transfer_count += 1
        work.state = WorkState.WAITING
        work.offered_agent_id = work.assigned_agent_id = ""
        work.answer_time = 0.0
        work.enqueue_time = now
        self._seq += 1
        work.seq = self._seq
        work.preferred_agent_id = target_agent_id
        work.reasons = policy.classify(work, target, now)
        work.reasons.insert(0, Reason("transfer", reason))
        self._stats[target.id].record(now, Kind.ARRIVED)
        self._into_line(work)
        self._schedule_holds(work)
        self._notify("work_transferred", work, agent_id=source_agent, reason=reason)
        self._pending_work[work.id] = None
        self._dispatch()
        return work

    # ----- self-service bots ---------------------------------------------------------

    def take_bot_work(self, worker_id: str, queue_ids: Iterable[str]) -> Work | None:
        """The oldest unclaimed overflow work of the named queues (all queues if none named)."""
        names = list(queue_ids) or list(self._bot_lines)
        best: Work | None = None
        for queue_id in names:
            for work_id in self._bot_lines.get(queue_id, {}):
                work = self.work[work_id]
                if not work.bot_worker:
                    if best is None or work.seq < best.seq:
                        best = work
                    break
        if best is None:
            return None
        best.bot_worker = worker_id
        self._claim(best)
        return best

    def renew_bot_claim(self, work_id: str, worker_id: str) -> float:
        """Extend a bot worker's claim by another `bot_claim_seconds` from now; the new expiry."""
        work = self.get(work_id)
        if work.state is not WorkState.OVERFLOWED_TO_BOT:
            raise FailedPrecondition(f"work {work_id} is {work.state.value}, not with the self-service bots")
        # A lapsed claim is not renewed even before tick() noticed: another worker may take it any moment.
        if work.bot_worker != worker_id or work.bot_claim_expires <= self.clock():
            holder = work.bot_worker if work.bot_worker != worker_id else ""
            raise FailedPrecondition(f"work {work_id} is no longer with {worker_id}: its claim lapsed"
                                     + (f" and the work is with {holder}" if holder else ""))
        self._claim(work)
        return work.bot_claim_expires

    def complete_bot_work(self, work_id: str, resolved: bool, handoff_queue_id: str = "", reason: str = "",
                          worker_id: str = "") -> Work:
        work = self.get(work_id)
        if work.state is not WorkState.OVERFLOWED_TO_BOT:
            raise FailedPrecondition(f"work {work_id} is {work.state.value}, not with the self-service bots")
        if worker_id and work.bot_worker != worker_id:
            raise FailedPrecondition(f"work {work_id} is no longer with {worker_id}: its claim lapsed and the work "
                                     f"is with {work.bot_worker or 'no bot yet'}")
        now = self.clock()
        self._bot_lines[work.queue_id].pop(work.id, None)
        if resolved:
            work.answer_time = now
            work.disposition = "resolved_by_bot"
            self._finish(work, WorkState.COMPLETED, now)
            self._notify("work_completed", work, agent_id=work.bot_worker, disposition=work.disposition, reason=reason)
            return work
        target = self.queue(handoff_queue_id or work.queue_id)
        work.queue_id = target.id
        work.state = WorkState.WAITING
        # Named in the event like the agent an agent's transfer comes from: sessions records who handed over.
        bot, work.bot_worker = work.bot_worker, ""
        work.reasons.append(Reason("bot_handoff", reason or "the bot handed over to a person"))
        # Keeps its original arrival: the customer does not go to the back of the line.
        self._into_line(work)
        self._notify("work_transferred", work, agent_id=bot, reason=reason or "bot handoff")
        self._pending_work[work.id] = None
        self._dispatch()
        return work

    # ----- time ----------------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock()
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, kind, key, token = heapq.heappop(self._deadlines)
            if kind == "grace":
                if self._disconnects.get(key) == token and self.agents[key].logged_in:
                    self.set_agent_status(key, AgentStatus.OFFLINE, "desktop_disconnected")
                continue
            work = self.work.get(key)
            if work is None:
                continue
            if kind == "offer" and work.state is WorkState.OFFERED and work.offer_attempts == token:
                self._withdraw_offer(work, "not answered in time", counts=True, kind="offer_timed_out")
            elif kind == "hold" and work.state in WAITING_STATES:
                self._pending_work[work.id] = None
            elif kind == "bot_claim" and work.state is WorkState.OVERFLOWED_TO_BOT and work.bot_claim_expires == token:
                work.bot_worker = ""
                self._dirty(work)
        self._dispatch()

    def next_deadline(self) -> float | None:
        return self._deadlines[0][0] if self._deadlines else None

    # ----- queue experience and statistics ---------------------------------------------

    def position(self, work_id: str) -> Position:
        work = self.get(work_id)
        queue = self.queues[work.queue_id]
        if work.state not in WAITING_STATES:
            return Position(work.id, 0, 0.0, False, work.state)
        place = self._lines[work.queue_id].index(self._line_keys[work.id]) + 1
        wait = self._estimate(work)
        return Position(work.id, place, wait, wait > queue.callback_threshold, work.state)

    def queue_stats(self, queue_id: str, window: float) -> QueueView:
        queue = self.queue(queue_id)
        now = self.clock()
        snapshot = self._stats[queue_id].snapshot(now, window, queue.service_level_seconds)
        line = self._lines[queue_id]
        oldest = min((self.work[w].enqueue_time for w in line), default=now)
        agents = [self.agents[a] for a in self._queue_agent_ids(queue)]
        logged_in = [a for a in agents if a.logged_in]
        available = sum(1 for a in logged_in if a.ready and any(a.can_take(c) for c in a.capacity))
        aht = self._handle[queue_id].value
        servers = sum(1 for a in logged_in if a.ready)
        occupancy = min(1.0, snapshot.handled_seconds / (len(logged_in) * window)) if logged_in and window else 0.0
        return QueueView(
            queue_id=queue_id, as_of=now, waiting=len(line), longest_wait=now - oldest, window=snapshot,
            occupancy=occupancy, agents_available=available, agents_logged_in=len(logged_in),
            bot_waiting=sum(1 for w in self._bot_lines[queue_id] if not self.work[w].bot_worker),
            expected_wait=steady_state_wait(snapshot.arrival_rate, aht, servers),
            average_handle_time=aht,
        )

    def waiting(self, queue_id: str) -> list[Work]:
        """The queue's waiting work in routing order."""
        return [self.work[w] for w in self._lines[self.queue(queue_id).id]]

    def drain(self) -> Changes:
        """Hand over what happened since the last drain (to persist and publish)."""
        changes = Changes(self._notices, list(self._dirty_work.values()),
                          [self.agents[a] for a in sorted(self._dirty_agents)])
        self._notices, self._dirty_work, self._dirty_agents = [], {}, set()
        return changes

    # ----- internals -------------------------------------------------------------------

    def _at(self, when: float, kind: str, key: str, token: float) -> None:
        heapq.heappush(self._deadlines, (when, next(self._tie), kind, key, token))

    def _notify(self, kind: str, work: Work, *, agent_id: str = "", reason: str = "", disposition: str = "") -> Work:
        """Record the notice; returns the work as the notice carries it."""
        self._dirty(work)
        snapshot = work.snapshot()
        self._notices.append(Notice(kind, snapshot, agent_id=agent_id, reason=reason, disposition=disposition))
        return snapshot

    def _dirty(self, work: Work) -> None:
        self._dirty_work[work.id] = work

    def _touch_agent(self, agent: Agent) -> None:
        self._dirty_agents.add(agent.id)

    def _agent_changed(self, agent: Agent, previous: AgentStatus) -> None:
        self._touch_agent(agent)
        if agent.status is not previous:
            self._notices.append(Notice("agent_state_changed", agent=dataclasses.replace(
                agent, holding=dict(agent.holding), offered=set(agent.offered)), agent_id=agent.id,
                reason=agent.status_reason, previous_status=previous))

    def _queue_agent_ids(self, queue: QueueConfig) -> set[str]:
        ids: set[str] = set()
        for group in queue.groups:
            ids |= self._group_agents.get(group, set())
        return ids

    def _rebuild_line(self, queue: QueueConfig) -> None:
        line = Line()
        for work_id in list(self._lines[queue.id]):
            work = self.work[work_id]
            key = self._key(work, queue)
            self._line_keys[work_id] = key
            line.add(key, part_of(work))
        self._lines[queue.id] = line

    @staticmethod
    def _key(work: Work, queue: QueueConfig) -> Key:
        first, seq = policy.line_key(work, queue.policy)
        return (first, seq, work.id)

    def _into_line(self, work: Work) -> None:
        key = self._key(work, self.queues[work.queue_id])
        part = part_of(work)
        line = self._lines[work.queue_id]
        if not line.waiting(part):
            self._pace(work.queue_id, part).joined(self.clock())
        self._line_keys[work.id] = key
        line.add(key, part)
        self._dirty(work)

    def _leave_line(self, work: Work) -> None:
        key = self._line_keys.pop(work.id, None)
        if key is not None:
            part = part_of(work)
            line = self._lines[work.queue_id]
            line.remove(key, part)
            self._pace(work.queue_id, part).left(self.clock(), self._slots(work.queue_id, part), line.waiting(part))

    def _schedule_holds(self, work: Work) -> None:
        now = self.clock()
        for until in (work.affinity_until, work.escalation_until, work.not_before):
            if until > now:
                self._at(until, "hold", work.id, 0)

    def _claim(self, work: Work) -> None:
        work.bot_claim_expires = self.clock() + self.bot_claim_seconds
        self._at(work.bot_claim_expires, "bot_claim", work.id, work.bot_claim_expires)
        self._dirty(work)

    def _to_bot(self, work: Work, reason: str) -> None:
        work.state = WorkState.OVERFLOWED_TO_BOT
        self._bot_lines[work.queue_id][work.id] = None
        self._stats[work.queue_id].record(self.clock(), Kind.OVERFLOWED)
        self._notify("work_overflowed", work, reason=reason)

    def _finish(self, work: Work, state: WorkState, now: float) -> None:
        work.state = state
        work.end_time = now
        self.work.pop(work.id, None)
        self._dirty(work)

    def _offered_to(self, agent_id: str, work_id: str) -> Work:
        self.agent(agent_id)
        work = self.work.get(work_id)
        if work is None or work.state is not WorkState.OFFERED or work.offered_agent_id != agent_id:
            state = work.state.value if work is not None else "gone"
            raise FailedPrecondition(f"work {work_id} is not offered to {agent_id} (it is {state}); "
                                     "the offer was withdrawn or answered already")
        return work

    def _release(self, agent_id: str, work_id: str) -> None:
        agent = self.agents.get(agent_id)
        if agent is None:
            return
        agent.holding.pop(work_id, None)
        agent.offered.discard(work_id)
        now = self.clock()
        if not agent.holding:
            agent.idle_since = now
        previous = agent.status
        agent.settle_status(now)
        self._agent_changed(agent, previous)
        self._pending_agents[agent_id] = None

    def _withdraw_offer(self, work: Work, reason: str, *, counts: bool, kind: str = "offer_rejected") -> None:
        """Take an offer back and put the work back in line (in its old place)."""
        agent_id = work.offered_agent_id
        agent = self.agents[agent_id]
        now = self.clock()
        queue = self.queues[work.queue_id]
        work.state = WorkState.WAITING
        work.offered_agent_id = ""
        work.last_missed_by = agent_id
        work.missed_hold_until = now + queue.policy.offer_timeout
        self._at(work.missed_hold_until, "hold", work.id, 0)
        self._into_line(work)
        self._notify("offer_revoked", work, agent_id=agent_id, reason=reason)
        self._notify(kind, work, agent_id=agent_id, reason=reason)
        self._release(agent_id, work.id)
        if counts:
            agent.missed_offers += 1
            if agent.missed_offers >= queue.policy.max_missed_offers and agent.ready:
                self.set_agent_status(agent_id, AgentStatus.BREAK,
                                      f"rona: {agent.missed_offers} offers missed in a row")
        self._pending_work[work.id] = None

    def _offer(self, work: Work, agent: Agent, reasons: Iterable[Reason], now: float) -> None:
        queue = self.queues[work.queue_id]
        self._leave_line(work)
        work.state = WorkState.OFFERED
        work.offered_agent_id = agent.id
        work.offer_attempts += 1
        work.offer_expires = now + queue.policy.offer_timeout
        work.priority = policy.effective_priority(work, queue.policy, now)
        work.reasons = [r for r in work.reasons if r.code in policy.CLASSIFY_CODES] + list(reasons)
        agent.holding[work.id] = work.channel
        agent.offered.add(work.id)
        self._touch_agent(agent)
        self._stats[queue.id].record(now, Kind.OFFERED)
        self._at(work.offer_expires, "offer", work.id, work.offer_attempts)
        self._notify("work_offered", work, agent_id=agent.id)

    def _dispatch(self) -> None:
        now = self.clock()
        while self._pending_agents or self._pending_work:
            if self._pending_agents:
                agent_id = next(iter(self._pending_agents))
                del self._pending_agents[agent_id]
                agent = self.agents.get(agent_id)
                while agent is not None and agent.ready and self._route_agent(agent, now):
                    pass
                continue
            pending = [self.work[w] for w in self._pending_work if w in self.work]
            self._pending_work.clear()
            pending.sort(key=lambda w: -policy.effective_priority(w, self.queues[w.queue_id].policy, now))
            for work in pending:
                if work.state in WAITING_STATES:
                    self._route_work(work, now)

    def _route_work(self, work: Work, now: float) -> None:
        queue = self.queues[work.queue_id]
        preferred = self.agents.get(work.preferred_agent_id) if work.preferred_agent_id else None
        candidates = (self.agents[a] for a in self._queue_agent_ids(queue))
        choice = policy.choose_agent(candidates, work, queue, now, preferred)
        if choice is not None:
            self._offer(work, choice.agent, choice.reasons, now)

    def _route_agent(self, agent: Agent, now: float) -> bool:
        """Offer `agent` the highest-priority work they may take; False when there is none."""
        if not any(agent.can_take(channel) for channel in agent.capacity):
            return False
        best: tuple[float, int, Work] | None = None
        queue_ids: set[str] = set()
        for group in agent.groups:
            queue_ids |= self._group_queues.get(group, set())
        for queue_id in queue_ids:
            queue = self.queues[queue_id]
            for work_id in self._lines[queue_id]:
                work = self.work[work_id]
                preferred = self.agents.get(work.preferred_agent_id) if work.preferred_agent_id else None
                if policy.ineligible(agent, work, queue, now, preferred):
                    continue
                priority = policy.effective_priority(work, queue.policy, now)
                if best is None or (priority, -work.seq) > (best[0], -best[1]):
                    best = (priority, work.seq, work)
                break
        if best is None:
            return False
        work = best[2]
        queue = self.queues[work.queue_id]
        self._offer(work, agent, policy.explain(agent, work, queue, now), now)
        return True

    def _estimate(self, work: Work) -> float:
        """Waiting work: its place among the work of its part × how fast that part moves."""
        part = part_of(work)
        place = self._lines[work.queue_id].place(self._line_keys[work.id], part)
        return self._pace(work.queue_id, part).wait(place, self._slots(work.queue_id, part))

    def _pace(self, queue_id: str, part: Part) -> Pace:
        pace = self._paces.get((queue_id, part))
        if pace is None:
            pace = self._paces[(queue_id, part)] = Pace(self._handle[queue_id].value)
        return pace

    def _slots(self, queue_id: str, part: Part) -> int:
        """Slots on the part's channel of ready agents who have the skills and speak the language."""
        slots = self._slot_counts.get((queue_id, part))
        if slots is None:
            queue = self.queues[queue_id]
            channel, language = part
            slots = 0
            for agent_id in self._queue_agent_ids(queue):
                agent = self.agents[agent_id]
                if agent.ready and agent.has_skills(queue.policy.required_skills) and agent.speaks(language):
                    capacity = agent.capacity.get(channel, 0)
                    # A call takes the whole agent, whatever the number configured.
                    slots += min(capacity, 1) if channel is Channel.PHONE else capacity
            self._slot_counts[(queue_id, part)] = slots
        return slots


__all__ = ["Changes", "Notice", "Position", "QueueView", "RoutingEngine"]
