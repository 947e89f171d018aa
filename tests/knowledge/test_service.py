"""KnowledgeService over gRPC against real NATS and the MongoDB-protocol server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import grpc
import pytest

from omni.devstack.demo import knowledge as demo
from omni.knowledge.service import SPEC
from omni.knowledge.settings import KnowledgeSettings
from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from omni.runtime.events import EventBus, subject_for
from omni.runtime.server import ServiceHost
from omnichannel.common.v1 import common_pb2
from omnichannel.common.v1.event_pb2 import EventEnvelope
from omnichannel.knowledge.v1 import knowledge_pb2 as pb
from omnichannel.knowledge.v1 import knowledge_pb2_grpc
from omnichannel.sessions.v1 import events_pb2 as session_events
from tests.conftest import StartService
from tests.support.polling import eventually
from tests.support.settings import settings_for

Metadata = tuple[tuple[str, str], ...]
TokenFor = Callable[..., Metadata]


@pytest.fixture
async def channels() -> AsyncIterator[Callable[[ServiceHost], knowledge_pb2_grpc.KnowledgeServiceAsyncStub]]:
    opened: list[grpc.aio.Channel] = []

    def stub(host: ServiceHost) -> knowledge_pb2_grpc.KnowledgeServiceAsyncStub:
        chan = grpc.aio.insecure_channel(host.address)
        opened.append(chan)
        return knowledge_pb2_grpc.KnowledgeServiceStub(chan)

    yield stub
    for chan in opened:
        await chan.close()


async def seed(host: ServiceHost, authority_token: str) -> None:
    await demo.seed(host.address, authority_token)


def token(token_for: TokenFor, role: Role, subject: str = "S-1", **kwargs: object) -> str:
    return token_for(role, subject, **kwargs)[0][1].removeprefix("Bearer ")


def top_ids(response: pb.SuggestResponse | pb.SearchArticlesResponse) -> list[str]:
    return [h.article.id for h in response.hits]


async def test_chinese_and_english_questions_find_the_right_article_within_filters(
        start_service: StartService, channels: Callable[..., knowledge_pb2_grpc.KnowledgeServiceAsyncStub],
        token_for: TokenFor) -> None:
    host = await start_service(SPEC)
    await seed(host, token(token_for, Role.SERVICE, "devstack"))
    kb = channels(host)
    agent = token_for(Role.AGENT, "A-1")

    found = await kb.Suggest(pb.SuggestRequest(text="怎么申请退款"), metadata=agent)
    assert top_ids(found)[0] == "zh-refund-request"
    assert any("<em>退款</em>" in h for h in found.hits[0].highlights)
    found = await kb.Suggest(pb.SuggestRequest(text="hi, where is my parcel?"), metadata=agent)
    assert top_ids(found)[0] == "en-order-tracking"

    english = await kb.SearchArticles(pb.SearchArticlesRequest(
        query="refund 退款", filter=pb.SearchFilter(language="en")), metadata=agent)
    assert english.total_size > 0 and all(h.article.language == "en" for h in english.hits)
    public = await kb.SearchArticles(pb.SearchArticlesRequest(
        query="退款 审批", filter=pb.SearchFilter(audience=pb.AUDIENCE_PUBLIC)), metadata=agent)
    assert "zh-agent-refund-approval" not in top_ids(public)
    internal = await kb.SearchArticles(pb.SearchArticlesRequest(query="退款 审批"), metadata=agent)
    assert top_ids(internal)[0] == "zh-agent-refund-approval"

    # Customers only ever see public articles, whatever they ask for.
    customer = token_for(Role.CUSTOMER, "C-1", session_id="sess-1")
    theirs = await kb.SearchArticles(pb.SearchArticlesRequest(query="退款 审批 refund approval"), metadata=customer)
    assert theirs.hits and all(h.article.audience == pb.AUDIENCE_PUBLIC for h in theirs.hits)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await kb.Suggest(pb.SuggestRequest(text="refund", filter=pb.SearchFilter(audience=pb.AUDIENCE_INTERNAL)),
                         metadata=customer)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # Pagination walks every hit once.
    seen: list[str] = []
    page_token = ""
    tokens: list[str] = []
    while True:
        page = await kb.SearchArticles(pb.SearchArticlesRequest(query="refund 退款 order", page_size=2,
                                                                page_token=page_token), metadata=agent)
        seen += top_ids(page)
        page_token = page.next_page_token
        tokens.append(page_token)
        if not page_token:
            break
    assert len(seen) == len(set(seen)) == page.total_size > 2
    with pytest.raises(grpc.aio.AioRpcError) as wrong:
        await kb.SearchArticles(pb.SearchArticlesRequest(query="other", page_token=tokens[0]),
                                metadata=agent)
    assert wrong.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    # Seeding again creates nothing new.
    await seed(host, token(token_for, Role.SERVICE, "devstack"))
    listed = await kb.ListArticles(pb.ListArticlesRequest(page_size=100), metadata=token_for(Role.SUPERVISOR))
    assert len(listed.articles) == len(demo.demo_content()["articles"]) >= 30


async def create_published(kb: knowledge_pb2_grpc.KnowledgeServiceAsyncStub, editor: Metadata, article_id: str,
                           title: str, body: str) -> pb.Article:
    await kb.CreateArticle(pb.CreateArticleRequest(article_id=article_id, article=pb.Article(
        title=title, body=body, language="en", audience=pb.AUDIENCE_PUBLIC)), metadata=editor)
    for status in (pb.ARTICLE_STATUS_REVIEW, pb.ARTICLE_STATUS_PUBLISHED):
        article = await kb.TransitionArticle(pb.TransitionArticleRequest(id=article_id, status=status),
                                             metadata=editor)
    return article


async def served_body(kb: knowledge_pb2_grpc.KnowledgeServiceAsyncStub, query: str, reader: Metadata) -> list[str]:
    found = await kb.Suggest(pb.SuggestRequest(text=query), metadata=reader)
    return [h.article.body for h in found.hits]


async def test_publish_edit_rollback_change_the_served_version_and_drafts_never_leak(
        start_service: StartService, channels: Callable[..., knowledge_pb2_grpc.KnowledgeServiceAsyncStub],
        token_for: TokenFor) -> None:
    kb = channels(await start_service(SPEC))
    editor, agent = token_for(Role.SUPERVISOR, "S-1"), token_for(Role.AGENT, "A-1")
    await kb.CreateArticle(pb.CreateArticleRequest(article_id="warranty", article=pb.Article(
        title="Warranty claims", body="Warranty lasts one year.", language="en")), metadata=editor)
    assert await served_body(kb, "warranty", agent) == []  # a draft
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await kb.GetArticle(pb.GetArticleRequest(id="warranty"), metadata=agent)
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND

    for status in (pb.ARTICLE_STATUS_REVIEW, pb.ARTICLE_STATUS_PUBLISHED):
        await kb.TransitionArticle(pb.TransitionArticleRequest(id="warranty", status=status), metadata=editor)
    assert await served_body(kb, "warranty", agent) == ["Warranty lasts one year."]

    edit = pb.UpdateArticleRequest(article=pb.Article(id="warranty", body="Warranty lasts two years, draft."),
                                   change_note="new law")
    edit.update_mask.paths.append("body")
    edited = await kb.UpdateArticle(edit, metadata=editor)
    assert (edited.version, edited.published_version) == (2, 1)
    assert await served_body(kb, "warranty", agent) == ["Warranty lasts one year."]  # the edit is a draft
    assert (await kb.GetArticle(pb.GetArticleRequest(id="warranty"), metadata=agent)).version == 1

    await kb.TransitionArticle(pb.TransitionArticleRequest(id="warranty", status=pb.ARTICLE_STATUS_PUBLISHED),
                               metadata=editor)
    assert await served_body(kb, "warranty", agent) == ["Warranty lasts two years, draft."]

    rolled = await kb.RollbackArticle(pb.RollbackArticleRequest(id="warranty", version=1), metadata=editor)
    assert (rolled.version, rolled.published_version) == (3, 3)
    assert await served_body(kb, "warranty", agent) == ["Warranty lasts one year."]

    versions = await kb.ListArticleVersions(pb.ListArticleVersionsRequest(id="warranty"), metadata=editor)
    assert [(v.version, v.author_id, v.change_note) for v in versions.versions] == [
        (1, "S-1", "created"), (2, "S-1", "new law"), (3, "S-1", "rolled back to version 1")]
    diff = await kb.DiffArticleVersions(pb.DiffArticleVersionsRequest(id="warranty", from_version=1, to_version=2),
                                        metadata=editor)
    assert "-Warranty lasts one year." in diff.unified_diff and "+Warranty lasts two years, draft." in diff.unified_diff

    await kb.TransitionArticle(pb.TransitionArticleRequest(id="warranty", status=pb.ARTICLE_STATUS_ARCHIVED),
                               metadata=editor)
    assert await served_body(kb, "warranty", agent) == []


async def test_two_replicas_on_one_database_agree_after_an_edit(
        start_service: StartService, channels: Callable[..., knowledge_pb2_grpc.KnowledgeServiceAsyncStub],
        token_for: TokenFor) -> None:
    first = await start_service(SPEC)
    a = channels(first)
    editor, agent = token_for(Role.ADMIN, "AD-1"), token_for(Role.AGENT, "A-1")
    await create_published(a, editor, "hours", "Opening hours", "We are open 9 to 21.")
    # The second replica builds its index from the database at start-up.
    b = channels(await start_service(SPEC))
    assert await served_body(b, "opening hours", agent) == ["We are open 9 to 21."]

    edit = pb.UpdateArticleRequest(article=pb.Article(id="hours", body="We are open 8 to 22."))
    edit.update_mask.paths.append("body")
    await a.UpdateArticle(edit, metadata=editor)
    await a.TransitionArticle(pb.TransitionArticleRequest(id="hours", status=pb.ARTICLE_STATUS_PUBLISHED),
                              metadata=editor)
    await create_published(a, editor, "holidays", "Holiday opening hours", "Holidays: 10 to 18.")

    async def served_by_both(query: str) -> tuple[list[str], list[str]]:
        """What each replica serves for `query` (the second catches up through an event)."""
        return await served_body(a, query, agent), await served_body(b, query, agent)

    await eventually(lambda: served_by_both("opening hours"),
                     lambda both: both[0] == both[1] == ["We are open 8 to 22.", "Holidays: 10 to 18."],
                     what="both replicas serving the edited hours and the new holidays article")
    await a.TransitionArticle(pb.TransitionArticleRequest(id="holidays", status=pb.ARTICLE_STATUS_ARCHIVED),
                              metadata=editor)
    await eventually(lambda: served_by_both("holiday"), lambda both: both == ([], []),
                     what="neither replica serving the archived holidays article")

    # Feedback recorded on one replica reaches the other's ranking.
    counted = await a.RecordFeedback(pb.RecordFeedbackRequest(article_id="hours", kind=pb.FEEDBACK_KIND_HELPFUL,
                                                              session_id="s-1"), metadata=agent)
    again = await b.RecordFeedback(pb.RecordFeedbackRequest(article_id="hours", kind=pb.FEEDBACK_KIND_HELPFUL,
                                                            session_id="s-1"), metadata=agent)
    assert (counted.counted, again.counted, again.stats.helpful) == (True, False, 1)

    await eventually(lambda: b.Suggest(pb.SuggestRequest(text="opening hours"), metadata=agent),
                     lambda found: found.hits and found.hits[0].article.stats.helpful == 1,
                     what="the second replica ranking 'hours' with the feedback given on the first")


async def test_callers_and_bad_input_get_actionable_errors(
        start_service: StartService, channels: Callable[..., knowledge_pb2_grpc.KnowledgeServiceAsyncStub],
        token_for: TokenFor) -> None:
    kb = channels(await start_service(SPEC))
    editor, agent = token_for(Role.SUPERVISOR), token_for(Role.AGENT, "A-1")
    customer = token_for(Role.CUSTOMER, "C-1", session_id="s")

    async def code(call: object) -> tuple[grpc.StatusCode, str]:
        try:
            await call  # type: ignore[misc]
        except grpc.aio.AioRpcError as exc:
            return exc.code(), exc.details() or ""
        raise AssertionError("the call succeeded")

    new = pb.CreateArticleRequest(article=pb.Article(title="T", body="B", language="en"))
    assert (await code(kb.CreateArticle(new, metadata=agent)))[0] == grpc.StatusCode.PERMISSION_DENIED
    assert (await code(kb.GetArticle(pb.GetArticleRequest(id="x"), metadata=customer)))[0] == \
        grpc.StatusCode.PERMISSION_DENIED
    assert (await code(kb.Suggest(pb.SuggestRequest(text="x"))))[0] == grpc.StatusCode.UNAUTHENTICATED
    assert await code(kb.CreateArticle(pb.CreateArticleRequest(article=pb.Article(body="B", language="en")),
                                       metadata=editor)) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                             "article.title is required")
    status, message = await code(kb.CreateArticle(pb.CreateArticleRequest(article=pb.Article(
        title="T", body="B", language="en", category_id="nope")), metadata=editor))
    assert status == grpc.StatusCode.INVALID_ARGUMENT and "category nope does not exist" in message

    first = await kb.CreateArticle(pb.CreateArticleRequest(article=new.article, request_id="r-1"), metadata=editor)
    retry = await kb.CreateArticle(pb.CreateArticleRequest(article=new.article, request_id="r-1"), metadata=editor)
    assert first.id == retry.id
    status, message = await code(kb.TransitionArticle(pb.TransitionArticleRequest(
        id=first.id, status=pb.ARTICLE_STATUS_PUBLISHED), metadata=editor))
    assert status == grpc.StatusCode.FAILED_PRECONDITION and "can move to: archived, review" in message
    bad_mask = pb.UpdateArticleRequest(article=pb.Article(id=first.id, status=pb.ARTICLE_STATUS_PUBLISHED))
    bad_mask.update_mask.paths.append("status")
    status, message = await code(kb.UpdateArticle(bad_mask, metadata=editor))
    assert status == grpc.StatusCode.INVALID_ARGUMENT and "cannot update article field(s) status" in message
    assert (await code(kb.SearchArticles(pb.SearchArticlesRequest(query="x", page_size=-1), metadata=agent)))[0] == \
        grpc.StatusCode.INVALID_ARGUMENT
    assert (await code(kb.SearchArticles(pb.SearchArticlesRequest(query=" "), metadata=agent)))[0] == \
        grpc.StatusCode.INVALID_ARGUMENT
    assert (await code(kb.RollbackArticle(pb.RollbackArticleRequest(id=first.id, version=7), metadata=editor)))[0] \
        == grpc.StatusCode.NOT_FOUND
    assert (await code(kb.RecordFeedback(pb.RecordFeedbackRequest(article_id=first.id), metadata=agent)))[0] == \
        grpc.StatusCode.INVALID_ARGUMENT
    # A customer cannot rate (or learn about) an unpublished article.
    assert (await code(kb.RecordFeedback(pb.RecordFeedbackRequest(
        article_id=first.id, kind=pb.FEEDBACK_KIND_HELPFUL), metadata=customer)))[0] == grpc.StatusCode.NOT_FOUND

    await kb.CreateCategory(pb.CreateCategoryRequest(category_id="orders", category=pb.Category(name="Orders")),
                            metadata=editor)
    await kb.CreateCategory(pb.CreateCategoryRequest(category_id="refunds", category=pb.Category(
        name="Refunds", parent_id="orders")), metadata=editor)
    twin = pb.CreateCategoryRequest(category_id="refunds-2", category=pb.Category(name="Refunds", parent_id="orders"))
    status, message = await code(kb.CreateCategory(twin, metadata=editor))
    assert status == grpc.StatusCode.ALREADY_EXISTS and "named 'Refunds' already exists" in message
    tree = await kb.ListCategories(pb.ListCategoriesRequest(recursive=True), metadata=agent)
    assert [list(c.path) for c in tree.categories] == [["Orders"], ["Orders", "Refunds"]]


async def test_agent_replies_quoting_an_article_count_as_usage_when_configured(
        start_service: StartService, settings: ServiceSettings,
        channels: Callable[..., knowledge_pb2_grpc.KnowledgeServiceAsyncStub], token_for: TokenFor) -> None:
    host = await start_service(SPEC, settings_override=settings_for(settings, KnowledgeSettings,
                                                                     knowledge_count_usage=True))
    kb = channels(host)
    editor = token_for(Role.SUPERVISOR)
    await create_published(kb, editor, "reset", "Resetting your password", "Use Forgot password.")
    await create_published(kb, editor, "hours", "Opening hours", "We are open 9 to 21.")
    bus = await EventBus.connect(settings.nats_url, "sessions")

    async def interaction(message: common_pb2.Interaction) -> EventEnvelope:
        return await bus.publish("sessions", "interaction_received", f"sessions/{message.session_id}",
                                 session_events.InteractionReceived(interaction=message), event_id=message.id)

    try:
        reply = await interaction(common_pb2.Interaction(
            id="i-1", direction=common_pb2.DIRECTION_OUTBOUND, session_id="s-1",
            text="Please follow 'Resetting your password' on our site."))
        # The broker delivering it again (its ack was lost): the same event under another publish id.
        await bus.js.publish(subject_for("sessions", "interaction_received"), reply.SerializeToString(),
                             headers={"Nats-Msg-Id": f"{reply.id}:redelivered"})
        # The customer quoting the title is no use of the article.
        await interaction(common_pb2.Interaction(id="i-2", direction=common_pb2.DIRECTION_INBOUND, session_id="s-1",
                                                 text="Resetting your password does not work"))
        # Last, another agent's reply, using the other article.
        await interaction(common_pb2.Interaction(id="i-3", direction=common_pb2.DIRECTION_OUTBOUND, session_id="s-2",
                                                 text="Our opening hours are on the website."))
    finally:
        await bus.close()

    async def usage(article_id: str) -> int:
        return (await kb.GetArticle(pb.GetArticleRequest(id=article_id), metadata=editor)).stats.usage

    # Knowledge's one consumer of interactions takes them in publish order: once the last reply
    # is counted, the redelivery and the customer's message before it were handled.
    await eventually(lambda: usage("hours"), lambda used: used == 1, what="the last reply counted for 'hours'")
    assert await usage("reset") == 1
