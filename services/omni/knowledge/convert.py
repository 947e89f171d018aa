"""Proto ↔ domain for the knowledge service, and the subjects of its article events."""

from __future__ import annotations

from collections.abc import Collection

from omni.knowledge.domain.model import Article, Audience, Category, Content, FeedbackKind, Stats, Status, Version
from omni.knowledge.domain.search import Filter, Hit
from omni.runtime.errors import InvalidArgument
from omni.runtime.proto_values import timestamp
from omnichannel.knowledge.v1 import knowledge_pb2 as pb

STATUSES = {Status.DRAFT: pb.ARTICLE_STATUS_DRAFT, Status.REVIEW: pb.ARTICLE_STATUS_REVIEW,
            Status.PUBLISHED: pb.ARTICLE_STATUS_PUBLISHED, Status.ARCHIVED: pb.ARTICLE_STATUS_ARCHIVED}
STATUSES_BACK = {v: k for k, v in STATUSES.items()}
AUDIENCES = {Audience.INTERNAL: pb.AUDIENCE_INTERNAL, Audience.PUBLIC: pb.AUDIENCE_PUBLIC}
AUDIENCES_BACK = {v: k for k, v in AUDIENCES.items()}
FEEDBACK_BACK = {pb.FEEDBACK_KIND_HELPFUL: FeedbackKind.HELPFUL, pb.FEEDBACK_KIND_NOT_HELPFUL: FeedbackKind.NOT_HELPFUL,
                 pb.FEEDBACK_KIND_USED_IN_REPLY: FeedbackKind.USED_IN_REPLY}

_SUBJECT_PREFIX = "articles/"


def subject(article_id: str) -> str:
    """The subject of an article's events."""
    return f"{_SUBJECT_PREFIX}{article_id}"


def article_id_of(event_subject: str) -> str:
    """The article an event is about; "" for a subject that names none."""
    return event_subject.removeprefix(_SUBJECT_PREFIX) if event_subject.startswith(_SUBJECT_PREFIX) else ""


def status_from(value: int) -> Status:
    if value not in STATUSES_BACK:
        raise InvalidArgument("status is required: ARTICLE_STATUS_DRAFT, _REVIEW, _PUBLISHED or _ARCHIVED")
    return STATUSES_BACK[pb.ArticleStatus.ValueType(value)]


def status_or_none(value: int) -> Status | None:
    """A status filter: None (any) when unspecified."""
    return None if value == pb.ARTICLE_STATUS_UNSPECIFIED else status_from(value)


def audience_from(value: int, *, default: Audience | None = None) -> Audience:
    if value in AUDIENCES_BACK:
        return AUDIENCES_BACK[pb.Audience.ValueType(value)]
    if default is not None and value == pb.AUDIENCE_UNSPECIFIED:
        return default
    raise InvalidArgument("audience must be AUDIENCE_INTERNAL or AUDIENCE_PUBLIC")


def feedback_from(value: int) -> FeedbackKind:
    if value not in FEEDBACK_BACK:
        raise InvalidArgument("kind is required: FEEDBACK_KIND_HELPFUL, _NOT_HELPFUL or _USED_IN_REPLY")
    return FEEDBACK_BACK[pb.FeedbackKind.ValueType(value)]


def content_from(article: pb.Article) -> Content:
    """New-article content; audience defaults to internal (nothing reaches customers by accident)."""
    return Content(title=article.title, body=article.body, tags=tuple(article.tags), category_id=article.category_id,
                   language=article.language, audience=audience_from(article.audience, default=Audience.INTERNAL))


def changes_from(article: pb.Article, paths: Collection[str]) -> Content:
    """An update's new values; an audience among `paths` must be named (unspecified is not internal here)."""
    if "audience" in paths and article.audience == pb.AUDIENCE_UNSPECIFIED:
        raise InvalidArgument("audience must be AUDIENCE_INTERNAL or AUDIENCE_PUBLIC")
    return content_from(article)


def filter_from(where: pb.SearchFilter) -> Filter:
    audience = None if where.audience == pb.AUDIENCE_UNSPECIFIED else audience_from(where.audience)
    return Filter(category_id=where.category_id, tags=tuple(where.tags), language=where.language, audience=audience)


def stats_to_proto(stats: Stats) -> pb.ArticleStats:
    return pb.ArticleStats(helpful=stats.helpful, not_helpful=stats.not_helpful, used_in_reply=stats.used_in_reply,
                           usage=stats.usage)


def article_to_proto(article: Article, shown: Version | None = None) -> pb.Article:
    """The article as of `shown` (default: its latest version)."""
    version = shown or article.latest
    c = version.content
    return pb.Article(
        id=article.id, category_id=c.category_id, title=c.title, body=c.body, tags=list(c.tags), language=c.language,
        audience=AUDIENCES[c.audience], status=STATUSES[article.status], version=version.number,
        published_version=article.served.number if article.served else 0, author_id=version.author_id,
        create_time=timestamp(article.create_time), update_time=timestamp(article.update_time),
        stats=stats_to_proto(article.stats), category_path=list(c.category_path))


def version_to_proto(version: Version) -> pb.ArticleVersion:
    c = version.content
    return pb.ArticleVersion(version=version.number, title=c.title, body=c.body, tags=list(c.tags),
                             author_id=version.author_id, create_time=timestamp(version.create_time),
                             change_note=version.change_note, category_id=c.category_id, language=c.language,
                             audience=AUDIENCES[c.audience])


def category_to_proto(category: Category) -> pb.Category:
    return pb.Category(id=category.id, parent_id=category.parent_id, name=category.name,
                       path=list(category.path_names))


def hit_to_proto(hit: Hit) -> pb.SearchHit:
    return pb.SearchHit(article=article_to_proto(hit.article, hit.article.served), score=round(hit.score, 4),
                        highlights=hit.highlights)
