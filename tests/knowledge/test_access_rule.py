"""The access rule on its own (domain.access): who reads which article and version, what they
may search and list, and whose feedback counts; and that the repository's query form of it
admits exactly the articles the in-memory check does."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from omni.knowledge import repository
from omni.knowledge.domain import access, articles
from omni.knowledge.domain.model import Article, Audience, Content, Status
from omni.knowledge.domain.search import Filter
from omni.runtime.auth import Principal, Role
from omni.runtime.errors import NotFound, PermissionDenied

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
EDITOR = Principal("S-1", Role.SUPERVISOR)
BOT = Principal("bot-0", Role.SERVICE)
AGENT = Principal("A-1", Role.AGENT)
CUSTOMER = Principal("web-1", Role.CUSTOMER, session_id="S-web-1")


def article(article_id: str, audience: Audience, status: Status) -> Article:
    made = articles.create(article_id, Content(title=article_id, body="text", tags=(), category_id="",
                                               language="en", audience=audience), "S-1", NOW)
    for step in {Status.DRAFT: [], Status.REVIEW: [Status.REVIEW],
                 Status.PUBLISHED: [Status.REVIEW, Status.PUBLISHED],
                 Status.ARCHIVED: [Status.REVIEW, Status.PUBLISHED, Status.ARCHIVED]}[status]:
        made = articles.transition(made, step, NOW)
    return made


ALL = [article(f"{audience}-{status}", audience, status) for audience in Audience for status in Status]


def edited(live: Article) -> Article:
    """A published article with a draft edit on top: version 2 written, version 1 served."""
    changed = dataclasses.replace(live.latest.content, body="draft edit")
    return articles.edit(live, changed, "S-1", "", NOW)


@pytest.mark.parametrize(("reader", "readable"), [
    (EDITOR, [a.id for a in ALL]), (BOT, [a.id for a in ALL]),
    (AGENT, ["internal-published", "public-published"]), (CUSTOMER, ["public-published"])],
    ids=["supervisor", "service", "agent", "customer"])
def test_editors_read_everything_agents_published_articles_customers_published_public_ones(
        reader: Principal, readable: list[str]) -> None:
    assert [a.id for a in ALL if access.shown(reader, a) is not None] == readable


def _stored(found: Article) -> dict[str, Any]:
    """The fields of an article's stored document that the readable query looks at."""
    published = found.published
    return {"status": str(found.status),
            "published": {"audience": str(published.content.audience)} if published else None}


def _matches(doc: dict[str, Any], query: dict[str, Any]) -> bool:
    def field(path: str) -> Any:
        value: Any = doc
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value
    return all(field(path) == wanted for path, wanted in query.items())


@pytest.mark.parametrize("reader", [EDITOR, BOT, AGENT, CUSTOMER], ids=lambda p: p.role)
def test_the_list_query_admits_exactly_what_the_reader_may_read(reader: Principal) -> None:
    query = repository.readable_query(access.readable(reader))
    assert [a.id for a in ALL if _matches(_stored(a), query)] == \
        [a.id for a in ALL if access.shown(reader, a) is not None]


def test_readers_of_served_versions_get_that_version_and_no_other() -> None:
    live = edited(article("returns", Audience.PUBLIC, Status.PUBLISHED))
    assert access.shown(EDITOR, live) == live.latest
    assert access.check_read(EDITOR, live, 0) == live.latest
    assert access.check_read(EDITOR, live, 1) is None  # any version: the use case loads it
    assert access.shown(AGENT, live) == access.check_read(AGENT, live, 0) == access.check_read(AGENT, live, 1) \
        == live.published
    with pytest.raises(PermissionDenied, match=r"agents may read the published version \(1\)"):
        access.check_read(AGENT, live, 2)
    with pytest.raises(NotFound, match="article draft is not published"):
        access.check_read(AGENT, article("draft", Audience.PUBLIC, Status.DRAFT), 0)


def test_agents_list_published_articles_only() -> None:
    assert access.check_listing(EDITOR, Status.DRAFT) is None
    assert access.check_listing(AGENT, Status.PUBLISHED) == access.check_listing(AGENT, None) == access.Readable()
    with pytest.raises(PermissionDenied, match="agents may list published articles only"):
        access.check_listing(AGENT, Status.DRAFT)


def test_customers_search_public_articles_only() -> None:
    assert access.search_filter(CUSTOMER, Filter(language="en")) == Filter(language="en", audience=Audience.PUBLIC)
    with pytest.raises(PermissionDenied, match="customers may search public articles only"):
        access.search_filter(CUSTOMER, Filter(audience=Audience.INTERNAL))
    internal = Filter(audience=Audience.INTERNAL)
    assert access.search_filter(AGENT, internal) == access.search_filter(BOT, internal) == internal


def test_feedback_counts_for_the_caller_and_a_customer_rates_only_what_they_read_in_their_own_session() -> None:
    public = article("public", Audience.PUBLIC, Status.PUBLISHED)
    internal = article("internal", Audience.INTERNAL, Status.PUBLISHED)
    assert access.rater(CUSTOMER, "public", public, agent_id="A-9", session_id="S-other") == \
        access.Rater("web-1", "S-web-1")
    for served in (internal, None):
        with pytest.raises(NotFound, match="is not a published public article"):
            access.rater(CUSTOMER, "x", served, agent_id="", session_id="")
    assert access.rater(AGENT, "x", None, agent_id="A-9", session_id="S-1") == access.Rater("A-1", "S-1")
    assert access.rater(BOT, "x", None, agent_id="A-9", session_id="S-1") == access.Rater("A-9", "S-1")
    assert access.rater(BOT, "x", None, agent_id="", session_id="S-1") == access.Rater("bot-0", "S-1")
