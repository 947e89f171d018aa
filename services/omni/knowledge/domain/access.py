"""Who reads which articles, and whose feedback counts: the knowledge base's one access rule.

Supervisors, admins and services read everything: every status, every version. Agents read the
served version of published articles; customers and self-service bots only of published public ones. `readable` says
so once; the in-memory checks below derive from it, and the repository translates the same
description into its list query, so the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses

from omni.knowledge.domain.model import Article, Audience, Status, Version
from omni.knowledge.domain.search import Filter
from omni.runtime.auth import MANAGERS, Principal, Role
from omni.runtime.errors import NotFound, PermissionDenied


@dataclasses.dataclass(frozen=True)
class Readable:
    """The served version of published articles, and of those only the ones for `audience` when
    it is set. Where a `Readable | None` is expected, None means everything: drafts and history."""

    audience: Audience | None = None


def readable(reader: Principal) -> Readable | None:
    if reader.role in MANAGERS:
        return None
    if reader.role in (Role.CUSTOMER, Role.BOT):
        return Readable(Audience.PUBLIC)
    return Readable()


def _served_to(scope: Readable, article: Article) -> Version | None:
    served = article.served
    if served is None or scope.audience not in (None, served.content.audience):
        return None
    return served


def _unreadable(article_id: str, scope: Readable) -> NotFound:
    # Not found rather than denied: whether a draft or an internal article exists is not theirs to know.
    if scope.audience is None:
        return NotFound(f"article {article_id} is not published")
    return NotFound(f"article {article_id} is not a published {scope.audience} article")


def shown(reader: Principal, article: Article) -> Version | None:
    """The version of `article` the reader sees (the latest for editors), None if they may not read it."""
    scope = readable(reader)
    if scope is None:
        return article.latest
    return _served_to(scope, article)


def check_read(reader: Principal, article: Article, number: int) -> Version | None:
    """The version `number` (0: the current one) of `article` the reader may read. None when an
    editor asks for a numbered version: any is theirs to read, and the caller loads it."""
    scope = readable(reader)
    if scope is None:
        return article.latest if number == 0 else None
    served = _served_to(scope, article)
    if served is None:
        raise _unreadable(article.id, scope)
    if number not in (0, served.number):
        # Drafts and history are the editors' business.
        raise PermissionDenied(f"{reader.role}s may read the published version ({served.number}) of article "
                               f"{article.id} only")
    return served


def check_listing(reader: Principal, status: Status | None) -> Readable | None:
    """What a list of articles (with the status the reader asked for, None: any) may hold."""
    scope = readable(reader)
    if scope is not None and status not in (None, Status.PUBLISHED):
        raise PermissionDenied(f"{reader.role}s may list published articles only")
    return scope


def search_filter(reader: Principal, where: Filter) -> Filter:
    """`where` narrowed to what the reader may find. Search and suggestions only ever see served
    versions of published articles (nothing else is indexed), so the audience is what remains."""
    scope = readable(reader)
    if scope is None or scope.audience is None:
        return where
    if where.audience not in (None, scope.audience):
        raise PermissionDenied(f"{reader.role}s may search {scope.audience} articles only; leave audience unset or "
                               f"AUDIENCE_{scope.audience.upper()}")
    return dataclasses.replace(where, audience=scope.audience)


@dataclasses.dataclass(frozen=True)
class Rater:
    """Whom a piece of feedback counts for: once per article, kind, rater and session."""

    id: str
    session_id: str


def rater(reader: Principal, article_id: str, served: Article | None, *, agent_id: str, session_id: str) -> Rater:
    """Who rates `article_id` (`served`: the article as search serves it, None if it does not).

    Staff rate any article they name (recording it checks it exists), and a service may rate for
    the agent it acts for. A customer rates only what they may read, in their token's session:
    naming new sessions would count them again.
    """
    if reader.role is Role.CUSTOMER:
        scope = readable(reader)
        if scope is not None and (served is None or _served_to(scope, served) is None):
            raise _unreadable(article_id, scope)
        return Rater(reader.subject, reader.session_id)
    return Rater(agent_id if reader.role is Role.SERVICE and agent_id else reader.subject, session_id)
