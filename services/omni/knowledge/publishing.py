"""Events the knowledge service publishes (domain "knowledge", subject "articles/{id}")."""

from __future__ import annotations

from omni.knowledge import convert
from omni.knowledge.domain.model import Article, Stats, Status
from omni.runtime.events import EventBus
from omnichannel.knowledge.v1 import events_pb2

DOMAIN = "knowledge"
PUBLISHED = "article_published"
ARCHIVED = "article_archived"
UPDATED = "article_updated"
STATS_CHANGED = "article_stats_changed"
EVENT_TYPES = (PUBLISHED, ARCHIVED, UPDATED, STATS_CHANGED)


class ArticleEvents:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def changed(self, article: Article, previous_status: Status) -> None:
        """One event per stored change; the revision makes retries of the same change collapse."""
        if article.status is Status.PUBLISHED and (previous_status is not Status.PUBLISHED
                                                   or article.published == article.latest):
            event_type = PUBLISHED
        elif article.status is Status.ARCHIVED:
            event_type = ARCHIVED
        else:
            event_type = UPDATED
        await self._bus.publish(DOMAIN, event_type, convert.subject(article.id),
                                events_pb2.ArticleEvent(article=convert.article_to_proto(article, article.served)),
                                event_id=f"{article.id}:r{article.revision}")

    async def stats_changed(self, article_id: str, stats: Stats, event_id: str) -> None:
        await self._bus.publish(DOMAIN, STATS_CHANGED, convert.subject(article_id),
                                events_pb2.ArticleStatsChanged(article_id=article_id,
                                                               stats=convert.stats_to_proto(stats)),
                                event_id=event_id)
