"""Work: queueing it (with the customer's context), who may see it, watching a place in line,
and what customers, agents and the sessions service's events do to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from omni.routing.context import ContextSources
from omni.routing.domain import access, callbacks
from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queue_metrics import Position
from omni.routing.domain.transfers import TransferReason
from omni.routing.domain.work import (
    FINISHED_STATES,
    MAX_ACCESSIBILITY_NEEDS,
    WAITING_STATES,
    Reason,
    Turn,
    Work,
    WorkState,
)
from omni.routing.repository import RoutingRepository
from omni.routing.usecases.desktops import Desktops
from omni.routing.usecases.engine_room import EngineRoom
from omni.runtime.auth import Principal
from omni.runtime.errors import NotFound
from omni.runtime.paging import Page, PageRequest
from omni.runtime.validation import check_length, require

# A position watcher is sent its place again at least this often, even when nothing moved.
POSITION_REFRESH = 5.0


class WorkUseCases:
    def __init__(self, room: EngineRoom, repository: RoutingRepository, contexts: ContextSources,
                 desktops: Desktops, *, default_queue: str, attempts: AttemptPolicy) -> None:
        self._room = room
        self._repository = repository
        self._contexts = contexts
        self._desktops = desktops
        self._default_queue = default_queue
        # The callback attempts of queues without a policy of their own.
        self._attempts = attempts

    # ----- callers of the API ----------------------------------------------------------

    async def enqueue(self, work: Work) -> Work:
        self._room.claims.serve_queue(work.queue_id)
        return await self._enqueue(work)

    async def get(self, principal: Principal, work_id: str) -> Work:
        """Live or finished work the caller may see (live work: on the replica that owns it)."""
        found = await self._room.locate(require(work_id, "work_id"))
        return access.check_work(principal, found, self._scope(principal))

    async def visible(self, principal: Principal, queue_id: str, state: WorkState | None,
                      page: PageRequest) -> Page[Work]:
        """The work the caller may see, of `queue_id` and in `state` when given, in arrival order;
        finished work comes from storage, live work from the engine."""
        engine = self._room.engine
        scope = self._scope(principal)
        if queue_id:
            self._room.claims.serve_queue(queue_id)
            access.check_queue(principal, engine.queue(queue_id))
            scope = scope.within(queue_id)
        after = int(page.after[0]) if page.after else 0
        if state in FINISHED_STATES or not (queue_id or self._room.claims.holds_all()):
            # Finished work, or live work of partitions other replicas own: as stored.
            states = [state] if state is not None else [s for s in WorkState if s not in FINISHED_STATES]
            found = await self._repository.work_in(scope, states, after, page.size + 1)
        else:
            found = sorted((w for w in engine.live() if w.seq > after and (state is None or w.state is state)
                            and scope.admits(w)), key=lambda w: w.seq)[:page.size + 1]
        served = found[:page.size]
        return Page(served, (served[-1].seq,) if len(found) > page.size else None)

    async def watch(self, principal: Principal, work_id: str) -> AsyncIterator[Position]:
        """The work's place in line whenever it changes, until it leaves the line."""
        work = await self.get(principal, work_id)
        last: Position | None = None
        while True:
            if self._room.engine.live_work(work.id) is not None:
                position = self._room.engine.position(work.id)
            else:
                stored = await self._repository.get_work(work.id)
                position = Position(work.id, 0, 0.0, False, stored.state if stored else WorkState.COMPLETED)
            if position != last:
                yield position
                last = position
            if position.position == 0:
                return
            await self._room.moved(POSITION_REFRESH)

    async def abandon(self, principal: Principal, work_id: str) -> Work:
        work = await self.get(principal, work_id)
        return await self._room.run(lambda engine: engine.abandon(work.id))

    async def schedule_callback(self, principal: Principal, work_id: str, number: str, due: float = 0.0) -> Work:
        """Book a callback (customer, supervisor or the sessions service): the work keeps its place
        or becomes due at `due`; a number that is not the customer's own is marked unverified."""
        work = await self.get(principal, work_id)
        access.check_callback_booking(principal, work)
        access.check_callback_number(principal, work, number)
        number = check_length(number, "number", 64)
        verified = callbacks.verified_number(work, number)
        self._room.claims.serve_queue(work.queue_id)
        due = callbacks.chosen_time(due, self._room.engine.clock(), self._room.engine.queue(work.queue_id).hours)
        return await self._room.run(lambda engine: callbacks.book(engine, work.id, number, verified, due,
                                                                      default=self._attempts))

    async def transfer(self, principal: Principal, work_id: str, code: TransferReason | None, note: str,
                       target_queue_id: str, target_agent_id: str) -> Work:
        work = await self.get(principal, work_id)
        access.check_transfer(principal, work)
        access.check_takeover(principal, code, target_agent_id)
        claims = self._room.claims
        if target_queue_id and claims.queue_partition(target_queue_id) != claims.queue_partition(work.queue_id) \
                and not claims.owns_queue(target_queue_id):
            # Another replica routes the target queue: the work leaves this one, written waiting
            # in the target queue, and the owner of that queue's partition takes it from there.
            [target] = await self._repository.queues([target_queue_id])
            return await self._room.run(
                lambda engine: engine.transfer_away(work.id, code, note, target, target_agent_id))
        return await self._room.run(
            lambda engine: engine.transfer(work.id, code, note, target_queue_id, target_agent_id))

    # ----- events from the sessions service --------------------------------------------

    async def contact_received(self, work: Work, source: str, inbox: str) -> None:
        """An inbound contact: one work item per session (work id = session id); a later contact
        of a session in routing is a customer turn that may escalate it. `source` names the
        contact in errors. Each partition's inbox sees every contact and takes those of its queues."""
        reasons = self._resolve_queue(work, source)
        if not self.for_inbox(work.queue_id, inbox):
            return
        if self._room.engine.live_work(work.id) is not None:
            turn = Turn(work.interaction_id, work.emotion_score, max(work.turn_scores, default=0), work.urgent,
                        work.text)
            async with self._room.change() as engine:
                if engine.live_work(work.id) is not None:
                    engine.customer_turn(work.id, turn)
                    return
        await self._enqueue(work, (lambda engine: engine.add_reasons(work.id, reasons)) if reasons else None)

    async def customer_left(self, session_id: str, reason: str, answered: bool, inbox: str) -> None:
        """The session was abandoned or ended: its work leaves the line (`answered`: a bot had
        replied in it)."""
        live = self._room.engine.live_work(session_id)
        if live is None or not self.for_inbox(live.queue_id, inbox):
            return  # never queued, finished, or another partition's
        async with self._room.change() as engine:
            work = engine.live_work(session_id)
            if work is None or work.assigned_agent_id or work.state in FINISHED_STATES:
                return  # never queued, already finished, or with an agent who wraps it up
            if work.state is WorkState.OVERFLOWED_TO_BOT and work.bot_worker and answered:
                # The customer leaving a bot's conversation after its answer ends it there: self-service.
                engine.complete_bot_work(work.id, resolved=True, reason=reason)
            else:
                # Left before anyone answered; also a chat that ended while the bot was handing it back
                # (its ENDED can arrive after the handoff put the work in line): nobody is there to take.
                engine.abandon(work.id, reason)

    async def callback_requested(self, work: Work, not_before: float, source: str, inbox: str) -> None:
        """Keep the customer's place if they are waiting; otherwise queue `work` (a call) as a
        callback to `work.callback_number`, due at `not_before`."""
        live = self._room.engine.live_work(work.id)
        if live is not None:
            if self.for_inbox(live.queue_id, inbox):
                async with self._room.change() as engine:
                    if live.state in WAITING_STATES:
                        callbacks.book(engine, live.id, work.callback_number, work.callback_verified, not_before,
                                       default=self._attempts)
            return
        reasons = self._resolve_queue(work, source)
        if not self.for_inbox(work.queue_id, inbox):
            return

        def then(engine: RoutingEngine) -> None:
            # Due now, it may have been offered on arrival already (it carries its number anyway).
            if engine.get(work.id).state in WAITING_STATES:
                callbacks.book(engine, work.id, work.callback_number, work.callback_verified, not_before,
                               default=self._attempts)
            if reasons:
                engine.add_reasons(work.id, reasons)

        # Not offered before it is due, not even on arrival.
        work.not_before = not_before
        await self._enqueue(work, then)

    # ----- internals -------------------------------------------------------------------

    def for_inbox(self, queue_id: str, inbox: str) -> bool:
        """True when the inbox of partition `inbox` handles work of `queue_id`, and (it being
        ours) this replica still owns it; else `Elsewhere`, so the event is delivered again."""
        claims = self._room.claims
        if claims.queue_partition(queue_id) != inbox:
            return False
        claims.serve(inbox, f"partition {inbox}")
        return True

    def _scope(self, principal: Principal) -> access.WorkScope:
        return access.work_scope(principal, self._room.engine.queues())

    def _resolve_queue(self, work: Work, source: str) -> list[Reason]:
        """Put `work` in the queue it names (none: the default queue), or the default queue when
        routing does not know that one; the reasons to note on it."""
        layout = self._room.claims.layout
        named = work.queue_id or self._default_queue
        if layout.of_queue(named) is not None:
            work.queue_id = named
            return []
        if layout.of_queue(self._default_queue) is None:
            raise NotFound(f"{source} names queue {named!r}, which routing does not have, and the default queue "
                           f"{self._default_queue!r} does not exist either; create the queue")
        work.queue_id = self._default_queue
        return [Reason("unknown_queue", f"{named!r} is not a routing queue; sent to {self._default_queue}")]

    async def _enqueue(self, work: Work, then: Callable[[RoutingEngine], object] | None = None) -> Work:
        """Queue work with the customer's VIP tier, accessibility needs and last agent when tickets answers in time;
        `then` runs in the same change when the work was new (not live or stored already)."""
        live = self._room.engine.live_work(work.id)
        if live is not None:
            return live
        stored = await self._repository.get_work(work.id)
        if stored is not None:
            return stored
        facts = await self._contexts.customer(work)
        if facts.known:
            work.vip = work.vip or facts.vip
            needs = dict.fromkeys((*work.accessibility, *facts.accessibility))
            work.accessibility = tuple(needs)[:MAX_ACCESSIBILITY_NEEDS]
            if not work.follow_up_due:  # a follow-up is for whom it was scheduled
                work.preferred_agent_id = work.preferred_agent_id or facts.last_agent_id
            work.customer_id = work.customer_id or facts.customer_id
            work.customer_name = work.customer_name or facts.customer_name
        self._desktops.remember(work.id, facts)
        async with self._room.change() as engine:
            queued = engine.enqueue(work)
            if queued is work:
                if facts.degraded:
                    engine.add_reasons(work.id, [Reason("customer_context_unavailable", facts.degraded)])
                if then is not None:
                    then(engine)
        return queued
