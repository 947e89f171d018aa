"""Settings of the knowledge service (OMNI_* environment variables)."""

from __future__ import annotations

import dataclasses

from omni.runtime.config import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class KnowledgeSettings(ServiceSettings):
    # Count agent replies that quote an article (interaction events) as usage, which steers ranking.
    knowledge_count_usage: bool = False
    # The server deletes a replica's index-refresh consumer after this long without it fetching.
    knowledge_consumer_idle_seconds: float = 300.0
    # Backstop for lost events: re-read articles changed in the last interval this often (0 = never).
    knowledge_resync_seconds: float = 60.0
    # Longest search query / conversation snippet; Suggest uses the end of longer snippets.
    knowledge_max_query_chars: int = 2000
    knowledge_max_body_chars: int = 100_000
    # Most suggestions one Suggest call returns.
    knowledge_max_suggestions: int = 20
