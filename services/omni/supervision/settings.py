"""Settings of the supervision service (OMNI_* environment variables)."""

from __future__ import annotations

import dataclasses

from omni.runtime.config import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class SupervisionSettings(ServiceSettings):
    # Routing, read with supervision's own token (OMNI_TOKEN_URL/…): the floor and queue statistics.
    routing_addr: str = "127.0.0.1:50054"
    # Deadline of each call to routing.
    routing_timeout: float = 5.0
    # The floor is read from routing at most this often (once for all watchers of a replica) and
    # pushed to each watcher when it changed.
    floor_refresh_seconds: float = 1.0
    # The agent greets within this many seconds of being connected, or an alert is raised; on the
    # channels listed (a call's greeting is spoken, and an email is not answered in seconds).
    greeting_target_seconds: float = 10.0
    greeting_channels: tuple[str, ...] = ("chat",)
    # A ticket's SLA target not met when this fraction of its time is left raises an imminent-breach alert.
    sla_warning_fraction: float = 0.2
    # How often the timers (greeting, SLA) and the queue checks run.
    sweep_seconds: float = 1.0
    queue_check_seconds: float = 30.0
    # Queue checks: the fewest contacts (answered + abandoned) in 15 minutes for a service level to
    # count; an abandonment spike is at least this many abandoned, at this rate and this many times
    # the rate earlier in the day.
    queue_min_decided: int = 5
    spike_min_abandoned: int = 3
    spike_min_rate: float = 0.2
    spike_factor: float = 2.0
    # The usual band (docs/supervisor.md): k scaled MADs around the median of the same hour of the
    # week over at most band_weeks (at least band_min_weeks), else of the same hour of the day over
    # at most band_days (at least band_min_days); less history: no judgement.
    band_k: float = 3.0
    band_weeks: int = 8
    band_min_weeks: int = 4
    band_days: int = 14
    band_min_days: int = 7
    # Most open alerts a watch starts with, and most watches (floor and alerts) one replica serves.
    max_watch_snapshot: int = 200
    max_watchers: int = 200
    # Outbox relay of alert events (as in sessions and tickets).
    outbox_relay_seconds: float = 2.0
    outbox_grace_seconds: float = 5.0
