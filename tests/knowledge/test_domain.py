"""Pure domain: tokenising, lifecycle and versions, ranking with filters and feedback."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from omni.knowledge.domain import articles, categories, text
from omni.knowledge.domain.live_index import LiveIndex
from omni.knowledge.domain.model import Article, Audience, Content, Stats, Status
from omni.knowledge.domain.search import Filter, SearchIndex, feedback_weight
from omni.knowledge.domain.usage import articles_used
from omni.runtime.errors import FailedPrecondition, InvalidArgument

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


def content(title: str, body: str = "", *, language: str = "en", audience: Audience = Audience.PUBLIC,
            tags: tuple[str, ...] = (), category: str = "") -> Content:
    return Content(title=title, body=body or title, tags=tags, category_id=category, language=language,
                   audience=audience, category_path=(category,) if category else ())


NO_STATS = Stats()
ANY = Filter()


def published(article_id: str, c: Content, stats: Stats = NO_STATS) -> Article:
    draft = articles.create(article_id, c, "S-1", NOW)
    review = articles.transition(draft, Status.REVIEW, NOW)
    return dataclasses.replace(articles.transition(review, Status.PUBLISHED, NOW), stats=stats)


def snapshot(*items: Article) -> SearchIndex:
    return SearchIndex.of(items)


def ids(snap: SearchIndex, query: str, where: Filter = ANY, **kwargs: object) -> list[str]:
    order, _ = snap.rank(text.query_terms(query), where, **kwargs)  # type: ignore[arg-type]
    return [snap.at(int(i)).id for i in order]


def test_chinese_is_segmented_and_english_stemmed() -> None:
    assert text.terms("怎么申请退款") == ["申请", "退款"]
    assert text.terms("Where is my parcel?") == ["parcel"]
    assert text.terms("Refunds, tracking, renewals") == ["refund", "track", "renew"]


def test_highlights_wrap_matches_of_either_language() -> None:
    assert text.highlight("Track your parcel here", {"parcel"}) == ["Track your <em>parcel</em> here"]
    assert text.highlight("可以申请退款", set(text.terms("退款"))) == ["可以申请<em>退款</em>"]
    assert text.highlight("<b>refund</b>", {"refund"}) == ["&lt;b&gt;<em>refund</em>&lt;/b&gt;"]


def test_lifecycle_follows_draft_review_published_archived() -> None:
    draft = articles.create("a1", content("Refunds"), "S-1", NOW)
    with pytest.raises(FailedPrecondition, match="is draft; it can move to: archived, review"):
        articles.transition(draft, Status.PUBLISHED, NOW)
    live = articles.transition(articles.transition(draft, Status.REVIEW, NOW), Status.PUBLISHED, NOW)
    assert live.served == live.latest
    with pytest.raises(FailedPrecondition, match="already published"):
        articles.transition(live, Status.PUBLISHED, NOW)
    archived = articles.transition(live, Status.ARCHIVED, NOW)
    assert archived.served is None
    with pytest.raises(FailedPrecondition, match="archived; move it back to draft"):
        articles.edit(archived, content("New"), "S-1", "", NOW)


def test_editing_a_published_article_serves_the_old_version_until_republished() -> None:
    live = published("a1", content("Refunds", "old text"))
    edited = articles.edit(live, content("Refunds", "new text"), "S-2", "clarify", NOW)
    assert edited.latest.number == 2 and edited.served is not None and edited.served.number == 1
    republished = articles.transition(edited, Status.PUBLISHED, NOW)
    assert republished.served is not None and republished.served.content.body == "new text"


def test_rollback_is_a_new_version_and_is_served_at_once_when_published() -> None:
    v1 = published("a1", content("Refunds", "old text"))
    v2 = articles.transition(articles.edit(v1, content("Refunds", "bad text"), "S-2", "", NOW), Status.PUBLISHED, NOW)
    rolled = articles.rollback(v2, v1.latest, "S-3", NOW)
    assert rolled.latest.number == 3 and rolled.latest.change_note == "rolled back to version 1"
    assert rolled.served is not None and rolled.served.content.body == "old text"
    with pytest.raises(FailedPrecondition, match="identical"):
        articles.rollback(rolled, v1.latest, "S-3", NOW)


def test_diff_shows_changed_lines() -> None:
    old = articles.create("a1", content("Refunds", "Takes 5 days."), "S-1", NOW).latest
    new = dataclasses.replace(old, number=2, content=content("Refunds", "Takes 3 days."))
    diff = articles.diff(old, new, "a1")
    assert "--- a1@v1" in diff and "-Takes 5 days." in diff and "+Takes 3 days." in diff


def test_content_is_checked_and_normalised() -> None:
    checked = articles.check_content(content("  Refund   policy ", tags=("Refund", "refund ", "")), max_body_chars=100)
    assert checked.title == "Refund policy" and checked.tags == ("refund",)
    assert articles.check_content(content("x", language="zh-cn"), max_body_chars=100).language == "zh-CN"
    with pytest.raises(InvalidArgument, match="not a BCP-47 tag"):
        articles.check_content(content("x", language="chinese!"), max_body_chars=100)
    with pytest.raises(InvalidArgument, match="the limit is 10"):
        articles.check_content(content("x", "y" * 11), max_body_chars=10)


def test_category_tree_depth_is_bounded() -> None:
    parent = None
    for depth in range(categories.MAX_DEPTH):
        parent = categories.new_category(f"c{depth}", f"level {depth}", parent)
    assert parent is not None and len(parent.path_ids) == categories.MAX_DEPTH
    with pytest.raises(FailedPrecondition, match="levels deep"):
        categories.new_category("too-deep", "too deep", parent)
    with pytest.raises(InvalidArgument, match="a-z, 0-9"):
        categories.check_id("Bad Id", "category_id")


def test_filters_by_language_audience_tags_and_category_subtree() -> None:
    snap = snapshot(
        published("en-pub", content("Refund policy", tags=("refund",), category="orders-refunds")),
        published("en-int", content("Refund approval limits", audience=Audience.INTERNAL, category="internal")),
        published("zh-pub", content("退款 refund 说明", language="zh-CN", category="orders-refunds")),
    )
    assert set(ids(snap, "refund")) == {"en-pub", "en-int", "zh-pub"}
    assert ids(snap, "refund", Filter(language="en-GB", audience=Audience.PUBLIC)) == ["en-pub"]
    assert ids(snap, "refund", Filter(language="zh")) == ["zh-pub"]
    assert ids(snap, "refund", Filter(tags=("REFUND",))) == ["en-pub"]
    assert set(ids(snap, "refund", Filter(category_id="orders-refunds"))) == {"en-pub", "zh-pub"}
    assert ids(snap, "refund", Filter(category_id="unknown")) == []


def test_feedback_and_context_steer_ranking() -> None:
    first = published("a", content("Password reset", "reset your password"))
    second = published("b", content("Password reset", "reset your password"))
    assert ids(snapshot(first, second), "reset password") == ["a", "b"]
    assert ids(snapshot(first, dataclasses.replace(second, stats=Stats(helpful=3))), "reset password") == ["b", "a"]
    assert ids(snapshot(dataclasses.replace(first, stats=Stats(not_helpful=2)), second), "reset password") == \
        ["b", "a"]
    tagged = published("c", content("Password reset", "reset your password", tags=("security",)))
    assert ids(snapshot(first, tagged), "reset password", boost_tags=["Security"])[0] == "c"
    assert feedback_weight(Stats()) == 1.0


async def test_live_index_serves_only_published_versions() -> None:
    index = LiveIndex()
    draft = articles.create("a", content("Membership renewal"), "S-1", NOW)
    index.apply(draft)
    await index.refresh()
    assert len(index.index) == 0
    live = articles.transition(articles.transition(draft, Status.REVIEW, NOW), Status.PUBLISHED, NOW)
    index.apply(live)
    await index.refresh()
    assert [a.id for a in index.index.articles] == ["a"]
    pending = articles.edit(live, content("Secret draft title"), "S-1", "", NOW)
    index.apply(pending)
    index.apply(live)  # a late, older read is ignored
    await index.refresh()
    assert ids(index.index, "secret draft") == [] and ids(index.index, "membership") == ["a"]
    index.apply(articles.transition(pending, Status.ARCHIVED, NOW))
    await index.refresh()
    assert len(index.index) == 0


def test_edits_change_one_article_in_place_and_rank_as_a_fresh_index_would() -> None:
    parcel = published("a", content("Parcel tracking", "track your parcel online"))
    refund = published("b", content("Refund policy", "refunds take five days; refund to the card"))
    other = published("c", content("Parcel delivery times", "a parcel arrives in two days"))
    index = SearchIndex.of([parcel, refund, other])
    query = text.query_terms("parcel refund")
    renewed = articles.transition(articles.edit(parcel, content("Membership renewal", "renew your membership"),
                                                "S-1", "", NOW), Status.PUBLISHED, NOW)
    assert index.hits(query, *index.rank(query, ANY))  # segments the first version for highlighting
    index.upsert(renewed)
    index.remove("b")
    index.upsert(published("d", content("Refund of a lost parcel", "refund the parcel")))  # reuses b's slot
    assert set(ids(index, "parcel")) == {"c", "d"} and ids(index, "membership") == ["a"]
    order, scores = index.rank(query, ANY)
    fresh = SearchIndex.of(index.articles)
    fresh_order, fresh_scores = fresh.rank(query, ANY)
    assert [index.at(int(i)).id for i in order] == [fresh.at(int(i)).id for i in fresh_order]
    assert scores.tolist() == pytest.approx(fresh_scores.tolist(), rel=1e-6)
    # Highlights come from the served version, not from an earlier one kept for highlighting.
    hit, = index.hits(text.query_terms("membership"), *index.rank(text.query_terms("membership"), ANY))
    assert hit.highlights == ["<em>Membership</em> renewal", "renew your <em>membership</em>"]


def test_highlights_of_a_markdown_body_point_into_its_plain_text_and_are_escaped() -> None:
    marked = published("m", content("Refunds", "**Refund**  rules:\n\n<b>refund</b> & [more](https://x.example/r)"))
    plain = published("p", content("Refunds", "a refund in plain words"))
    index = SearchIndex.of([marked, plain])
    query = text.query_terms("refund")
    by_id = {hit.article.id: hit.highlights for hit in index.hits(query, *index.rank(query, ANY))}
    assert by_id["m"] == ["<em>Refunds</em>", "<em>Refund</em> rules: &lt;b <em>refund</em>&lt;/b &amp; more"]
    assert by_id["p"] == ["<em>Refunds</em>", "a <em>refund</em> in plain words"]


def test_feedback_after_a_query_reranks_and_a_short_list_is_the_head_of_the_full_one() -> None:
    index = SearchIndex.of([published(f"a{i}", content(f"Parcel {i}", "parcel " * (1 + i % 3)))
                            for i in range(8)] + [published("int", content("Parcel", audience=Audience.INTERNAL))])
    public = Filter(audience=Audience.PUBLIC)
    query = text.query_terms("parcel")
    before = ids(index, "parcel", public)  # keeps the query's BM25 parts and the filter's weights
    assert "int" not in before and len(before) == 8
    index.set_stats(before[0], Stats(not_helpful=40))
    after = ids(index, "parcel", public)
    assert after[-1] == before[0] and "int" not in after
    fresh = SearchIndex.of(index.articles)
    assert after == [fresh.at(int(i)).id for i in fresh.rank(query, public)[0]]
    for limit in (1, 3, 8, 20):
        assert ids(index, "parcel", public, limit=limit) == after[:limit]


def test_usage_is_found_by_title_or_named_id() -> None:
    served = [published("a", content("Resetting your password")), published("b", content("FAQ"))]
    assert articles_used("See 'Resetting your password' in our help centre", {}, served) == ["a"]
    assert articles_used("see the FAQ", {}, served) == []
    assert articles_used("done", {"knowledge_article_ids": "b, x"}, served) == ["b"]
