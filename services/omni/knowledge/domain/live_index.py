"""The replica's in-memory search index, kept in step with the database.

An edit, publication or withdrawal changes the one article's postings in place (a few
milliseconds, mostly segmenting its text), so it is searchable as soon as `apply` returns.
Only the start-up load indexes everything; that runs off the event loop, and changes applied
meanwhile are replayed onto the new index before it is swapped in.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable

from omni.knowledge.domain.model import Article, Stats
from omni.knowledge.domain.search import SearchIndex


class LiveIndex:
    def __init__(self) -> None:
        self._articles: dict[str, Article] = {}
        self._index = SearchIndex()
        self._loading = False
        self._lock = asyncio.Lock()

    @property
    def index(self) -> SearchIndex:
        return self._index

    def served(self, article_id: str) -> Article | None:
        return self._articles.get(article_id)

    def apply(self, article: Article) -> None:
        """Take the article as stored: serve its published version, or drop it if none."""
        current = self._articles.get(article.id)
        if article.served is None:
            if current is not None:
                del self._articles[article.id]
                self._index.remove(article.id)
            return
        if current is not None and current.revision > article.revision:
            return  # an older read arriving late (event replay, resync overlap)
        self._articles[article.id] = article
        self._index.upsert(article)

    def replace_all(self, articles: Iterable[Article]) -> None:
        self._articles = {a.id: a for a in articles if a.served is not None}
        self._loading = True

    def set_stats(self, article_id: str, stats: Stats) -> None:
        current = self._articles.get(article_id)
        if current is not None:
            self._articles[article_id] = dataclasses.replace(current, stats=stats)
            self._index.set_stats(article_id, stats)

    async def refresh(self) -> None:
        """Index everything after `replace_all`; single changes are already live."""
        async with self._lock:
            if not self._loading:
                return
            self._loading = False
            built = dict(self._articles)
            index = await asyncio.to_thread(SearchIndex.of, built.values())
            # Changes (and feedback) applied to the old index while the new one was being built.
            for article_id, article in self._articles.items():
                if built.get(article_id) is not article:
                    index.upsert(article)
            for article_id in built.keys() - self._articles.keys():
                index.remove(article_id)
            self._index = index
