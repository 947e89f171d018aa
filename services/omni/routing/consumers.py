"""Events routing consumes: inbound contacts become work (one per session), abandoned
sessions leave the queue, callback requests keep the customer's place."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from omni.routing.domain.work import MAX_ACCESSIBILITY_NEEDS, Work
from omni.routing.usecases.outbound import OutboundWork
from omni.routing.usecases.work import WorkUseCases
from omni.runtime.channels import Channel
from omni.runtime.errors import NotFound
from omni.runtime.events import Delivery, PermanentError, unpack
from omni.runtime.proto_values import channel_from_proto
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1 import events_pb2, sessions_pb2

SESSION_EVENTS = ("interaction_received", "session_state_changed", "callback_requested", "outbound_call_finished")


@contextlib.contextmanager
def _unknown_queue_is_permanent() -> Iterator[None]:
    """A contact for a queue routing lacks (and no default queue) fails the same on every retry."""
    try:
        yield
    except NotFound as exc:
        raise PermanentError(exc.message) from exc


class RoutingConsumers:
    """The inbox of one partition: it sees every session event and acts on those of its queues."""

    def __init__(self, work: WorkUseCases, outbound: OutboundWork, partition: str) -> None:
        self._work = work
        self._outbound = outbound
        self._partition = partition

    async def on_session_event(self, delivery: Delivery) -> None:
        kind = delivery.envelope.type
        if kind == "interaction_received":
            await self.interaction_received(unpack(delivery.envelope, events_pb2.InteractionReceived).interaction)
        elif kind == "session_state_changed":
            await self.session_state_changed(unpack(delivery.envelope, events_pb2.SessionStateChanged))
        elif kind == "callback_requested":
            await self.callback_requested(unpack(delivery.envelope, events_pb2.CallbackRequested))
        elif kind == "outbound_call_finished":
            await self.outbound_call_finished(unpack(delivery.envelope, events_pb2.OutboundCallFinished))

    async def interaction_received(self, interaction: common_pb2.Interaction) -> None:
        if interaction.direction != common_pb2.DIRECTION_INBOUND or not interaction.queue:
            return
        if not interaction.session_id:
            raise PermanentError(f"interaction {interaction.id} has no session_id")
        channel = channel_from_proto(interaction.channel)
        if channel is None:
            raise PermanentError(f"interaction {interaction.id} has no channel")
        work = Work(
            id=interaction.session_id, queue_id=interaction.queue, channel=channel,
            session_id=interaction.session_id, customer_id=interaction.customer.customer_id,
            customer_name=interaction.customer.display_name,
            identities=tuple((i.kind, i.value) for i in interaction.customer.identities),
            interaction_id=interaction.id, language=interaction.language, intent=interaction.intent,
            urgent=interaction.urgent, emotion_score=max(0, min(10, interaction.emotion_score)),
            turn_scores=(max(0, min(10, interaction.turn_emotion_score)),),
            text=interaction.text[:4000], ticket_id=interaction.ticket_id,
            callback_number=interaction.attributes.get("callback_number", ""),
            # Needs the telephony adapter or the line named (sessions checked them); the
            # customer's tags add theirs when the work is queued.
            accessibility=tuple(need for need in interaction.attributes.get("accessibility", "").split(",")
                                if need)[:MAX_ACCESSIBILITY_NEEDS],
        )
        with _unknown_queue_is_permanent():
            await self._work.contact_received(work, f"interaction {interaction.id}", self._partition)

    async def session_state_changed(self, changed: events_pb2.SessionStateChanged) -> None:
        if changed.session.state not in (sessions_pb2.SESSION_STATE_ABANDONED, sessions_pb2.SESSION_STATE_ENDED):
            return
        # Events carry no transcript (`answered` says it); older ones carried the messages.
        answered = changed.answered or any(m.direction == common_pb2.DIRECTION_OUTBOUND
                                           for m in changed.session.messages)
        await self._work.customer_left(changed.session.id, changed.reason or "customer left", answered,
                                       self._partition)

    async def callback_requested(self, request: events_pb2.CallbackRequested) -> None:
        if not request.session_id:
            raise PermanentError("callback_requested without session_id")
        not_before = request.not_before.ToNanoseconds() / 1e9 if request.HasField("not_before") else 0.0
        work = Work(id=request.session_id, queue_id=request.queue, channel=Channel.PHONE, session_id=request.session_id,
                    customer_id=request.customer.customer_id, customer_name=request.customer.display_name,
                    identities=tuple((i.kind, i.value) for i in request.customer.identities),
                    callback_number=request.number, callback_verified=request.number_verified)
        with _unknown_queue_is_permanent():
            await self._work.callback_requested(work, not_before, f"callback {request.session_id}", self._partition)

    async def outbound_call_finished(self, finished: events_pb2.OutboundCallFinished) -> None:
        if not finished.session_id or finished.attempt < 1:
            raise PermanentError(f"outbound_call_finished {finished.call_id!r} names no session or attempt")
        reached = finished.result == sessions_pb2.OUTBOUND_CALL_RESULT_ANSWERED
        result = sessions_pb2.OutboundCallResult.Name(finished.result).removeprefix("OUTBOUND_CALL_RESULT_").lower()
        await self._outbound.call_finished(finished.session_id, finished.attempt, reached, result, self._partition)
