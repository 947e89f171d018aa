"""Events the knowledge service consumes.

- Its own article events, on every replica (a per-replica consumer): re-read the article from
  MongoDB and serve what is stored, so replicas agree whatever order events arrive in.
- Interactions from sessions, once per deployment (a shared durable), when usage counting is
  on: an agent reply that uses an article counts towards its ranking.
"""

from __future__ import annotations

from omni.knowledge import convert
from omni.knowledge.usecases import KnowledgeBase
from omni.runtime.events import Delivery, PermanentError, unpack
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1 import events_pb2 as session_events


class KnowledgeConsumers:
    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb

    async def on_article_event(self, delivery: Delivery) -> None:
        article_id = convert.article_id_of(delivery.envelope.subject)
        if not article_id:
            raise PermanentError(f"article event {delivery.envelope.id} has subject {delivery.envelope.subject!r}, "
                                 "expected articles/{id}")
        await self._kb.reload(article_id)

    async def on_interaction(self, delivery: Delivery) -> None:
        interaction = unpack(delivery.envelope, session_events.InteractionReceived).interaction
        # Replies only: a customer naming an article's title is not the article being used.
        if interaction.direction != common_pb2.DIRECTION_OUTBOUND or not interaction.text:
            return
        await self._kb.count_usage(delivery.envelope.id, interaction.text, interaction.attributes)
