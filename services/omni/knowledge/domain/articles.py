"""Article lifecycle (draft → review → published → archived), versions, rollback and diffs.

Every edit appends a version; publishing points the served version at the latest one, so a
draft edit of a published article is invisible to search until it is published in turn.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re

from omni.knowledge.domain.model import Article, Content, Status, Version
from omni.runtime.errors import FailedPrecondition, InvalidArgument

MAX_TITLE_CHARS = 200
MAX_TAGS = 20
MAX_TAG_CHARS = 40
MAX_NOTE_CHARS = 500
_LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")

# Where each status may go. PUBLISHED → PUBLISHED publishes the edits made since.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.REVIEW, Status.ARCHIVED}),
    Status.REVIEW: frozenset({Status.PUBLISHED, Status.DRAFT, Status.ARCHIVED}),
    Status.PUBLISHED: frozenset({Status.PUBLISHED, Status.ARCHIVED}),
    Status.ARCHIVED: frozenset({Status.DRAFT}),
}


def normalise_language(value: str) -> str:
    """BCP-47 with a lower-case language and upper-case region: 'zh-cn' → 'zh-CN'."""
    if not _LANGUAGE.match(value):
        raise InvalidArgument(f"language {value!r} is not a BCP-47 tag such as 'en' or 'zh-CN'")
    first, *rest = value.split("-")
    return "-".join([first.lower(), *(part.upper() if len(part) == 2 else part for part in rest)])


def primary_language(tag: str) -> str:
    return tag.split("-", 1)[0].lower()


def check_content(content: Content, *, max_body_chars: int) -> Content:
    """Validated and normalised (trimmed title, lower-case unique tags, BCP-47 language)."""
    title = " ".join(content.title.split())
    if not title:
        raise InvalidArgument("article.title is required")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidArgument(f"article.title is {len(title)} characters; the limit is {MAX_TITLE_CHARS}")
    if not content.body.strip():
        raise InvalidArgument("article.body is required (Markdown)")
    if len(content.body) > max_body_chars:
        raise InvalidArgument(f"article.body is {len(content.body)} characters; the limit is {max_body_chars}")
    tags = tuple(dict.fromkeys(t.strip().lower() for t in content.tags if t.strip()))
    if len(tags) > MAX_TAGS:
        raise InvalidArgument(f"article has {len(tags)} tags; the limit is {MAX_TAGS}")
    long_tags = [t for t in tags if len(t) > MAX_TAG_CHARS]
    if long_tags:
        raise InvalidArgument(f"tag {long_tags[0]!r} is longer than {MAX_TAG_CHARS} characters")
    if not content.language:
        raise InvalidArgument("article.language is required (e.g. 'en' or 'zh-CN')")
    return dataclasses.replace(content, title=title, body=content.body.strip(), tags=tags,
                               language=normalise_language(content.language))


def check_note(note: str) -> str:
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidArgument(f"change_note is {len(note)} characters; the limit is {MAX_NOTE_CHARS}")
    return note.strip()


def create(article_id: str, content: Content, author_id: str, now: dt.datetime) -> Article:
    first = Version(1, content, author_id, now, "created")
    return Article(id=article_id, status=Status.DRAFT, latest=first, published=None, create_time=now,
                   update_time=now)


def edit(article: Article, content: Content, author_id: str, note: str, now: dt.datetime) -> Article:
    if article.status is Status.ARCHIVED:
        raise FailedPrecondition(f"article {article.id} is archived; move it back to draft before editing")
    if content == article.latest.content:
        raise FailedPrecondition(f"the change to article {article.id} is identical to version "
                                 f"{article.latest.number}; nothing to save")
    version = Version(article.latest.number + 1, content, author_id, now, note)
    return dataclasses.replace(article, latest=version, update_time=now, revision=article.revision + 1)


def transition(article: Article, target: Status, now: dt.datetime) -> Article:
    if target not in TRANSITIONS[article.status]:
        allowed = ", ".join(sorted(TRANSITIONS[article.status])) or "none"
        raise FailedPrecondition(f"article {article.id} is {article.status}; it can move to: {allowed}")
    if target is Status.PUBLISHED and article.published == article.latest and article.status is Status.PUBLISHED:
        raise FailedPrecondition(f"version {article.latest.number} of article {article.id} is already published")
    published = article.latest if target is Status.PUBLISHED else article.published
    if target is Status.ARCHIVED:
        published = None
    return dataclasses.replace(article, status=target, published=published, update_time=now,
                               revision=article.revision + 1)


def rollback(article: Article, earlier: Version, author_id: str, now: dt.datetime) -> Article:
    """A new version with the content of `earlier`; served at once if the article is published."""
    if earlier.number >= article.latest.number:
        raise InvalidArgument(f"roll back to an earlier version than the latest ({article.latest.number}); "
                              f"got {earlier.number}")
    if earlier.content == article.latest.content:
        raise FailedPrecondition(f"version {earlier.number} is identical to the latest version; nothing to roll back")
    rolled = edit(article, earlier.content, author_id, f"rolled back to version {earlier.number}", now)
    if rolled.status is Status.PUBLISHED:
        rolled = dataclasses.replace(rolled, published=rolled.latest)
    return rolled


def _as_lines(version: Version) -> list[str]:
    c = version.content
    head = [f"# {c.title}", f"tags: {', '.join(c.tags)}", f"category: {c.category_id}", f"language: {c.language}",
            f"audience: {c.audience}", ""]
    return [*head, *c.body.splitlines()]


def diff(old: Version, new: Version, article_id: str) -> str:
    return "\n".join(difflib.unified_diff(
        _as_lines(old), _as_lines(new), fromfile=f"{article_id}@v{old.number}", tofile=f"{article_id}@v{new.number}",
        lineterm=""))
