"""Settings of the routing service (OMNI_* environment variables)."""

from __future__ import annotations

import dataclasses

from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.best_time import HistoryLimits
from omni.routing.domain.bot_lane import BOT_CLAIM_SECONDS
from omni.routing.domain.callback_slots import SlotRules
from omni.routing.domain.followups import FollowUpLimits
from omni.runtime.config import ConfigError, ServiceSettings, env_name
from omni.runtime.errors import InvalidArgument


@dataclasses.dataclass(frozen=True, kw_only=True)
class RoutingSettings(ServiceSettings):
    # Tickets service (customer context: VIP tier, last agent, screen pop); empty: none.
    tickets_addr: str = ""
    # Knowledge service (suggestions in the screen pop); empty: none.
    knowledge_addr: str = ""
    # Deadline of each call to tickets / knowledge; routing never waits longer.
    context_timeout: float = 0.5
    # An agent whose desktop stream is gone this long becomes offline; their offers move on.
    desktop_grace: float = 15.0
    # Contacts naming a queue routing does not know go here (if it exists).
    default_queue: str = "general"
    # Longest sleep of the timer loop (offer timeouts, holds) between deadlines.
    timer_resolution: float = 0.2
    # A bot worker's claim on work it took lapses this long after it took or last renewed it.
    bot_claim_seconds: float = BOT_CLAIM_SECONDS
    # A partition's lease lapses this long after its owner last renewed it (every quarter of it);
    # a crashed owner's partitions are taken over after about this long.
    lease_ttl: float = 2.0
    # Host other routing replicas and clients reach this one at (the pod IP in Kubernetes);
    # empty: the listen host, or this machine's address when it listens on all interfaces.
    advertise_host: str = ""
    # Callbacks (docs/outbound.md): the delays of the calls after the first when nobody answers,
    # and the most calls made for one callback.
    callback_retry_seconds: tuple[str, ...] = ("1800", "21600")
    callback_max_attempts: int = 3
    # Local hours ("21:00-09:00", in each queue's time zone) no call of a callback starts in; empty: none.
    callback_quiet_hours: str = ""
    # The calls of a callback announced by an SMS reminder ("SMS + call"; empty: none).
    callback_sms_attempts: tuple[str, ...] = ("3",)
    # A redial may be put off by this much beyond its delay, to the hour the customer answers most
    # (docs/outbound.md, "Best time to call"); 0: called when the delay ends.
    callback_best_time_window: float = 0.0
    # The call history that is learned from: a customer's last calls, their segment's of these days
    # (re-read by each replica after the cache seconds).
    callback_history_calls: int = 200
    callback_segment_days: float = 56.0
    callback_segment_cache_seconds: float = 300.0
    # Times offered for a callback (ListCallbackSlots): slots this long, starting this far from
    # now at the earliest and within this many days, each offered while this share of the queue's
    # forecast capacity in it is not yet booked.
    callback_slot_minutes: float = 30.0
    callback_slot_lead_minutes: float = 15.0
    callback_slot_days: float = 7.0
    callback_slot_share: float = 0.2

    @property
    def callback_slots(self) -> SlotRules:
        return SlotRules(length=self.callback_slot_minutes * 60, lead=self.callback_slot_lead_minutes * 60,
                         horizon=self.callback_slot_days * 86400, share=self.callback_slot_share)

    # Follow-ups (docs/outbound.md): due at most this far ahead; offered only to the agent they are
    # for this long after they are due (then to the group); done later than this after due is late.
    follow_up_max_ahead_seconds: float = 30 * 86400.0
    follow_up_grace_seconds: float = 900.0
    follow_up_on_time_seconds: float = 3600.0
    follow_up_max_note_chars: int = 1000

    @property
    def follow_up_limits(self) -> FollowUpLimits:
        return FollowUpLimits(self.follow_up_max_ahead_seconds, self.follow_up_grace_seconds,
                              self.follow_up_on_time_seconds, self.follow_up_max_note_chars)

    @property
    def callback_attempts(self) -> AttemptPolicy:
        """The callback attempts of queues without a policy of their own."""
        return AttemptPolicy(tuple(float(x) for x in self.callback_retry_seconds), self.callback_max_attempts,
                             self.callback_quiet_hours, tuple(int(x) for x in self.callback_sms_attempts),
                             self.callback_best_time_window)

    @property
    def call_history(self) -> HistoryLimits:
        return HistoryLimits(self.callback_history_calls, self.callback_segment_days,
                             self.callback_segment_cache_seconds)

    def __post_init__(self) -> None:
        if self.bot_claim_seconds <= 0:
            raise ConfigError(f"{env_name('bot_claim_seconds')}={self.bot_claim_seconds:g} must be above 0")
        try:
            _ = self.callback_attempts  # checked at start-up, not at the first callback
        except (ValueError, InvalidArgument) as exc:
            raise ConfigError(f"{env_name('callback_retry_seconds')}, {env_name('callback_max_attempts')}, "
                              f"{env_name('callback_quiet_hours')}, {env_name('callback_sms_attempts')}, "
                              f"{env_name('callback_best_time_window')}: "
                              f"{exc}") from None
        if (self.callback_history_calls < 1 or self.callback_segment_days <= 0
                or self.callback_segment_cache_seconds < 0):
            raise ConfigError(f"{env_name('callback_history_calls')} at least 1, {env_name('callback_segment_days')} "
                              f"above 0 and {env_name('callback_segment_cache_seconds')} not negative")
        try:
            _ = self.callback_slots
        except InvalidArgument as exc:
            raise ConfigError(f"{env_name('callback_slot_minutes')} and the other callback_slot settings: "
                              f"{exc.message}") from None
        try:
            _ = self.follow_up_limits
        except InvalidArgument as exc:
            raise ConfigError(f"{env_name('follow_up_max_ahead_seconds')} and the other follow-up settings: "
                              f"{exc.message}") from None
        if self.lease_ttl < 1:
            raise ConfigError(f"{env_name('lease_ttl')}={self.lease_ttl:g} must be at least 1 (seconds)")
