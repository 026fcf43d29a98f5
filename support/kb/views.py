"""The help centre: browse, read and search articles; suggestions while filing a ticket.

Every URL here is open to anonymous visitors (SPEC §1).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, Response, abort, flash, make_response, redirect, request, url_for
from flask_login import current_user

from support import ratelimit
from support.kb import activity, feedback, index
from support.kb.articles import Article, Library
from support.kb.forms import DeflectForm, FeedbackForm
from support.kb.library import library
from support.models import User
from support.params import plain_int
from support.web import render, wants_fragment

bp = Blueprint("kb", __name__, url_prefix="/kb")


# Every rendered search box gets its own token (see support.kb.activity); a global,
# so the search_box macro sees it wherever it is imported.
bp.add_app_template_global(activity.new_search_token, "new_search_token")


ARTICLE = "kb/article.html"
SEARCH_LIMIT = 10
MAX_PAGE = 50  # 500 results: past that, better words help more than paging
PREVIEW_LIMIT = 5  # results under the search box on the home page


def _reader() -> User | None:
    return current_user if current_user.is_authenticated else None


def _article_or_404(slug: str) -> tuple[Library, Article]:
    lib = library()
    article = lib.get(slug)
    if article is None:
        abort(404)
    return lib, article


def _article_context(lib: Library, article: Article, **extra: Any) -> dict[str, Any]:
    return {
        "article": article,
        "category": lib.category(article.category),
        "related": lib.related(article),
        "form": FeedbackForm(formdata=None),
        **extra,
    }


@bp.get("/")
def home() -> Response:
    lib = library()
    sections = [(c, lib.in_category(c.slug)) for c in lib.categories if lib.in_category(c.slug)]
    return render("kb/index.html", sections=sections)


@bp.get("/category/<slug>")
def category(slug: str) -> Response:
    lib = library()
    found = lib.category(slug)
    if found is None:
        abort(404)
    return render("kb/category.html", category=found, articles=lib.in_category(slug))


@bp.get("/search")
@ratelimit.search
def search() -> Response:
    q = request.args.get("q", "").strip()
    preview = request.args.get("preview") == "1"
    page = 1 if preview else min(plain_int(request.args.get("page")) or 1, MAX_PAGE) or 1
    per_page = PREVIEW_LIMIT if preview else SEARCH_LIMIT
    results = index.search(q, limit=per_page * page) if q else None
    first = (page - 1) * per_page  # this page's first hit (0-based)
    token = request.args.get("st")
    if results is not None:
        activity.record_search(q, results.total, token)
        results = dataclasses.replace(results, hits=results.hits[first:])
    return render(
        "kb/search.html",
        block="results",
        q=q,
        results=results,
        preview=preview,
        page=page,
        first=first,
        per_page=per_page,
        lib=library(),
        search_token=token,
    )


@bp.get("/suggest")
@ratelimit.search
def suggest() -> Response:
    """Up to 5 articles for what is typed so far; an empty body hides the panel."""
    subject = request.args.get("subject", "").strip()
    parts = (request.args.get("q", ""), request.args.get("description", ""))
    text = "\n".join(part.strip() for part in parts if part.strip())
    hits = index.suggest(text, subject=subject)
    activity.record_suggestions(request.args.get("client_token"), [hit.slug for hit in hits])
    if not hits:
        response = make_response("", 200)
        response.vary.add("HX-Request")
        return response
    return render(
        "kb/_suggestions.html",
        hits=hits,
        typed="\n".join(part for part in (subject, text) if part),
        insert_into=request.args.get("insert_into"),
    )


@bp.post("/deflect")
def deflect() -> Response:
    """'This answered my question': count it, file nothing."""
    form = DeflectForm()
    if not form.validate_on_submit():
        abort(400)
    _, found = _article_or_404(form.slug.data)
    feedback.record_deflection(found.slug, query=form.query.data or "", user=_reader())
    return render("kb/deflected.html", block="thanks", article=found, inline=wants_fragment())


@bp.get("/<slug>")
def article(slug: str) -> Response:
    lib = library()
    found = lib.get(slug)
    if found is None:
        guesses = index.suggest(slug.replace("-", " "), limit=3)
        return render("kb/not_found.html", status=404, slug=slug, guesses=guesses)
    activity.record_view(found.slug)
    activity.record_click(request.args.get("st"))
    return render(ARTICLE, **_article_context(lib, found))


@bp.post("/<slug>/feedback")
def article_feedback(slug: str) -> Response:
    lib, found = _article_or_404(slug)
    form = FeedbackForm()
    if not form.validate_on_submit():
        context = _article_context(lib, found, form=form)
        return render(ARTICLE, block="feedback", status=422, **context)
    helpful = form.helpful.data == "yes"
    feedback.record_feedback(found.slug, helpful=helpful, comment=form.comment.data, user=_reader())
    if wants_fragment():
        return render(ARTICLE, block="feedback", article=found, thanked=True, helpful=helpful)
    flash("Thank you for your feedback.", "success")
    return redirect(url_for("kb.article", slug=found.slug, _anchor="feedback"), code=303)
