"""The replica's in-memory search index, kept in step with the database.

Changes land in a map of served articles; `refresh` builds a new `IndexSnapshot` off the event
loop (tokenising only articles whose served version is new) and swaps it in, so queries never
wait for a rebuild and never see a half-built index.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable

from omni.knowledge.domain.model import Article, Stats
from omni.knowledge.domain.search import IndexSnapshot, document_terms


class LiveIndex:
    def __init__(self) -> None:
        self._articles: dict[str, Article] = {}
        self._terms: dict[tuple[str, int], list[str]] = {}
        self._snapshot = IndexSnapshot([], [])
        self._changes = 0
        self._built = 0
        self._lock = asyncio.Lock()

    @property
    def snapshot(self) -> IndexSnapshot:
        return self._snapshot

    def served(self, article_id: str) -> Article | None:
        return self._articles.get(article_id)

    def apply(self, article: Article) -> None:
        """Take the article as stored: serve its published version, or drop it if none."""
        current = self._articles.get(article.id)
        if article.served is None:
            if current is not None:
                del self._articles[article.id]
                self._changes += 1
            return
        if current is not None and current.revision > article.revision:
            return  # an older read arriving late (event replay, resync overlap)
        self._articles[article.id] = article
        if current is None or current.served != article.served:
            self._changes += 1
        elif current.stats != article.stats:
            self._snapshot.set_stats(article.id, article.stats)

    def replace_all(self, articles: Iterable[Article]) -> None:
        self._articles = {a.id: a for a in articles if a.served is not None}
        self._changes += 1

    def set_stats(self, article_id: str, stats: Stats) -> None:
        current = self._articles.get(article_id)
        if current is not None:
            self._articles[article_id] = dataclasses.replace(current, stats=stats)
            self._snapshot.set_stats(article_id, stats)

    async def refresh(self) -> None:
        async with self._lock:
            if self._built == self._changes:
                return
            target = self._changes
            articles = list(self._articles.values())
            snapshot = await asyncio.to_thread(self._build, articles)
            # Feedback recorded while the snapshot was being built.
            for article in self._articles.values():
                if article.id in snapshot.positions and snapshot.articles[snapshot.positions[article.id]].stats \
                        != article.stats:
                    snapshot.set_stats(article.id, article.stats)
            self._snapshot = snapshot
            self._built = target

    def _build(self, articles: list[Article]) -> IndexSnapshot:
        keys = [(a.id, a.served.number if a.served else 0) for a in articles]
        terms = {key: self._terms.get(key) or document_terms(a) for key, a in zip(keys, articles, strict=True)}
        self._terms = terms
        return IndexSnapshot(articles, [terms[key] for key in keys])
