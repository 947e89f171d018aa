"""Settings of the tickets service (OMNI_* environment variables)."""

from __future__ import annotations

import dataclasses

from omni.runtime.config import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketSettings(ServiceSettings):
    # Region for phone numbers given without a country code (ISO 3166 code, e.g. CN, GB).
    default_region: str = "CN"
    # Phone/chat/email without thread markers joins the customer's active ticket on the same
    # topic if it happened within this many hours of the ticket's activity.
    same_topic_window_hours: float = 72.0
    # A reply this many hours after a ticket was solved/closed reopens it; later, a follow-up.
    follow_up_window_hours: float = 168.0
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
