"""Business queues: service level, routing policy, overflow and business hours."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omni.routing.domain.attempts import AttemptPolicy
from omni.runtime.channels import Channel
from omni.runtime.errors import InvalidArgument

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EMERGENCY_WORDS = ("urgent", "emergency", "safety", "complaint", "紧急", "安全", "投诉")
# Queues of these intents escalate urgent and angry work to supervisors unless told otherwise.
ESCALATING_INTENTS = frozenset({"complaint", "emergency"})
# Intents the self-service bots answer on their own from the knowledge base (the classifier's
# opening-hours and parcel questions): they overflow to the bots unless a queue names others.
DEFAULT_SIMPLE_INTENTS = ("opening_hours", "order_status")


@dataclasses.dataclass(frozen=True)
class Ring:
    """One ring of a bullseye: from `after` seconds of waiting, agents with at least
    `min_proficiency` in each of the queue's required skills may take the work."""

    after: float
    min_proficiency: int


@dataclasses.dataclass(frozen=True)
class Policy:
    """Each routing step's knobs. Zero in the API means "use the default" here."""

    required_skills: tuple[str, ...] = ()
    # Seconds a contact should wait at most; work is served earliest deadline first, the
    # deadline being its arrival plus its target. 0: the queue's service-level seconds.
    wait_target: float = 0.0
    # The VIP tier's target, and that of urgent (emergency word) or angry customers; each
    # applies when it is shorter than the queue's.
    vip_wait_target: float = 15.0
    urgent_wait_target: float = 10.0
    # They also rank this much ahead of their deadline, so their targets hold under load while
    # work kept longer than that past its own target still goes first (nobody starves).
    vip_lead: float = 300.0
    urgent_lead: float = 600.0
    emotion_threshold: int = 8
    # A conversation whose turns' emotion rose this many times in a row, the last at least half
    # the threshold, is escalated like an angry one.
    rising_turns: int = 2
    # None: on for queues of complaint or emergency intents (`QueueConfig.escalates`).
    escalate_to_supervisor: bool | None = None
    # Urgent work waits this long for a supervisor before anyone in the group may take it.
    supervisor_wait: float = 0.0
    affinity_wait: float = 20.0
    offer_timeout: float = 20.0
    max_missed_offers: int = 3
    emergency_words: tuple[str, ...] = EMERGENCY_WORDS
    # Nobody below this proficiency (1..5) in a required skill takes the queue's work.
    min_proficiency: int = 1
    # Bullseye: the best-skilled first, wider rings as the wait grows (no rings: one ring of
    # everyone from `min_proficiency`). The first ring opens at once.
    rings: tuple[Ring, ...] = ()
    # The last ring: after `overflow_after` seconds the work moves on to this queue's agents.
    overflow_queue: str = ""
    overflow_after: float = 0.0
    # VIP work queued here goes to this queue instead: one whose groups add agents dedicated to
    # VIP customers to this queue's own (seed 000's dedicated seats), so a VIP finds whichever of
    # them is free first while the dedicated agents take nothing else.
    vip_queue: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.min_proficiency <= 5:
            raise InvalidArgument("min_proficiency is 1..5")
        afters = [ring.after for ring in self.rings]
        if self.rings and (afters[0] != 0 or afters != sorted(set(afters))):
            raise InvalidArgument("rings open in order, the first at 0 s, each later than the one before")
        levels = [ring.min_proficiency for ring in self.rings]
        if levels != sorted(levels, reverse=True) or any(not self.min_proficiency <= n <= 5 for n in levels):
            raise InvalidArgument("each ring's proficiency is min_proficiency..5 and no higher than the ring before")
        if self.overflow_queue and self.overflow_after <= 0:
            raise InvalidArgument("an overflow queue needs the seconds after which work moves there (overflow_after)")

    def ring(self, waited: float) -> tuple[int, int]:
        """The outermost ring open after `waited` seconds (1-based; 0 with no rings) and the
        proficiency it asks for."""
        index, level = 0, self.min_proficiency
        for number, ring in enumerate(self.rings, start=1):
            if waited < ring.after:
                break
            index, level = number, ring.min_proficiency
        return index, level


_WINDOW = re.compile(r"^\s*([a-z]{3})(?:-([a-z]{3}))?\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})\s*$")


@dataclasses.dataclass(frozen=True)
class Window:
    days: frozenset[int]
    start_minute: int
    end_minute: int


