"""MongoDB storage of categories, articles (with their latest and published versions inline),
the full version history, and deduplicated feedback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from omni.knowledge.domain.access import Readable
from omni.knowledge.domain.model import Article, Audience, Category, Content, FeedbackKind, Stats, Status, Version
from omni.runtime.clock import utcnow
from omni.runtime.errors import AlreadyExists, Conflict, NotFound
from omni.runtime.paging import Page, PageRequest
from omni.runtime.storage import Document, ProcessedEvents, find_page, update_then_read

CATEGORIES = "categories"
ARTICLES = "articles"
VERSIONS = "article_versions"
FEEDBACK = "feedback"

INDEXES = {
    CATEGORIES: [IndexModel([("parent_id", ASCENDING), ("name", ASCENDING)], unique=True, name="sibling_name"),
                 IndexModel([("path_ids", ASCENDING)], name="subtree")],
    ARTICLES: [IndexModel([("status", ASCENDING)], name="status"),
               IndexModel([("sync_time", ASCENDING)], name="sync_time"),
               IndexModel([("request_id", ASCENDING)], name="request_id")],
    VERSIONS: [IndexModel([("article_id", ASCENDING), ("number", ASCENDING)], unique=True, name="article_version")],
}
_STAT_FIELDS = {FeedbackKind.HELPFUL: "helpful", FeedbackKind.NOT_HELPFUL: "not_helpful",
                FeedbackKind.USED_IN_REPLY: "used_in_reply"}


def _version_doc(v: Version) -> Document:
    c = v.content
    return {"number": v.number, "title": c.title, "body": c.body, "tags": list(c.tags), "category_id": c.category_id,
            "category_path": list(c.category_path), "language": c.language, "audience": str(c.audience),
            "author_id": v.author_id, "create_time": v.create_time, "change_note": v.change_note}


def _version(doc: Document) -> Version:
    content = Content(title=doc["title"], body=doc["body"], tags=tuple(doc["tags"]), category_id=doc["category_id"],
                      language=doc["language"], audience=Audience(doc["audience"]),
                      category_path=tuple(doc["category_path"]))
    return Version(doc["number"], content, doc["author_id"], doc["create_time"], doc.get("change_note", ""))


def _stats(doc: Document | None) -> Stats:
    doc = doc or {}
    return Stats(doc.get("helpful", 0), doc.get("not_helpful", 0), doc.get("used_in_reply", 0), doc.get("usage", 0))


def _article(doc: Document) -> Article:
    published = doc.get("published")
    return Article(id=doc["_id"], status=Status(doc["status"]), latest=_version(doc["latest"]),
                   published=_version(published) if published else None, create_time=doc["create_time"],
                   update_time=doc["update_time"], revision=doc["revision"], stats=_stats(doc.get("stats")))


def readable_query(readable: Readable | None) -> Document:
    """The query form of `domain.access.Readable` (None: every article)."""
    if readable is None:
        return {}
    query: Document = {"status": str(Status.PUBLISHED)}
    if readable.audience is not None:
        query["published.audience"] = str(readable.audience)
    return query


def _category(doc: Document) -> Category:
    return Category(doc["_id"], doc["parent_id"], doc["name"], tuple(doc["path_ids"]), tuple(doc["path_names"]))


class KnowledgeRepository:
    def __init__(self, client: AsyncMongoClient[Document], db: AsyncDatabase[Document],
                 usage_events: ProcessedEvents) -> None:
        self._client = client
        # The interaction events already counted as usage.
        self._usage_events = usage_events
        self._categories = db[CATEGORIES]
        self._articles = db[ARTICLES]
        self._versions = db[VERSIONS]
        self._feedback = db[FEEDBACK]

    # Categories

    async def insert_category(self, category: Category) -> None:
        if await self._categories.find_one({"_id": category.id}, {"_id": 1}):
            raise AlreadyExists(f"category {category.id} already exists")
        try:
            await self._categories.insert_one({"_id": category.id, "parent_id": category.parent_id,
                                               "name": category.name, "path_ids": list(category.path_ids),
                                               "path_names": list(category.path_names), "create_time": utcnow()})
        except DuplicateKeyError:
            where = f"category {category.parent_id}" if category.parent_id else "the top level"
            raise AlreadyExists(f"a category named {category.name!r} already exists under {where}") from None

    async def get_category(self, category_id: str) -> Category:
        doc = await self._categories.find_one({"_id": category_id})
        if doc is None:
            raise NotFound(f"category {category_id} does not exist; list categories with ListCategories")
        return _category(doc)

    async def list_categories(self, parent_id: str, *, recursive: bool) -> list[Category]:
        query: Document = {"parent_id": parent_id}
        if recursive:
            query = {"path_ids": parent_id} if parent_id else {}
        docs = [d async for d in self._categories.find(query)]
        found = [_category(d) for d in docs if d["_id"] != parent_id]
        return sorted(found, key=lambda c: c.path_names)

    # Articles

    async def _write(self, article: Article, *, expected_revision: int | None, new_version: bool,
                     request_id: str = "") -> None:
        now = utcnow()
        doc: Document = {"status": str(article.status), "revision": article.revision,
                         "latest": _version_doc(article.latest),
                         "published": _version_doc(article.published) if article.published else None,
                         "update_time": article.update_time, "sync_time": now}

        async def body(session: AsyncClientSession) -> None:
            if expected_revision is None:
                await self._articles.insert_one({"_id": article.id, **doc, "create_time": article.create_time,
                                                 "request_id": request_id, "stats": {}}, session=session)
            else:
                result = await self._articles.update_one({"_id": article.id, "revision": expected_revision},
                                                         {"$set": doc}, session=session)
                if result.matched_count == 0:
                    raise Conflict(f"article {article.id} was changed by someone else meanwhile; reload it and "
                                   "apply your change again")
            if new_version:
                await self._versions.insert_one({"_id": f"{article.id}:{article.latest.number}",
                                                 "article_id": article.id, **_version_doc(article.latest)},
                                                session=session)

        async with self._client.start_session() as session:
            await session.with_transaction(body)

    async def insert_article(self, article: Article, request_id: str) -> None:
        try:
            await self._write(article, expected_revision=None, new_version=True, request_id=request_id)
        except DuplicateKeyError:
            raise AlreadyExists(f"article {article.id} already exists") from None

    async def save(self, article: Article, *, expected_revision: int, new_version: bool) -> None:
        await self._write(article, expected_revision=expected_revision, new_version=new_version)

    async def find_by_request(self, request_id: str) -> Article | None:
        doc = await self._articles.find_one({"request_id": request_id})
        return _article(doc) if doc else None

    async def find_article(self, article_id: str) -> Article | None:
        doc = await self._articles.find_one({"_id": article_id})
        return _article(doc) if doc else None

    async def get_article(self, article_id: str) -> Article:
        article = await self.find_article(article_id)
        if article is None:
            raise NotFound(f"article {article_id} does not exist")
        return article

    async def get_version(self, article_id: str, number: int) -> Version:
        doc = await self._versions.find_one({"article_id": article_id, "number": number})
        if doc is None:
            raise NotFound(f"article {article_id} has no version {number}")
        return _version(doc)

    async def list_versions(self, article_id: str) -> list[Version]:
        docs = self._versions.find({"article_id": article_id}).sort("number", ASCENDING)
        return [_version(d) async for d in docs]

    async def list_articles(self, readable: Readable | None, *, status: Status | None, category_id: str,
                            language: str, page: PageRequest) -> Page[Article]:
        """Articles in `status` (None: any), in the category's subtree and `language` when set,
        restricted to what is `readable`, by id."""
        query: Document = {}
        if status is not None:
            query["status"] = str(status)
        if category_id:
            query["latest.category_path"] = category_id
        if language:
            query["latest.language"] = language
        # Last, so the reader's limit wins over anything asked for.
        query.update(readable_query(readable))
        found = await find_page(self._articles, query, [("_id", ASCENDING)], page)
        return Page([_article(d) for d in found.items], found.next_after)

    async def served_articles(self) -> list[Article]:
        return [_article(d) async for d in self._articles.find({"status": str(Status.PUBLISHED)})]

    async def changed_since(self, since: dt.datetime) -> list[Article]:
        return [_article(d) async for d in self._articles.find({"sync_time": {"$gt": since}})]

    # Ranking signals

    async def record_feedback(self, article_id: str, kind: FeedbackKind, rater: str,
                              session_id: str) -> tuple[bool, Stats]:
        """Counted once per rater, article, kind and session; returns (counted, stats)."""
        key = f"{article_id}:{kind}:{rater}:{session_id}"
        stats: list[Stats] = []

        async def body(session: AsyncClientSession) -> None:
            stats.clear()
            await self._feedback.insert_one({"_id": key, "article_id": article_id, "kind": str(kind), "rater": rater,
                                             "session_id": session_id, "time": utcnow()}, session=session)
            stats.append(await self._bump(article_id, _STAT_FIELDS[kind], session))

        try:
            async with self._client.start_session() as session:
                await session.with_transaction(body)
        except DuplicateKeyError:
            return False, await self.get_stats(article_id)
        return True, stats[0]

    async def _bump(self, article_id: str, field: str, session: AsyncClientSession) -> Stats:
        doc = await update_then_read(self._articles, {"_id": article_id},
                                     {"$inc": {f"stats.{field}": 1}, "$set": {"sync_time": utcnow()}}, session=session)
        if doc is None:
            raise NotFound(f"article {article_id} does not exist")
        return _stats(doc.get("stats"))

    async def count_usage(self, event_id: str, article_ids: Sequence[str]) -> dict[str, Stats]:
        """One more usage for each article, once per event; the articles' stats now ({} when the
        event had been counted before)."""
        counted: dict[str, Stats] = {}

        async def count(session: AsyncClientSession) -> None:
            counted.clear()
            for article_id in article_ids:
                counted[article_id] = await self._bump(article_id, "usage", session)

        return counted if await self._usage_events.run_once(event_id, count) else {}

    async def get_stats(self, article_id: str) -> Stats:
        doc = await self._articles.find_one({"_id": article_id}, {"stats": 1})
        if doc is None:
            raise NotFound(f"article {article_id} does not exist")
        return _stats(doc.get("stats"))
