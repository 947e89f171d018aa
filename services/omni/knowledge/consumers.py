"""Events the knowledge service consumes.

- Its own article events, on every replica (a per-replica consumer): re-read the article from
  MongoDB and serve what is stored, so replicas agree whatever order events arrive in.
- Interactions from sessions, once per deployment (a shared durable), when usage counting is
  on: an agent reply that uses an article counts towards its ranking.
"""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from omni.knowledge.domain.model import Stats
from omni.knowledge.domain.usage import articles_used
from omni.knowledge.knowledge_base import KnowledgeBase
from omni.knowledge.publishing import ArticleEvents, article_id_of
from omni.runtime.events import Delivery, PermanentError, unpack
from omni.runtime.storage import ProcessedEvents
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1 import events_pb2 as session_events


class KnowledgeConsumers:
    def __init__(self, kb: KnowledgeBase, events: ArticleEvents, processed: ProcessedEvents) -> None:
        self._kb = kb
        self._events = events
        self._processed = processed

    async def on_article_event(self, delivery: Delivery) -> None:
        article_id = article_id_of(delivery.envelope.subject)
        if not article_id:
            raise PermanentError(f"article event {delivery.envelope.id} has subject {delivery.envelope.subject!r}, "
                                 "expected articles/{id}")
        await self._kb.reload(article_id)

    async def on_interaction(self, delivery: Delivery) -> None:
        interaction = unpack(delivery.envelope, session_events.InteractionReceived).interaction
        if interaction.direction != common_pb2.DIRECTION_OUTBOUND or not interaction.text:
            return
        used = articles_used(interaction.text, interaction.attributes, self._kb.index.snapshot.articles)
        if not used:
            return
        counted: dict[str, Stats] = {}

        async def count(session: AsyncClientSession) -> None:
            counted.clear()
            for article_id in used:
                counted[article_id] = await self._kb.repo.count_usage(article_id, session)

        if await self._processed.run_once(delivery.envelope.id, count):
            for article_id, stats in counted.items():
                self._kb.index.set_stats(article_id, stats)
                await self._events.stats_changed(article_id, stats, f"{delivery.envelope.id}:{article_id}:usage")
