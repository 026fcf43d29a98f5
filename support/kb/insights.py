"""Knowledge-base insights (issue 15): what the help centre was asked, what it answered.

Every figure is one SQL aggregate over a date range; Python only joins the
article titles on (one dict look-up per article, never per search or ticket).
The records come from `support.kb.activity` (searches, views, suggestions),
`support.kb.feedback` (votes, deflections) and the tickets themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Integer, case, distinct, func, select

from support import clock
from support.extensions import db
from support.kb.library import library
from support.models import ArticleFeedback, ArticleView, Deflection, KbSearch, SuggestionShown
from support.models.ticket import Ticket

DEFAULT_DAYS = 30
MAX_DAYS = 366
TOP = 20


class RangeError(ValueError):
    """A date range that cannot be reported on; the message says what to type instead."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DateRange:
    """Whole days, both ends included (UTC)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min)

    @property
    def end(self) -> datetime:  # exclusive
        return datetime.combine(self.last + timedelta(days=1), time.min)

    def args(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise RangeError(field, "Enter a date as YYYY-MM-DD, e.g. 2026-12-01.") from None


def parse_range(first: str | None, last: str | None, today: date | None = None) -> DateRange:
    """The range from the URL's `from` and `to`; the last 30 days when they are absent."""
    today = today or clock.now().date()
    end = _day(last, "to") if last else today
    start = _day(first, "from") if first else end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise RangeError("from", "The start date must be on or before the end date.")
    if (end - start).days >= MAX_DAYS:
        raise RangeError("from", f"Choose at most {MAX_DAYS} days.")
    return DateRange(start, end)


def _title(slug: str) -> str:
    article = library().get(slug)
    return article.title if article else f"{slug} (no longer published)"


# --- searches ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchSummary:
    searches: int
    zero_results: int
    clicked: int

    @property
    def zero_share(self) -> float | None:
        return self.zero_results / self.searches if self.searches else None

    @property
    def click_share(self) -> float | None:
        return self.clicked / self.searches if self.searches else None


def _in(column, period: DateRange):
    return (column >= period.start) & (column < period.end)


def search_summary(period: DateRange) -> SearchSummary:
    row = db.session.execute(
        select(
            func.count(KbSearch.id),
            func.coalesce(func.sum(case((KbSearch.results == 0, 1), else_=0)), 0),
            func.coalesce(func.sum(case((KbSearch.clicked, 1), else_=0)), 0),
        ).where(_in(KbSearch.created_at, period))
    ).one()
    return SearchSummary(int(row[0]), int(row[1]), int(row[2]))


@dataclass(frozen=True)
class QueryRow:
    query: str
    searches: int
    zero_results: int
    clicked: int


def top_searches(
    period: DateRange, *, without_click: bool = False, limit: int = TOP
) -> list[QueryRow]:
    """The most frequent queries; `without_click`: those nobody opened an article from."""
    searches = func.count(KbSearch.id)
    statement = (
        select(
            KbSearch.query_text,
            searches,
            func.sum(case((KbSearch.results == 0, 1), else_=0)),
            func.sum(case((KbSearch.clicked, 1), else_=0)),
        )
        .where(_in(KbSearch.created_at, period))
        .group_by(KbSearch.query_text)
        .order_by(searches.desc(), KbSearch.query_text)
        .limit(limit)
    )
    if without_click:
        statement = statement.having(func.max(func.cast(KbSearch.clicked, Integer)) == 0)
    return [QueryRow(q, int(n), int(z), int(c)) for q, n, z, c in db.session.execute(statement)]


# --- articles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleRow:
    slug: str
    title: str
    views: int
    helpful: int
    not_helpful: int

    @property
    def helpful_share(self) -> float | None:
        votes = self.helpful + self.not_helpful
        return self.helpful / votes if votes else None


def article_table(period: DateRange) -> list[ArticleRow]:
    """Views and "Was this helpful?" per article: most viewed first, then most voted."""
    views = dict(
        db.session.execute(
            select(ArticleView.slug, func.count(ArticleView.id))
            .where(_in(ArticleView.created_at, period))
            .group_by(ArticleView.slug)
        ).all()
    )
    votes = {
        slug: (int(yes), int(no))
        for slug, yes, no in db.session.execute(
            select(
                ArticleFeedback.slug,
                func.sum(case((ArticleFeedback.helpful, 1), else_=0)),
                func.sum(case((ArticleFeedback.helpful, 0), else_=1)),
            )
            .where(_in(ArticleFeedback.created_at, period))
            .group_by(ArticleFeedback.slug)
        )
    }
    rows = [
        ArticleRow(slug, _title(slug), int(views.get(slug, 0)), *votes.get(slug, (0, 0)))
        for slug in set(views) | set(votes)
    ]
    return sorted(rows, key=lambda r: (-r.views, -(r.helpful + r.not_helpful), r.slug))


# --- suggestions while filing and deflections --------------------------------------------


@dataclass(frozen=True)
class SuggestionRow:
    slug: str
    title: str
    shown: int  # ticket forms it was suggested in
    filed_anyway: int  # of those forms, the ones that went on to file a ticket
    deflections: int  # "This answered my question"


@dataclass(frozen=True)
class SuggestionSummary:
    forms: int  # ticket forms that showed at least one suggestion
    filed_anyway: int
    deflections: int


def _filed_forms():
    return select(Ticket.client_token).where(Ticket.client_token.is_not(None))


def suggestion_summary(period: DateRange) -> SuggestionSummary:
    shown = _in(SuggestionShown.created_at, period)
    forms = db.session.scalar(select(func.count(distinct(SuggestionShown.form_token))).where(shown))
    filed = db.session.scalar(
        select(func.count(distinct(SuggestionShown.form_token))).where(
            shown, SuggestionShown.form_token.in_(_filed_forms())
        )
    )
    deflections = db.session.scalar(
        select(func.count(Deflection.id)).where(_in(Deflection.created_at, period))
    )
    return SuggestionSummary(int(forms or 0), int(filed or 0), int(deflections or 0))


def suggestion_table(period: DateRange) -> list[SuggestionRow]:
    """Per article: how often it was suggested while filing, and the deflections it earned."""
    filed = SuggestionShown.form_token.in_(_filed_forms())
    shown = {
        slug: (int(n), int(f))
        for slug, n, f in db.session.execute(
            select(
                SuggestionShown.slug,
                func.count(SuggestionShown.id),
                func.sum(case((filed, 1), else_=0)),
            )
            .where(_in(SuggestionShown.created_at, period))
            .group_by(SuggestionShown.slug)
        )
    }
    deflected = dict(
        db.session.execute(
            select(Deflection.slug, func.count(Deflection.id))
            .where(_in(Deflection.created_at, period))
            .group_by(Deflection.slug)
        ).all()
    )
    rows = [
        SuggestionRow(slug, _title(slug), *shown.get(slug, (0, 0)), int(deflected.get(slug, 0)))
        for slug in set(shown) | set(deflected)
    ]
    return sorted(rows, key=lambda r: (-r.shown, -r.deflections, r.slug))
