"""Events routing consumes: inbound contacts become work (one per session), abandoned
sessions leave the queue, callback requests keep the customer's place."""

from __future__ import annotations

import logging

from omni.routing.agents import Channel
from omni.routing.convert import CHANNELS
from omni.routing.router import Router
from omni.routing.work import FINISHED_STATES, WAITING_STATES, Reason, Work, WorkState
from omni.runtime.events import Delivery, PermanentError, unpack
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1 import events_pb2, sessions_pb2

log = logging.getLogger("omni.routing.consumers")
SESSION_EVENTS = ("interaction_received", "session_state_changed", "callback_requested")


class RoutingConsumers:
    def __init__(self, router: Router, default_queue: str) -> None:
        self.router = router
        self.engine = router.engine
        self.default_queue = default_queue

    async def on_session_event(self, delivery: Delivery) -> None:
        kind = delivery.envelope.type
        if kind == "interaction_received":
            await self.interaction_received(unpack(delivery.envelope, events_pb2.InteractionReceived).interaction)
        elif kind == "session_state_changed":
            await self.session_state_changed(unpack(delivery.envelope, events_pb2.SessionStateChanged))
        elif kind == "callback_requested":
            await self.callback_requested(unpack(delivery.envelope, events_pb2.CallbackRequested))

    def _queue_for(self, name: str, what: str) -> tuple[str, list[Reason]]:
        if name in self.engine.queues:
            return name, []
        if self.default_queue in self.engine.queues:
            return self.default_queue, [Reason("unknown_queue", f"{name!r} is not a routing queue; "
                                                                f"sent to {self.default_queue}")]
        raise PermanentError(f"{what} names queue {name!r}, which routing does not have, and the default queue "
                             f"{self.default_queue!r} does not exist either; create the queue")

    async def interaction_received(self, interaction: common_pb2.Interaction) -> None:
        """One work item per session (work id = session id); later messages add nothing."""
        if interaction.direction != common_pb2.DIRECTION_INBOUND or not interaction.queue:
            return
        if not interaction.session_id:
            raise PermanentError(f"interaction {interaction.id} has no session_id")
        if interaction.channel not in CHANNELS:
            raise PermanentError(f"interaction {interaction.id} has no channel")
        queue_id, reasons = self._queue_for(interaction.queue, f"interaction {interaction.id}")
        work = Work(
            id=interaction.session_id, queue_id=queue_id, channel=CHANNELS[interaction.channel],
            session_id=interaction.session_id, customer_id=interaction.customer.customer_id,
            customer_name=interaction.customer.display_name,
            identities=tuple((i.kind, i.value) for i in interaction.customer.identities),
            interaction_id=interaction.id, language=interaction.language, intent=interaction.intent,
            urgent=interaction.urgent, emotion_score=max(0, min(10, interaction.emotion_score)),
            text=interaction.text[:4000], ticket_id=interaction.ticket_id,
            callback_number=interaction.attributes.get("callback_number", ""),
        )
        queued = await self.router.enqueue(work)
        if reasons and queued is work:
            work.reasons.extend(reasons)
            await self.router.repo.save([work])

    async def session_state_changed(self, changed: events_pb2.SessionStateChanged) -> None:
        if changed.session.state not in (sessions_pb2.SESSION_STATE_ABANDONED, sessions_pb2.SESSION_STATE_ENDED):
            return
        work = self.engine.work.get(changed.session.id)
        if work is None or work.assigned_agent_id or work.state in FINISHED_STATES:
            return  # never queued, already finished, or with an agent who wraps it up
        reason = changed.reason or "customer left"
        # Events carry no transcript (`answered` says it); older ones carried the messages.
        answered = changed.answered or any(m.direction == common_pb2.DIRECTION_OUTBOUND
                                           for m in changed.session.messages)
        if work.state is WorkState.OVERFLOWED_TO_BOT and work.bot_worker and answered:
            # The customer leaving a bot's conversation after its answer ends it there: self-service.
            await self.router.run(lambda: self.engine.complete_bot_work(work.id, resolved=True, reason=reason))
        else:
            # Left before anyone answered; also a chat that ended while the bot was handing it back
            # (its ENDED can arrive after the handoff put the work in line): nobody is there to take.
            await self.router.run(lambda: self.engine.abandon(work.id, reason))

    async def callback_requested(self, request: events_pb2.CallbackRequested) -> None:
        """Keep the customer's place if they are waiting; otherwise queue a callback call."""
        if not request.session_id:
            raise PermanentError("callback_requested without session_id")
        not_before = request.not_before.ToNanoseconds() / 1e9 if request.HasField("not_before") else 0.0
        live = self.engine.work.get(request.session_id)
        if live is not None:
            if live.state in WAITING_STATES:
                await self.router.run(lambda: self.engine.schedule_callback(live.id, request.number, not_before))
            return
        queue_id, reasons = self._queue_for(request.queue or self.default_queue, f"callback {request.session_id}")
        work = Work(id=request.session_id, queue_id=queue_id, channel=Channel.PHONE, session_id=request.session_id,
                    customer_id=request.customer.customer_id, customer_name=request.customer.display_name,
                    identities=tuple((i.kind, i.value) for i in request.customer.identities),
                    callback_number=request.number)
        queued = await self.router.enqueue(work)
        if queued is work:
            await self.router.run(lambda: self.engine.schedule_callback(work.id, request.number, not_before))
        if reasons and queued is work:
            work.reasons.extend(reasons)
            await self.router.repo.save([work])