def parse_window(text: str) -> Window:
    match = _WINDOW.match(text.lower())
    if not match:
        raise InvalidArgument(f"business hours window {text!r} is not like 'mon-fri 09:00-18:00'")
    first, last, h1, m1, h2, m2 = match.groups()
    if first not in DAYS or (last and last not in DAYS):
        raise InvalidArgument(f"business hours window {text!r}: days are {', '.join(DAYS)}")
    a, b = DAYS.index(first), DAYS.index(last or first)
    days = frozenset(range(a, b + 1)) if a <= b else frozenset([*range(a, 7), *range(0, b + 1)])
    start, end = int(h1) * 60 + int(m1), int(h2) * 60 + int(m2)
    if not (0 <= start < end <= 24 * 60):
        raise InvalidArgument(f"business hours window {text!r}: the start must be before the end, within a day")
    return Window(days, start, end)


@dataclasses.dataclass(frozen=True)
class BusinessHours:
    """Open hours in a time zone; no windows means always open."""

    time_zone: str = "UTC"
    windows: tuple[str, ...] = ()
    holidays: tuple[str, ...] = ()
    # What happens outside the hours: "callback" (next working day) or "self_service".
    after_hours_action: str = "callback"

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidArgument(f"unknown time zone {self.time_zone!r}; use an IANA name like "
                                  "Asia/Shanghai") from None
        for window in self.windows:
            parse_window(window)
        for day in self.holidays:
            try:
                dt.date.fromisoformat(day)
            except ValueError:
                raise InvalidArgument(f"holiday {day!r} is not an ISO date like 2026-10-01") from None
        if self.after_hours_action not in ("callback", "self_service"):
            raise InvalidArgument("after_hours_action is 'callback' or 'self_service'")

    def _local(self, at: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(at, ZoneInfo(self.time_zone or "UTC"))

    def is_open(self, at: float) -> bool:
        if not self.windows:
            return True
        local = self._local(at)
        if local.date().isoformat() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute
        return any(local.weekday() in w.days and w.start_minute <= minute < w.end_minute
                   for w in map(parse_window, self.windows))

    def next_open(self, at: float) -> float:
        """The next opening time at or after `at` (within two weeks; `at` if always open)."""
        if self.is_open(at):
            return at
        local = self._local(at)
        windows = [parse_window(w) for w in self.windows]
        for offset in range(15):
            day = (local + dt.timedelta(days=offset)).date()
            if day.isoformat() in self.holidays:
                continue
            starts = sorted(w.start_minute for w in windows if day.weekday() in w.days)
            for start in starts:
                opening = dt.datetime.combine(day, dt.time(start // 60, start % 60), local.tzinfo)
                if opening.timestamp() > at:
                    return opening.timestamp()
        return at


@dataclasses.dataclass(frozen=True)
class QueueConfig:
    id: str
    display_name: str = ""
    intents: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    service_level_percent: float = 80.0
    service_level_seconds: int = 20
    policy: Policy = Policy()
    hours: BusinessHours = BusinessHours()
    callback_threshold: float = 60.0
    overflow_threshold: int = 50
    # Simple intents overflow to the self-service bots (`self_service`): chats and emails always,
    # calls only where a voice bot answers the queue's calls (`voice_bot`); otherwise a caller is
    # offered a callback instead.
    simple_intents: tuple[str, ...] = DEFAULT_SIMPLE_INTENTS
    self_service: bool = True
    voice_bot: bool = False
    # Handle time assumed for wait estimates until some work has been handled here.
    expected_handle_time: float = 180.0
    # How callbacks of this queue are tried (docs/outbound.md); None: the service's default.
    callback_attempts: AttemptPolicy | None = None
    version: int = 1  # 0 in an update means "unchecked", so the first version is 1

    @property
    def wait_target(self) -> float:
        """Seconds a standard contact of this queue should wait at most."""
        return self.policy.wait_target or float(self.service_level_seconds)

    def bots_serve(self, channel: Channel) -> bool:
        """The self-service bots can take this queue's work on `channel`: text always, calls only
        with a voice bot (a text bot would hand the call straight back)."""
        return self.self_service and (channel is not Channel.PHONE or self.voice_bot)

    @property
    def escalates(self) -> bool:
        """Urgent and angry work goes to supervisors first: as configured, else on for the queues
        of complaints and emergencies (where the seeds want a supervisor at once)."""
        if self.policy.escalate_to_supervisor is not None:
            return self.policy.escalate_to_supervisor
        return any(intent in ESCALATING_INTENTS for intent in self.intents)
