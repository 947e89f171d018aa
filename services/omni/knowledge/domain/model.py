"""The knowledge base's vocabulary: articles, their versions, categories and ranking signals."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum


class Status(enum.StrEnum):
    DRAFT = "draft"
    REVIEW = "review"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Audience(enum.StrEnum):
    INTERNAL = "internal"
    PUBLIC = "public"


class FeedbackKind(enum.StrEnum):
    HELPFUL = "helpful"
    NOT_HELPFUL = "not_helpful"
    USED_IN_REPLY = "used_in_reply"


@dataclasses.dataclass(frozen=True)
class Content:
    """What one version of an article says and to whom; every edit snapshots all of it."""

    title: str
    body: str
    tags: tuple[str, ...]
    category_id: str
    language: str
    audience: Audience
    # The category and its ancestors, root first (fixed: categories never move).
    category_path: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Version:
    number: int
    content: Content
    author_id: str
    create_time: dt.datetime
    change_note: str = ""


@dataclasses.dataclass(frozen=True)
class Stats:
    helpful: int = 0
    not_helpful: int = 0
    used_in_reply: int = 0
    usage: int = 0


@dataclasses.dataclass(frozen=True)
class Article:
    id: str
    status: Status
    latest: Version
    # The version served to search, suggestions and the bot; None while nothing is published.
    published: Version | None
    create_time: dt.datetime
    update_time: dt.datetime
    # Bumped by every change; optimistic concurrency and event ids use it.
    revision: int = 1
    stats: Stats = Stats()

    @property
    def served(self) -> Version | None:
        return self.published if self.status is Status.PUBLISHED else None


@dataclasses.dataclass(frozen=True)
class Category:
    id: str
    parent_id: str
    name: str
    # Ids and names from the root down to this category.
    path_ids: tuple[str, ...]
    path_names: tuple[str, ...]
