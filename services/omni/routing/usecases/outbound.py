"""Callbacks whose calls did not reach the customer: routing's side of the outbound calls
(docs/outbound.md). Sessions reports each call's final result (`outbound_call_finished`); the
owner of the work's partition makes the next attempt due, or gives up, in its fenced change."""

from __future__ import annotations

from omni.routing.context import DO_NOT_CONTACT, ContextSources
from omni.routing.domain import callbacks
from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.callbacks import UNREACHED
from omni.routing.domain.work import Reason, WorkState
from omni.routing.usecases.engine_room import EngineRoom
from omni.routing.usecases.work import WorkUseCases


class OutboundWork:
    def __init__(self, room: EngineRoom, work: WorkUseCases, contexts: ContextSources, policy: AttemptPolicy) -> None:
        """`policy`: the attempts of queues without a policy of their own."""
        self._room = room
        self._work = work
        self._contexts = contexts
        self._policy = policy

    async def call_finished(self, work_id: str, attempt: int, reached: bool, result: str, inbox: str) -> None:
        """Call `attempt` of callback `work_id` ended with `result`; unreached, the agent is freed
        and the callback waits for its next call. A redelivery (an attempt already counted) or a
        call of work no longer with an agent changes nothing."""
        live = self._room.engine.live_work(work_id)
        if live is None or not self._work.for_inbox(live.queue_id, inbox):
            return
        # The customer asked for the first call; a redial is a call they did not ask for.
        unwanted = not reached and (await self._contexts.customer(live)).do_not_contact
        async with self._room.change() as engine:
            work = engine.live_work(work_id)
            if work is None or work.state is not WorkState.ASSIGNED or work.callback_attempts >= attempt:
                return
            work.callback_attempts = attempt
            if reached:
                engine.add_reasons(work.id, [Reason("callback_reached", f"attempt {attempt}")])
                return
            policy, zone = callbacks.policy_of(engine, work, self._policy)
            due = None if unwanted else policy.next_call_at(attempt, engine.clock(), zone)
            if due is None:
                engine.complete(work.assigned_agent_id, work.id, DO_NOT_CONTACT if unwanted else UNREACHED)
            else:
                engine.requeue_callback(work.id, due, f"callback attempt {attempt}: {result}; next call due")
                if policy.sms_before(attempt + 1, engine.clock(), zone):
                    engine.announce_callback(work.id, attempt + 1)
