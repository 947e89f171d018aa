"""Self-service overflow per channel: text to the bots, calls to a voice bot or a callback offer."""

from __future__ import annotations

from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import DEFAULT_SIMPLE_INTENTS, QueueConfig
from omni.routing.domain.work import Work, WorkState
from omni.runtime.channels import Channel
from tests.routing.conftest import Clock


def engine_with(clock: Clock, **queue: object) -> RoutingEngine:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), overflow_threshold=2, **queue))  # type: ignore[arg-type]
    for i in range(2):  # a line long enough to overflow
        engine.enqueue(Work(id=f"busy-{i}", queue_id="general", channel=Channel.PHONE, intent="billing"))
    engine.drain()
    return engine


def test_simple_chats_and_emails_overflow_to_the_bots_by_default(clock: Clock) -> None:
    engine = engine_with(clock)
    assert "order_status" in DEFAULT_SIMPLE_INTENTS
    chat = engine.enqueue(Work(id="chat", queue_id="general", channel=Channel.CHAT, intent="order_status"))
    email = engine.enqueue(Work(id="email", queue_id="general", channel=Channel.EMAIL, intent="opening_hours"))
    hard = engine.enqueue(Work(id="hard", queue_id="general", channel=Channel.CHAT, intent="billing"))
    assert (chat.state, email.state) == (WorkState.OVERFLOWED_TO_BOT, WorkState.OVERFLOWED_TO_BOT)
    assert hard.state is WorkState.WAITING


def test_a_simple_call_without_a_voice_bot_stays_in_line_with_a_callback_offered(clock: Clock) -> None:
    # Whatever its wait estimate (no agents: a day), it would not be offered one on that alone.
    engine = engine_with(clock, callback_threshold=10**9)
    call = engine.enqueue(Work(id="call", queue_id="general", channel=Channel.PHONE, intent="order_status"))
    # A text bot would hand the call straight back: it keeps its place and may take a callback.
    assert call.state is WorkState.WAITING and engine.take_bot_work("bot-1", ["general"]) is None
    assert engine.position("call").callback_offered
    [offer] = [n for n in engine.drain().notices if n.kind == "callback_offered"]
    assert offer.work is not None and offer.work.id == "call"
    assert offer.reason == "2 waiting >= 2; simple intent 'order_status'; no voice bot for calls"
    assert "callback_offered" in {r.code for r in engine.get("call").reasons}
    engine.schedule_callback("call", "+8613800000000")
    assert engine.get("call").state is WorkState.CALLBACK_SCHEDULED


def test_a_simple_call_goes_to_the_voice_bot_where_the_queue_has_one(clock: Clock) -> None:
    engine = engine_with(clock, voice_bot=True)
    call = engine.enqueue(Work(id="call", queue_id="general", channel=Channel.PHONE, intent="order_status"))
    assert call.state is WorkState.OVERFLOWED_TO_BOT
    assert not [n for n in engine.drain().notices if n.kind == "callback_offered"]


def test_a_queue_without_self_service_keeps_every_contact_for_people(clock: Clock) -> None:
    engine = engine_with(clock, self_service=False, voice_bot=True)
    chat = engine.enqueue(Work(id="chat", queue_id="general", channel=Channel.CHAT, intent="order_status"))
    call = engine.enqueue(Work(id="call", queue_id="general", channel=Channel.PHONE, intent="order_status"))
    assert (chat.state, call.state) == (WorkState.WAITING, WorkState.WAITING)
    assert not call.callback_offered
