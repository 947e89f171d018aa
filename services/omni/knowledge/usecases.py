"""The knowledge service's use cases: authoring with versions, reading, search from the live
index, feedback and usage. The only caller of the repository and the publisher, and where the
access rule of `domain.access` is applied.

Writes go to MongoDB, then to this replica's index (so an editor sees their change at once),
then out as an event so every other replica refreshes its own index.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Mapping, Sequence

from omni.knowledge.domain import access, articles, categories, text
from omni.knowledge.domain.live_index import LiveIndex
from omni.knowledge.domain.model import Article, Category, Content, FeedbackKind, Stats, Status, Version
from omni.knowledge.domain.search import Filter, Hit
from omni.knowledge.domain.usage import articles_used
from omni.knowledge.publishing import ArticleEvents
from omni.knowledge.repository import KnowledgeRepository
from omni.knowledge.settings import KnowledgeSettings
from omni.runtime.auth import Principal
from omni.runtime.clock import utcnow
from omni.runtime.errors import AlreadyExists, InvalidArgument, NotFound
from omni.runtime.paging import Page, PageRequest, Position
from omni.runtime.validation import check_length

log = logging.getLogger("omni.knowledge")

# Fields UpdateArticle may change.
UPDATABLE = ("title", "body", "tags", "category_id", "language", "audience")


@dataclasses.dataclass(frozen=True)
class SearchPage:
    hits: list[Hit]
    # Where the next page starts; None on the last page.
    next_after: Position | None
    total: int


class KnowledgeBase:
    def __init__(self, repo: KnowledgeRepository, index: LiveIndex, events: ArticleEvents,
                 settings: KnowledgeSettings) -> None:
        self._repo = repo
        self._index = index
        self._events = events
        self._settings = settings

    # Index upkeep

    async def load(self) -> None:
        """Build the index from every published article (start-up)."""
        self._index.replace_all(await self._repo.served_articles())
        await self._index.refresh()
        log.info("knowledge index loaded: %d published articles", len(self._index.index))

    async def reload(self, article_id: str) -> None:
        """Re-read one article and serve what is stored now (events; idempotent, order-free)."""
        article = await self._repo.find_article(article_id)
        if article is None:
            return
        self._index.apply(article)
        await self._index.refresh()

    async def resync(self, since: dt.datetime) -> None:
        for article in await self._repo.changed_since(since):
            self._index.apply(article)
        await self._index.refresh()

    async def _stored(self, article: Article, previous: Article | None, *, new_version: bool,
                      request_id: str = "") -> Article:
        if previous is None:
            await self._repo.insert_article(article, request_id)
        else:
            await self._repo.save(article, expected_revision=previous.revision, new_version=new_version)
        self._index.apply(article)
        await self._index.refresh()
        await self._events.changed(article, previous.status if previous else Status.DRAFT)
        return article

    # Categories

    async def create_category(self, category_id: str, name: str, parent_id: str) -> Category:
        parent = await self._repo.get_category(parent_id) if parent_id else None
        category = categories.new_category(categories.check_id(category_id, "category_id"), name, parent)
        await self._repo.insert_category(category)
        return category

    async def list_categories(self, parent_id: str, recursive: bool) -> list[Category]:
        if parent_id:
            await self._repo.get_category(parent_id)
        return await self._repo.list_categories(parent_id, recursive=recursive)

    # Authoring

    async def _checked(self, content: Content) -> Content:
        content = articles.check_content(content, max_body_chars=self._settings.knowledge_max_body_chars)
        path: tuple[str, ...] = ()
        if content.category_id:
            try:
                path = (await self._repo.get_category(content.category_id)).path_ids
            except NotFound:
                raise InvalidArgument(f"category {content.category_id} does not exist; create it first or leave "
                                      "category_id empty") from None
        return dataclasses.replace(content, category_path=path)

    async def create_article(self, author: Principal, article_id: str, content: Content, request_id: str) -> Article:
        check_length(request_id, "request_id", 128)
        if request_id:
            earlier = await self._repo.find_by_request(request_id)
            if earlier is not None:
                return earlier
            # Two racing retries of one request (on this replica or another) pick the same id, so
            # one of them is refused by the database: it answers with what the other stored.
            article_id = article_id or "a-" + hashlib.sha256(request_id.encode()).hexdigest()[:16]
        article = articles.create(categories.check_id(article_id, "article_id"), await self._checked(content),
                                  author.subject, utcnow())
        try:
            return await self._stored(article, None, new_version=True, request_id=request_id)
        except AlreadyExists:
            earlier = await self._repo.find_by_request(request_id) if request_id else None
            if earlier is None:
                raise
            return earlier

    async def update_article(self, author: Principal, article_id: str, changes: Content, paths: Sequence[str],
                             note: str) -> Article:
        current = await self._repo.get_article(article_id)
        fields = {path: getattr(changes, path) for path in paths}
        content = await self._checked(dataclasses.replace(current.latest.content, **fields))
        updated = articles.edit(current, content, author.subject, articles.check_note(note), utcnow())
        return await self._stored(updated, current, new_version=True)

    async def transition(self, article_id: str, target: Status) -> Article:
        current = await self._repo.get_article(article_id)
        return await self._stored(articles.transition(current, target, utcnow()), current, new_version=False)

    async def rollback(self, author: Principal, article_id: str, number: int) -> Article:
        current = await self._repo.get_article(article_id)
        earlier = await self._repo.get_version(article_id, self._version_number(number))
        return await self._stored(articles.rollback(current, earlier, author.subject, utcnow()), current,
                                  new_version=True)

    @staticmethod
    def _version_number(number: int) -> int:
        if number < 1:
            raise InvalidArgument(f"version must be 1 or more (got {number})")
        return number

    # Reading

    async def get_article(self, reader: Principal, article_id: str, number: int) -> tuple[Article, Version]:
        article = await self._repo.get_article(article_id)
        version = access.check_read(reader, article, number)
        if version is None:
            version = await self._repo.get_version(article_id, self._version_number(number))
        return article, version

    async def list_articles(self, reader: Principal, category_id: str, status: Status | None, language: str,
                            page: PageRequest) -> Page[tuple[Article, Version]]:
        """Each article with the version the reader sees of it."""
        readable = access.check_listing(reader, status)
        found = await self._repo.list_articles(
            readable, status=status, category_id=category_id,
            language=articles.normalise_language(language) if language else "", page=page)
        return Page([(article, version) for article in found.items
                     if (version := access.shown(reader, article)) is not None], found.next_after)

    async def versions(self, article_id: str) -> list[Version]:
        await self._repo.get_article(article_id)
        return await self._repo.list_versions(article_id)

    async def diff(self, article_id: str, old: int, new: int) -> str:
        current = await self._repo.get_article(article_id)
        new = new or current.latest.number
        before = await self._repo.get_version(article_id, self._version_number(old))
        after = await self._repo.get_version(article_id, self._version_number(new))
        return articles.diff(before, after, article_id)

    # Search

    def search(self, reader: Principal, query: str, where: Filter, page: PageRequest) -> SearchPage:
        """Hits ranked by relevance; a position is the offset into that ranking."""
        check_length(query, "query", self._settings.knowledge_max_query_chars)
        if not query.strip():
            raise InvalidArgument("query is required")
        where = access.search_filter(reader, where)
        offset = int(page.after[0]) if page.after else 0
        terms = text.query_terms(query)
        index = self._index.index
        order, scores = index.rank(terms, where)
        served = slice(offset, offset + page.size)
        more = offset + page.size < len(order)
        return SearchPage(index.hits(terms, order[served], scores[served]),
                          (offset + page.size,) if more else None, len(order))

    def suggest(self, reader: Principal, snippet: str, where: Filter, context: Sequence[str], limit: int) -> list[Hit]:
        if limit < 0:
            raise InvalidArgument(f"limit must not be negative (got {limit})")
        limit = min(limit or 5, self._settings.knowledge_max_suggestions)
        # The customer's latest words matter most; a long transcript is cut from the front.
        snippet = snippet[-self._settings.knowledge_max_query_chars:]
        where = access.search_filter(reader, where)
        terms = text.query_terms(snippet)
        index = self._index.index
        order, scores = index.rank(terms, where, boost_tags=context, limit=limit)
        return index.hits(terms, order, scores)

    # Ranking signals

    async def record_feedback(self, reader: Principal, article_id: str, kind: FeedbackKind, session_id: str,
                              agent_id: str) -> tuple[bool, Stats]:
        article_id = article_id.strip()
        if not article_id:
            raise InvalidArgument("article_id is required")
        check_length(session_id, "session_id", 128)
        rater = access.rater(reader, article_id, self._index.served(article_id), agent_id=agent_id,
                             session_id=session_id)
        counted, stats = await self._repo.record_feedback(article_id, kind, rater.id, rater.session_id)
        if counted:
            self._index.set_stats(article_id, stats)
            await self._events.stats_changed(article_id, stats,
                                             f"{article_id}:{kind}:{rater.id}:{rater.session_id}")
        return counted, stats

    async def count_usage(self, event_id: str, reply: str, attributes: Mapping[str, str]) -> None:
        """Count an outbound reply (event `event_id`, once) towards the served articles it used."""
        used = articles_used(reply, attributes, self._index.index.articles)
        if not used:
            return
        for article_id, stats in (await self._repo.count_usage(event_id, used)).items():
            self._index.set_stats(article_id, stats)
            await self._events.stats_changed(article_id, stats, f"{event_id}:{article_id}:usage")
