"""Settings of the routing service (OMNI_* environment variables)."""

from __future__ import annotations

import dataclasses

from omni.routing.domain.bot_lane import BOT_CLAIM_SECONDS
from omni.runtime.config import ConfigError, ServiceSettings, env_name


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

    def __post_init__(self) -> None:
        if self.bot_claim_seconds <= 0:
            raise ConfigError(f"{env_name('bot_claim_seconds')}={self.bot_claim_seconds:g} must be above 0")
