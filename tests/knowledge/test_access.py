"""Who may do what on KnowledgeService: a token on every call, editors write, agents read what is
served, customers only published public articles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import grpc
import pytest

from omni.knowledge.service import ACCESS, SPEC
from omni.runtime.auth import Role
from omni.runtime.server import ServiceHost
from omnichannel.knowledge.v1 import knowledge_pb2 as pb
from omnichannel.knowledge.v1 import knowledge_pb2_grpc
from tests.conftest import StartService
from tests.knowledge.test_service import TokenFor, create_published
from tests.rpc_access import assert_every_rpc_needs_a_token, assert_table_matches_protos

Stub = knowledge_pb2_grpc.KnowledgeServiceStub


@pytest.fixture
async def channels() -> AsyncIterator[Callable[[ServiceHost], Stub]]:
    opened: list[grpc.aio.Channel] = []

    def stub(host: ServiceHost) -> Stub:
        opened.append(grpc.aio.insecure_channel(host.address))
        return knowledge_pb2_grpc.KnowledgeServiceStub(opened[-1])

    yield stub
    for chan in opened:
        await chan.close()


async def denied(call: object) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call  # type: ignore[misc]
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED, failure.value.details()


async def test_every_rpc_has_a_rule_and_needs_a_token(start_service: StartService) -> None:
    assert_table_matches_protos(ACCESS, pb.DESCRIPTOR)
    await assert_every_rpc_needs_a_token((await start_service(SPEC)).address, pb.DESCRIPTOR)


async def test_customers_find_only_published_public_articles_and_agents_do_not_edit(
        start_service: StartService, channels: Callable[..., Stub], token_for: TokenFor) -> None:
    kb = channels(await start_service(SPEC))
    editor, agent = token_for(Role.SUPERVISOR, "S-1"), token_for(Role.AGENT, "A-1", groups=("billing",))
    customer = token_for(Role.CUSTOMER, "web-1", session_id="S-web-1")
    await create_published(kb, editor, "refund-public", "Refund policy", "Refunds within 7 days.")
    await kb.CreateArticle(pb.CreateArticleRequest(article_id="refund-internal", article=pb.Article(
        title="Refund override", body="Refund override code.", language="en", audience=pb.AUDIENCE_INTERNAL)),
        metadata=editor)
    for status in (pb.ARTICLE_STATUS_REVIEW, pb.ARTICLE_STATUS_PUBLISHED):
        await kb.TransitionArticle(pb.TransitionArticleRequest(id="refund-internal", status=status), metadata=editor)
    await kb.CreateArticle(pb.CreateArticleRequest(article_id="refund-draft", article=pb.Article(
        title="Refund draft", body="Refund draft text.", language="en", audience=pb.AUDIENCE_PUBLIC)),
        metadata=editor)

    searched = await kb.SearchArticles(pb.SearchArticlesRequest(query="refund"), metadata=customer)
    assert [h.article.id for h in searched.hits] == ["refund-public"]
    suggested = await kb.Suggest(pb.SuggestRequest(text="refund"), metadata=customer)
    assert [h.article.id for h in suggested.hits] == ["refund-public"]
    await denied(kb.SearchArticles(pb.SearchArticlesRequest(query="refund", filter=pb.SearchFilter(
        audience=pb.AUDIENCE_INTERNAL)), metadata=customer))
    await denied(kb.GetArticle(pb.GetArticleRequest(id="refund-public"), metadata=customer))
    await denied(kb.ListArticles(pb.ListArticlesRequest(), metadata=customer))

    staff_view = await kb.SearchArticles(pb.SearchArticlesRequest(query="refund"), metadata=agent)
    assert sorted(h.article.id for h in staff_view.hits) == ["refund-internal", "refund-public"]
    await denied(kb.CreateArticle(pb.CreateArticleRequest(article=pb.Article(title="T", body="B", language="en")),
                                  metadata=agent))
    await denied(kb.TransitionArticle(pb.TransitionArticleRequest(id="refund-draft",
                                                                  status=pb.ARTICLE_STATUS_REVIEW), metadata=agent))
    await denied(kb.ListArticleVersions(pb.ListArticleVersionsRequest(id="refund-public"), metadata=agent))


async def test_a_signed_in_customer_rates_an_article_once_whatever_session_they_name(
        start_service: StartService, channels: Callable[..., Stub], token_for: TokenFor) -> None:
    kb = channels(await start_service(SPEC))
    await create_published(kb, token_for(Role.SUPERVISOR), "reset", "Resetting your password", "Use Forgot password.")
    app_user = token_for(Role.CUSTOMER, "app-user-9")  # signed in to the app: no chat session
    counted = [(await kb.RecordFeedback(pb.RecordFeedbackRequest(
        article_id="reset", kind=pb.FEEDBACK_KIND_NOT_HELPFUL, session_id=f"S-{i}"), metadata=app_user)).counted
        for i in range(3)]
    assert counted == [True, False, False]


async def test_agents_list_and_read_the_served_version_of_published_articles_only(
        start_service: StartService, channels: Callable[..., Stub], token_for: TokenFor) -> None:
    kb = channels(await start_service(SPEC))
    editor, agent = token_for(Role.SUPERVISOR, "S-1"), token_for(Role.AGENT, "A-1", groups=("billing",))
    await create_published(kb, editor, "returns", "Returns", "Return within 30 days.")
    edit = pb.UpdateArticleRequest(article=pb.Article(id="returns", body="Return within 60 days, draft."))
    edit.update_mask.paths.append("body")
    await kb.UpdateArticle(edit, metadata=editor)
    await kb.CreateArticle(pb.CreateArticleRequest(article_id="returns-draft", article=pb.Article(
        title="Returns draft", body="Not yet.", language="en", audience=pb.AUDIENCE_PUBLIC)), metadata=editor)

    listed = await kb.ListArticles(pb.ListArticlesRequest(), metadata=agent)
    assert [(a.id, a.version, a.body) for a in listed.articles] == [("returns", 1, "Return within 30 days.")]
    await denied(kb.ListArticles(pb.ListArticlesRequest(status=pb.ARTICLE_STATUS_DRAFT), metadata=agent))
    assert (await kb.GetArticle(pb.GetArticleRequest(id="returns"), metadata=agent)).version == 1
    await denied(kb.GetArticle(pb.GetArticleRequest(id="returns", version=2), metadata=agent))

    everything = await kb.ListArticles(pb.ListArticlesRequest(), metadata=editor)
    assert [(a.id, a.version) for a in everything.articles] == [("returns", 2), ("returns-draft", 1)]
    assert (await kb.GetArticle(pb.GetArticleRequest(id="returns", version=1), metadata=editor)).body \
        == "Return within 30 days."
