"""/api/v1/kb: search the knowledge base, suggest articles for a customer's text, read one."""

from __future__ import annotations

from typing import Any

from support.api import schemas as s
from support.api.blueprint import bp
from support.api.problems import Problem
from support.api.spec import responses, spec
from support.kb import index
from support.kb.index import Hit
from support.kb.library import library
from support.urls import external_url

TAG = "Knowledge base"


def _hit(hit: Hit) -> s.ArticleHitOut:
    return s.ArticleHitOut(
        slug=hit.slug,
        title=hit.title,
        summary=hit.summary,
        category=hit.category,
        score=round(hit.score, 4),
        url=external_url("kb.article", slug=hit.slug),
    )


@bp.get("/kb/search")
@spec.validate(query=s.SearchQuery, resp=responses(200, s.SearchOut, 422), tags=[TAG])
def search_articles(query: s.SearchQuery) -> Any:
    """Search articles, best first (what the help centre's search box finds)"""
    results = index.search(query.q, limit=query.limit)
    return s.SearchOut(
        query=results.query,
        total=results.total,
        suggestion=results.suggestion,
        hits=[_hit(h) for h in results.hits],
    )


@bp.get("/kb/suggest")
@spec.validate(query=s.SuggestQuery, resp=responses(200, s.SuggestOut, 422), tags=[TAG])
def suggest_articles(query: s.SuggestQuery) -> Any:
    """Articles likely to answer a customer's message (as shown while filing a ticket)"""
    hits = index.suggest(query.text, limit=query.limit, subject=query.subject)
    return s.SuggestOut(hits=[_hit(h) for h in hits])


@bp.get("/kb/articles/<slug>")
@spec.validate(resp=responses(200, s.ArticleOut), tags=[TAG])
def read_article(slug: str) -> Any:
    """Read an article (its HTML is sanitised)"""
    article = library().get(slug)
    if article is None:
        raise Problem(404, f"No article “{slug[:80]}”: find one with /api/v1/kb/search.")
    return s.ArticleOut(
        slug=article.slug,
        title=article.title,
        category=article.category,
        tags=list(article.tags),
        summary=article.summary,
        updated=article.updated,
        html=article.html,
        url=external_url("kb.article", slug=article.slug),
    )
