"""What the knowledge service does: authoring with versions, and search from the live index.

Writes go to MongoDB, then to this replica's index (so an editor sees their change at once),
then out as an event so every other replica refreshes its own index.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Sequence

from omni.knowledge.domain import articles, categories, text
from omni.knowledge.domain.live_index import LiveIndex
from omni.knowledge.domain.model import Article, Audience, Category, Content, FeedbackKind, Stats, Status, Version
from omni.knowledge.domain.search import Filter, Hit
from omni.knowledge.publishing import ArticleEvents
from omni.knowledge.repository import KnowledgeRepository
from omni.knowledge.settings import KnowledgeSettings
from omni.runtime.auth import MANAGERS, Principal, Role
from omni.runtime.clock import utcnow
from omni.runtime.errors import InvalidArgument, NotFound, PermissionDenied
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
        self.repo = repo
        self.index = index
        self._events = events
        self._settings = settings

    # Index upkeep

    async def load(self) -> None:
        """Build the index from every published article (start-up)."""
        self.index.replace_all(await self.repo.served_articles())
        await self.index.refresh()
        log.info("knowledge index loaded: %d published articles", len(self.index.snapshot))

    async def reload(self, article_id: str) -> None:
        """Re-read one article and serve what is stored now (events; idempotent, order-free)."""
        article = await self.repo.find_article(article_id)
        if article is None:
            return
        self.index.apply(article)
        await self.index.refresh()

    async def resync(self, since: dt.datetime) -> None:
        for article in await self.repo.changed_since(since):
            self.index.apply(article)
        await self.index.refresh()

    async def _stored(self, article: Article, previous: Article | None, *, new_version: bool,
                      request_id: str = "") -> Article:
        if previous is None:
            await self.repo.insert_article(article, request_id)
        else:
            await self.repo.save(article, expected_revision=previous.revision, new_version=new_version)
        self.index.apply(article)
        await self.index.refresh()
        await self._events.changed(article, previous.status if previous else Status.DRAFT)
        return article

    # Categories

    async def create_category(self, category_id: str, name: str, parent_id: str) -> Category:
        parent = await self.repo.get_category(parent_id) if parent_id else None
        category = categories.new_category(categories.check_id(category_id, "category_id"), name, parent)
        await self.repo.insert_category(category)
        return category

    async def list_categories(self, parent_id: str, recursive: bool) -> list[Category]:
        if parent_id:
            await self.repo.get_category(parent_id)
        return await self.repo.list_categories(parent_id, recursive=recursive)

    # Authoring

    async def _checked(self, content: Content) -> Content:
        content = articles.check_content(content, max_body_chars=self._settings.knowledge_max_body_chars)
        path: tuple[str, ...] = ()
        if content.category_id:
            try:
                path = (await self.repo.get_category(content.category_id)).path_ids
            except NotFound:
                raise InvalidArgument(f"category {content.category_id} does not exist; create it first or leave "
                                      "category_id empty") from None
        return dataclasses.replace(content, category_path=path)

    async def create_article(self, author: Principal, article_id: str, content: Content, request_id: str) -> Article:
        check_length(request_id, "request_id", 128)
        if request_id:
            earlier = await self.repo.find_by_request(request_id)
            if earlier is not None:
                return earlier
            # Two racing retries of one request pick the same id, so one of them fails.
            article_id = article_id or "a-" + hashlib.sha256(request_id.encode()).hexdigest()[:16]
        article = articles.create(categories.check_id(article_id, "article_id"), await self._checked(content),
                                  author.subject, utcnow())
        return await self._stored(article, None, new_version=True, request_id=request_id)

    async def update_article(self, author: Principal, article_id: str, changes: Content, paths: Sequence[str],
                             note: str) -> Article:
        current = await self.repo.get_article(article_id)
        fields = {path: getattr(changes, path) for path in paths}
        content = await self._checked(dataclasses.replace(current.latest.content, **fields))
        updated = articles.edit(current, content, author.subject, articles.check_note(note), utcnow())
        return await self._stored(updated, current, new_version=True)

    async def transition(self, article_id: str, target: Status) -> Article:
        current = await self.repo.get_article(article_id)
        return await self._stored(articles.transition(current, target, utcnow()), current, new_version=False)

    async def rollback(self, author: Principal, article_id: str, number: int) -> Article:
        current = await self.repo.get_article(article_id)
        earlier = await self.repo.get_version(article_id, self._version_number(number))
        return await self._stored(articles.rollback(current, earlier, author.subject, utcnow()), current,
                                  new_version=True)

    @staticmethod
    def _version_number(number: int) -> int:
        if number < 1:
            raise InvalidArgument(f"version must be 1 or more (got {number})")
        return number

    # Reading

    async def get_article(self, reader: Principal, article_id: str, number: int) -> tuple[Article, Version]:
        article = await self.repo.get_article(article_id)
        if reader.role in MANAGERS:
            if number == 0:
                return article, article.latest
            return article, await self.repo.get_version(article_id, self._version_number(number))
        # Agents read what is served: drafts and history are the editors' business.
        served = article.served
        if served is None:
            raise NotFound(f"article {article_id} is not published")
        if number not in (0, served.number):
            raise PermissionDenied(f"agents may read the published version ({served.number}) of article {article_id} "
                                   "only")
        return article, served

    async def list_articles(self, reader: Principal, category_id: str, status: Status | None, language: str,
                            page: PageRequest) -> Page[Article]:
        filters: dict[str, object] = {}
        if reader.role not in MANAGERS:
            if status not in (None, Status.PUBLISHED):
                raise PermissionDenied("agents may list published articles only")
            status = Status.PUBLISHED
        if status is not None:
            filters["status"] = str(status)
        if category_id:
            filters["latest.category_path"] = category_id
        if language:
            filters["latest.language"] = articles.normalise_language(language)
        return await self.repo.list_articles(filters, page)

    async def versions(self, article_id: str) -> list[Version]:
        await self.repo.get_article(article_id)
        return await self.repo.list_versions(article_id)

    async def diff(self, article_id: str, old: int, new: int) -> str:
        current = await self.repo.get_article(article_id)
        new = new or current.latest.number
        before = await self.repo.get_version(article_id, self._version_number(old))
        after = await self.repo.get_version(article_id, self._version_number(new))
        return articles.diff(before, after, article_id)

    # Search

    def _visible(self, reader: Principal, where: Filter) -> Filter:
        if reader.role is not Role.CUSTOMER:
            return where
        if where.audience is Audience.INTERNAL:
            raise PermissionDenied("customers may search public articles only; leave audience unset or "
                                   "AUDIENCE_PUBLIC")
        return dataclasses.replace(where, audience=Audience.PUBLIC)

    def search(self, reader: Principal, query: str, where: Filter, page: PageRequest) -> SearchPage:
        """Hits ranked by relevance; a position is the offset into that ranking."""
        check_length(query, "query", self._settings.knowledge_max_query_chars)
        if not query.strip():
            raise InvalidArgument("query is required")
        where = self._visible(reader, where)
        offset = int(page.after[0]) if page.after else 0
        terms = text.query_terms(query)
        snapshot = self.index.snapshot
        order, scores = snapshot.rank(terms, where)
        served = slice(offset, offset + page.size)
        more = offset + page.size < len(order)
        return SearchPage(snapshot.hits(terms, order[served], scores[served]),
                          (offset + page.size,) if more else None, len(order))

    def suggest(self, reader: Principal, snippet: str, where: Filter, context: Sequence[str], limit: int) -> list[Hit]:
        if limit < 0:
            raise InvalidArgument(f"limit must not be negative (got {limit})")
        limit = min(limit or 5, self._settings.knowledge_max_suggestions)
        # The customer's latest words matter most; a long transcript is cut from the front.
        snippet = snippet[-self._settings.knowledge_max_query_chars:]
        where = self._visible(reader, where)
        terms = text.query_terms(snippet)
        snapshot = self.index.snapshot
        order, scores = snapshot.rank(terms, where, boost_tags=context, limit=limit)
        return snapshot.hits(terms, order, scores)

    async def record_feedback(self, reader: Principal, article_id: str, kind: FeedbackKind, session_id: str,
                              agent_id: str) -> tuple[bool, Stats]:
        article_id = article_id.strip()
        if not article_id:
            raise InvalidArgument("article_id is required")
        check_length(session_id, "session_id", 128)
        rater = agent_id if reader.role is Role.SERVICE and agent_id else reader.subject
        if reader.role is Role.CUSTOMER:
            served = self.index.served(article_id)
            if served is None or served.served is None or served.served.content.audience is not Audience.PUBLIC:
                raise NotFound(f"article {article_id} is not a published public article")
            # Their token's session, never one they name: naming new ones would count them again.
            session_id = reader.session_id
        counted, stats = await self.repo.record_feedback(article_id, kind, rater, session_id)
        if counted:
            self.index.set_stats(article_id, stats)
            await self._events.stats_changed(article_id, stats, f"{article_id}:{kind}:{rater}:{session_id}")
        return counted, stats
