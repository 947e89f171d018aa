"""Two knowledge replicas on one NATS and one database, written to at once: no article made twice,
no version number given twice, whichever replica each call reaches."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc

from omni.knowledge.service import SPEC
from omni.runtime.auth import Role
from omnichannel.knowledge.v1 import knowledge_pb2 as pb
from omnichannel.knowledge.v1 import knowledge_pb2_grpc
from tests.conftest import StartService
from tests.knowledge.test_service import TokenFor, channels, served_body
from tests.support.polling import eventually

__all__ = ["channels"]  # the fixture


async def test_concurrent_writes_through_two_replicas_make_one_article_and_distinct_versions(
        start_service: StartService, channels: Callable[..., knowledge_pb2_grpc.KnowledgeServiceAsyncStub],
        token_for: TokenFor) -> None:
    a, b = channels(await start_service(SPEC)), channels(await start_service(SPEC))
    editor, agent = token_for(Role.ADMIN, "AD-1"), token_for(Role.AGENT, "A-1")

    # An editor's retried create reaching both replicas at once makes one article.
    create = pb.CreateArticleRequest(request_id="create-refunds", article=pb.Article(
        title="Refunds", body="Refunds take 5 days.", language="en", audience=pb.AUDIENCE_PUBLIC))
    made = await asyncio.gather(*(kb.CreateArticle(create, metadata=editor) for kb in (a, b, a, b)))
    article_id = made[0].id
    assert {m.id for m in made} == {article_id}
    listed = await b.ListArticles(pb.ListArticlesRequest(), metadata=editor)
    assert [x.id for x in listed.articles] == [article_id]

    # Editors saving at the same moment through different replicas: a save made on a version
    # someone else just replaced is refused (ABORTED: reload and apply again), never numbered twice
    # or lost; each editor's retry lands as a version of its own.
    async def save(kb: knowledge_pb2_grpc.KnowledgeServiceAsyncStub, n: int) -> None:
        request = pb.UpdateArticleRequest(article=pb.Article(id=article_id, body=f"Refunds take {n + 10} days."),
                                          change_note=f"edit {n}")
        request.update_mask.paths.append("body")
        while True:
            try:
                await kb.UpdateArticle(request, metadata=editor)
                return
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.ABORTED, exc

    await asyncio.gather(*(save((a, b)[n % 2], n) for n in range(6)))
    versions = (await a.ListArticleVersions(pb.ListArticleVersionsRequest(id=article_id), metadata=editor)).versions
    assert [v.version for v in versions] == list(range(1, 8))
    assert sorted(v.change_note for v in versions[1:]) == [f"edit {n}" for n in range(6)]

    # The last saved version is what both replicas serve once published.
    latest = await b.GetArticle(pb.GetArticleRequest(id=article_id), metadata=editor)
    assert latest.version == 7
    for status in (pb.ARTICLE_STATUS_REVIEW, pb.ARTICLE_STATUS_PUBLISHED):
        await b.TransitionArticle(pb.TransitionArticleRequest(id=article_id, status=status), metadata=editor)
    await eventually(lambda: asyncio.gather(served_body(a, "refunds", agent), served_body(b, "refunds", agent)),
                     lambda both: both[0] == both[1] == [latest.body],
                     what="both replicas serving the last saved version")
