"""Callbacks as routing work: what a callback's number is worth and, when a call of it did not
reach the customer, when the next call is made or that the platform gives up (docs/outbound.md).

Pure: the engine applies the decision (`RoutingEngine.requeue_callback`, or `complete` with the
disposition below) inside the partition's fenced change.
"""

from __future__ import annotations

from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.best_time import AnswerRates
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import BusinessHours
from omni.routing.domain.work import WAITING_STATES, Work, WorkState
from omni.runtime.callback_times import check_chosen_time
from omni.runtime.errors import FailedPrecondition
from omni.runtime.phones import to_e164

# The disposition of a callback nobody could reach within its attempts.
UNREACHED = "callback_unreached"
# The customer tag that stops every call the customer did not ask for, and the disposition of a
# callback it stopped (docs/outbound.md).
DO_NOT_CONTACT = "do_not_contact"


def verified_number(work: Work, number: str) -> bool:
    """Whether `number` is the customer's own: empty (the work's own) or one of the phone numbers
    the session verified."""
    return not number or (to_e164(number) or number) in work.phone_numbers()


def chosen_time(due: float, now: float, hours: BusinessHours) -> float:
    """A time the customer picked for their callback: in the future, not too far, and while the
    queue is open (the times `callback_slots.slots` offers are)."""
    check_chosen_time(due, now)
    if due and not hours.is_open(due):
        raise FailedPrecondition("the queue is closed at that time; choose one of the times ListCallbackSlots "
                                 "offers")
    return due


def book(engine: RoutingEngine, work_id: str, number: str, verified: bool, due: float = 0.0, *,
         default: AttemptPolicy) -> Work:
    """Waiting work becomes a callback to `number` (empty: the work's own), keeping its place in
    line, or due at `due`, never within the quiet hours of the queue's policy (else `default`'s).
    Work an agent holds (the customer asked them to call back later) leaves the agent and waits
    the same way."""
    work = engine.get(work_id)
    policy, zone = policy_of(engine, work, default)
    if due:
        # A chosen time that reached us only as an event: not while the queue is closed.
        due = engine.queue(work.queue_id).hours.next_open(due)
    due = policy.allowed(max(due, engine.clock()), zone)
    if work.state is WorkState.ASSIGNED:
        own = work.callback_number or min(work.phone_numbers(), default="")
        if not (number or own):
            raise FailedPrecondition(f"work {work_id} has no verified phone number; give the number to call")
        work.callback_number, work.callback_verified = (number, verified) if number else (own, True)
        return engine.requeue_callback(work_id, due, "callback booked by the agent")
    if work.state in WAITING_STATES:
        work.callback_verified = verified if number else (work.callback_verified or bool(work.callback_number)
                                                          or bool(work.phone_numbers()))
    return engine.schedule_callback(work_id, number, due)


def policy_of(engine: RoutingEngine, work: Work, default: AttemptPolicy) -> tuple[AttemptPolicy, str]:
    """The attempt policy of the work's queue (else `default`) and the queue's time zone."""
    queue = engine.queue(work.queue_id)
    return queue.callback_attempts or default, queue.hours.time_zone


def after_call(engine: RoutingEngine, work_id: str, attempt: int, reached: bool, result: str, *,
               default: AttemptPolicy, unwanted: bool = False, rates: AnswerRates | None = None) -> bool:
    """Call `attempt` of callback `work_id` ended with `result`. Reached: the callback is answered.
    Not: the agent is freed and the callback waits for its next call (at the customer's best hour
    when `rates` are given and the policy has a best-time window), announced by an SMS where the
    policy says so, or it is given up (`unwanted`: the customer asked not to be called unasked).
    False when there was nothing to do: work no longer with an agent, or an attempt counted before."""
    work = engine.live_work(work_id)
    if work is None or work.state is not WorkState.ASSIGNED or work.callback_attempts >= attempt:
        return False
    work.callback_attempts = attempt
    if reached:
        engine.callback_reached(work.id, f"attempt {attempt}")
        return True
    policy, zone = policy_of(engine, work, default)
    now = engine.clock()
    due = None if unwanted else policy.next_call_at(attempt, now, zone, rates,
                                                    engine.queue(work.queue_id).hours.is_open)
    if due is None:
        engine.complete(work.assigned_agent_id, work.id, DO_NOT_CONTACT if unwanted else UNREACHED)
        return True
    engine.requeue_callback(work.id, due, f"callback attempt {attempt}: {result}; next call due")
    sms_at = policy.sms_at(attempt + 1, now, zone)
    if sms_at is not None:
        engine.announce_callback(work.id, attempt + 1, not_before=sms_at)
    return True
