"""KnowledgeService over gRPC: convert the request, call one use case, convert the answer."""

from __future__ import annotations

from omni.knowledge import convert
from omni.knowledge.usecases import UPDATABLE, KnowledgeBase
from omni.runtime.auth import current_principal
from omni.runtime.interceptors import Context
from omni.runtime.paging import PageRequest, PageTokens, page_size
from omni.runtime.validation import mask_paths, require
from omnichannel.knowledge.v1 import knowledge_pb2 as pb
from omnichannel.knowledge.v1 import knowledge_pb2_grpc


class KnowledgeServicer(knowledge_pb2_grpc.KnowledgeServiceServicer):
    def __init__(self, kb: KnowledgeBase, page_tokens: PageTokens) -> None:
        self._kb = kb
        self._tokens = page_tokens

    async def CreateCategory(self, request: pb.CreateCategoryRequest, context: Context) -> pb.Category:
        category = await self._kb.create_category(request.category_id or request.category.id, request.category.name,
                                                  request.category.parent_id)
        return convert.category_to_proto(category)

    async def ListCategories(self, request: pb.ListCategoriesRequest, context: Context) -> pb.ListCategoriesResponse:
        found = await self._kb.list_categories(request.parent_id, request.recursive)
        return pb.ListCategoriesResponse(categories=[convert.category_to_proto(c) for c in found])

    async def CreateArticle(self, request: pb.CreateArticleRequest, context: Context) -> pb.Article:
        article = await self._kb.create_article(current_principal(), request.article_id or request.article.id,
                                                convert.content_from(request.article), request.request_id)
        return convert.article_to_proto(article)

    async def GetArticle(self, request: pb.GetArticleRequest, context: Context) -> pb.Article:
        article, version = await self._kb.get_article(current_principal(), require(request.id, "id"), request.version)
        return convert.article_to_proto(article, version)

    async def ListArticles(self, request: pb.ListArticlesRequest, context: Context) -> pb.ListArticlesResponse:
        asked = [request.category_id, request.status, request.language]
        after = self._tokens.read(request.page_token, listing="articles", filters=asked)
        page = await self._kb.list_articles(current_principal(), request.category_id,
                                            convert.status_or_none(request.status), request.language,
                                            PageRequest(page_size(request.page_size), after))
        return pb.ListArticlesResponse(
            articles=[convert.article_to_proto(article, version) for article, version in page.items],
            next_page_token=self._tokens.issue(page.next_after, listing="articles", filters=asked))

    async def UpdateArticle(self, request: pb.UpdateArticleRequest, context: Context) -> pb.Article:
        paths = mask_paths(request.update_mask.paths, UPDATABLE, resource="article")
        article = await self._kb.update_article(current_principal(), require(request.article.id, "article.id"),
                                                convert.changes_from(request.article, paths), paths,
                                                request.change_note)
        return convert.article_to_proto(article)

    async def TransitionArticle(self, request: pb.TransitionArticleRequest, context: Context) -> pb.Article:
        article = await self._kb.transition(require(request.id, "id"), convert.status_from(request.status))
        return convert.article_to_proto(article)

    async def ListArticleVersions(self, request: pb.ListArticleVersionsRequest,
                                  context: Context) -> pb.ListArticleVersionsResponse:
        versions = await self._kb.versions(require(request.id, "id"))
        return pb.ListArticleVersionsResponse(versions=[convert.version_to_proto(v) for v in versions])

    async def DiffArticleVersions(self, request: pb.DiffArticleVersionsRequest,
                                  context: Context) -> pb.DiffArticleVersionsResponse:
        diff = await self._kb.diff(require(request.id, "id"), request.from_version, request.to_version)
        return pb.DiffArticleVersionsResponse(unified_diff=diff)

    async def RollbackArticle(self, request: pb.RollbackArticleRequest, context: Context) -> pb.Article:
        article = await self._kb.rollback(current_principal(), require(request.id, "id"), request.version)
        return convert.article_to_proto(article)

    async def SearchArticles(self, request: pb.SearchArticlesRequest, context: Context) -> pb.SearchArticlesResponse:
        asked = [request.query, request.filter.SerializeToString(deterministic=True).hex()]
        after = self._tokens.read(request.page_token, listing="search", filters=asked)
        page = self._kb.search(current_principal(), request.query, convert.filter_from(request.filter),
                               PageRequest(page_size(request.page_size), after))
        return pb.SearchArticlesResponse(
            hits=[convert.hit_to_proto(h) for h in page.hits],
            next_page_token=self._tokens.issue(page.next_after, listing="search", filters=asked),
            total_size=page.total)

    async def Suggest(self, request: pb.SuggestRequest, context: Context) -> pb.SuggestResponse:
        hits = self._kb.suggest(current_principal(), request.text, convert.filter_from(request.filter),
                                [request.queue, request.intent], request.limit)
        return pb.SuggestResponse(hits=[convert.hit_to_proto(h) for h in hits])

    async def RecordFeedback(self, request: pb.RecordFeedbackRequest, context: Context) -> pb.RecordFeedbackResponse:
        counted, stats = await self._kb.record_feedback(current_principal(), request.article_id,
                                                        convert.feedback_from(request.kind), request.session_id,
                                                        request.agent_id)
        return pb.RecordFeedbackResponse(stats=convert.stats_to_proto(stats), counted=counted)
