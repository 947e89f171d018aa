"""Settings of the tickets service (OMNI_* environment variables), and the SLA policy their
`priority=minutes` entries describe."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from omni.runtime.config import ConfigError, ServiceSettings, env_name
from omni.tickets.domain.lifecycle import Priority
from omni.tickets.domain.sla import SlaPolicy, Targets

# A batch is one transaction; beyond this it holds its reads and writes too long.
MAX_INGEST_BATCH = 1000


@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketSettings(ServiceSettings):
    # Region for phone numbers given without a country code (ISO 3166 code, e.g. CN, GB).
    default_region: str = "CN"
    # Phone/chat/email without thread markers joins the customer's active ticket on the same
    # topic if it happened within this many hours of the ticket's activity.
    same_topic_window_hours: float = 72.0
    # A reply this many hours after a ticket was solved/closed reopens it; later, a follow-up.
    follow_up_window_hours: float = 168.0
    # A phone or chat contact on the topic of a ticket solved/closed longer ago than the
    # follow-up window, but within this many days, opens a new ticket linked as its follow-up.
    follow_up_link_days: float = 30.0
    # priority=minutes for every priority (low, normal, high, urgent).
    sla_first_response_minutes: tuple[str, ...] = ("low=1440", "normal=480", "high=60", "urgent=15")
    sla_resolution_minutes: tuple[str, ...] = ("low=10080", "normal=4320", "high=1440", "urgent=240")
    # How often the SLA loop looks for breaches.
    sla_check_seconds: float = 30.0
    max_subject_chars: int = 500
    max_note_chars: int = 10_000
    max_tags: int = 50
    max_tag_chars: int = 64
    max_name_chars: int = 200
    # GetTicket shows the ticket's newest interactions, at most this many and this many bytes (the
    # count of all is in interaction_count): a long thread must not outgrow one response, nor a
    # client's default 4 MiB.
    ticket_timeline_limit: int = 100
    ticket_timeline_max_bytes: int = 2 * 1024 * 1024
    # Interactions threaded together in one transaction (one fetch from the bus).
    ingest_batch: int = 64

    def __post_init__(self) -> None:
        if not 1 <= self.ingest_batch <= MAX_INGEST_BATCH:
            raise ConfigError(f"{env_name('ingest_batch')}={self.ingest_batch} must be from 1 to {MAX_INGEST_BATCH}")


def parse_minutes(entries: Iterable[str], setting: str) -> dict[Priority, float]:
    """`("urgent=15", "high=60", ...)` → minutes per priority; every priority must be given."""
    minutes: dict[Priority, float] = {}
    for entry in entries:
        name, eq, raw = entry.partition("=")
        try:
            priority = Priority[name.strip().upper()]
            value = float(raw)
        except (KeyError, ValueError):
            raise ConfigError(f"{setting}: {entry!r} is not priority=minutes (priorities: low, normal, high, "
                              "urgent)") from None
        if not eq or value <= 0:
            raise ConfigError(f"{setting}: {entry!r} needs a positive number of minutes")
        minutes[priority] = value
    missing = [p.name.lower() for p in Priority if p not in minutes]
    if missing:
        raise ConfigError(f"{setting} has no target for: {', '.join(missing)}")
    return minutes


def policy_from(first_response: Iterable[str], resolution: Iterable[str]) -> SlaPolicy:
    first = parse_minutes(first_response, "OMNI_SLA_FIRST_RESPONSE_MINUTES")
    resolve = parse_minutes(resolution, "OMNI_SLA_RESOLUTION_MINUTES")
    return SlaPolicy({p: Targets(dt.timedelta(minutes=first[p]), dt.timedelta(minutes=resolve[p])) for p in Priority})
