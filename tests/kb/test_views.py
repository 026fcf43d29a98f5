"""Help-centre pages and fragments, for anonymous visitors and customers, with the real app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from support.extensions import db
from support.kb import index
from support.models import ArticleFeedback, Deflection, Ticket
from support.models.kb import QUERY_MAX
from tests.conftest import Auth, close_database, make_app
from tests.factories import Factory

HTMX = {"HX-Request": "true"}

PAGES = [
    "/kb/",
    "/kb/refund-timelines",
    "/kb/category/payments",
    "/kb/search?q=refund",
    "/kb/search?q=",
    "/kb/search",
]


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def suggestion_slugs(html: str) -> list[str]:
    return re.findall(r'name="slug" value="([^"]+)"', html)


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_can_use_every_page(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert "<html" in response.text


@pytest.mark.parametrize("path", PAGES)
def test_customers_can_use_every_page(
    client: FlaskClient, auth: Auth, make: Factory, path: str
) -> None:
    auth.login(make.customer())
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/kb/no-such-article", "/kb/category/no-such-topic"])
def test_unknown_articles_and_topics_are_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "<html" in response.text


def test_an_unknown_article_page_offers_search_and_guesses(client: FlaskClient) -> None:
    response = client.get("/kb/refund-timeline")  # a typo in the slug
    assert response.status_code == 404
    assert "We couldn't find that article" in response.text
    assert 'href="/kb/refund-timelines"' in response.text


def test_the_topics_page_has_an_anchor_per_category(client: FlaskClient) -> None:
    html = client.get("/kb/").text
    for slug in ("accounts", "payments", "refunds", "shipping", "security", "help-centre"):
        assert f'id="{slug}"' in html
    assert 'href="/kb/refund-timelines"' in html


def test_an_article_page_has_safe_html_a_toc_related_articles_and_feedback(
    client: FlaskClient,
) -> None:
    html = client.get("/kb/refund-timelines").text
    assert "<h1>Refund timelines</h1>" in html
    assert '<h2 id="when-the-refund-is-issued">' in html
    assert 'href="#when-the-refund-is-issued"' in html  # table of contents
    assert 'href="/kb/request-a-refund"' in html  # related
    assert "Was this article helpful?" in html
    assert 'action="/kb/refund-timelines/feedback"' in html


def test_search_is_a_full_page_and_an_htmx_fragment(client: FlaskClient) -> None:
    page = client.get("/kb/search?q=refunded")
    fragment = client.get("/kb/search?q=refunded", headers=HTMX)
    for response in (page, fragment):
        assert 'href="/kb/refund-timelines"' in response.text
        assert "HX-Request" in response.headers["Vary"]
    assert "<html" in page.text and "<html" not in fragment.text
    assert "<mark" in fragment.text
    assert 'hx-push-url="true"' in page.text  # results are bookmarkable


def test_restoring_search_history_gets_the_full_page(client: FlaskClient) -> None:
    response = client.get(
        "/kb/search?q=refund", headers={**HTMX, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.text


def test_search_suggests_a_spelling_and_offers_a_ticket_when_nothing_matches(
    client: FlaskClient,
) -> None:
    assert "Did you mean" in client.get("/kb/search?q=refnud", headers=HTMX).text
    empty = client.get("/kb/search?q=xqzv+blorptang", headers=HTMX).text
    assert "No articles match" in empty
    assert 'href="/tickets/new"' in empty


def test_search_escapes_what_was_typed(client: FlaskClient) -> None:
    response = client.get("/kb/search?q=<script>alert(1)</script>")
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;" in response.text


def test_suggest_returns_at_most_five_articles_as_a_fragment(client: FlaskClient) -> None:
    response = client.get(
        "/kb/suggest",
        query_string={
            "subject": "Refund not received",
            "description": "I returned the jacket two weeks ago and the seller confirmed it, "
            "but the money is not back on my card. How long does a refund take?",
        },
        headers=HTMX,
    )
    slugs = suggestion_slugs(response.text)
    assert response.status_code == 200 and "<html" not in response.text
    assert 1 <= len(slugs) <= 5
    assert "refund-timelines" in slugs[:3]
    assert "This answered my question" in response.text


def test_suggest_accepts_q(client: FlaskClient) -> None:
    slugs = suggestion_slugs(client.get("/kb/suggest?q=I+was+charged+twice").text)
    assert slugs[0] == "charged-twice" and len(slugs) <= 5


@pytest.mark.parametrize("q", ["", "asdf qwerty zxcv", "hello"])
def test_suggest_is_an_empty_200_when_nothing_matches(client: FlaskClient, q: str) -> None:
    response = client.get("/kb/suggest", query_string={"q": q}, headers=HTMX)
    assert response.status_code == 200  # 204 would leave the old suggestions showing
    assert response.data == b""


def test_this_answered_my_question_records_a_deflection_and_files_nothing(
    client: FlaskClient, auth: Auth, make: Factory
) -> None:
    customer = make.customer()
    auth.login(customer)
    tickets_before = count(Ticket)
    typed = "Charged twice\nMy card shows two payments for one order."
    response = client.post(
        "/kb/deflect", data={"slug": "charged-twice", "query": typed}, headers=HTMX
    )
    assert response.status_code == 200
    assert "<html" not in response.text and "Glad that answered your question" in response.text
    (deflection,) = db.session.scalars(select(Deflection)).all()
    assert (deflection.slug, deflection.typed_text, deflection.user_id) == (
        "charged-twice",
        typed,
        customer.id,
    )
    assert count(Ticket) == tickets_before


def test_a_deflection_without_javascript_gets_a_thank_you_page(client: FlaskClient) -> None:
    response = client.post("/kb/deflect", data={"slug": "charged-twice", "query": "x" * 5000})
    assert response.status_code == 200 and "<html" in response.text
    (deflection,) = db.session.scalars(select(Deflection)).all()
    assert deflection.user_id is None  # anonymous
    assert len(deflection.typed_text) == QUERY_MAX


@pytest.mark.parametrize(
    ("data", "status"), [({"slug": "no-such-article"}, 404), ({"query": "no slug"}, 400)]
)
def test_a_deflection_needs_a_real_article(client: FlaskClient, data: dict, status: int) -> None:
    assert client.post("/kb/deflect", data=data).status_code == status
    assert count(Deflection) == 0


def test_feedback_is_recorded_and_thanked_in_place(client: FlaskClient) -> None:
    response = client.post(
        "/kb/refund-timelines/feedback",
        data={"helpful": "no", "comment": "Say which banks are slow."},
        headers=HTMX,
    )
    assert response.status_code == 200 and "<html" not in response.text
    assert "Thank you!" in response.text
    (feedback,) = db.session.scalars(select(ArticleFeedback)).all()
    assert (feedback.slug, feedback.helpful, feedback.comment, feedback.user_id) == (
        "refund-timelines",
        False,
        "Say which banks are slow.",
        None,
    )


def test_feedback_without_javascript_redirects_back_to_the_article(
    client: FlaskClient, auth: Auth, make: Factory
) -> None:
    customer = make.customer()
    auth.login(customer)
    response = client.post("/kb/refund-timelines/feedback", data={"helpful": "yes"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/kb/refund-timelines#feedback")
    (feedback,) = db.session.scalars(select(ArticleFeedback)).all()
    assert feedback.helpful is True and feedback.comment is None
    assert feedback.user_id == customer.id
    assert "Thank you for your feedback." in client.get(response.headers["Location"]).text


def test_feedback_needs_a_yes_or_no(client: FlaskClient) -> None:
    response = client.post("/kb/refund-timelines/feedback", data={"helpful": "maybe"}, headers=HTMX)
    assert response.status_code == 422
    assert "Choose Yes or No" in response.text or "Not a valid choice" in response.text
    assert client.post("/kb/no-such-article/feedback", data={"helpful": "yes"}).status_code == 404
    assert count(ArticleFeedback) == 0


def test_the_home_page_searches_as_you_type_and_links_topics(client: FlaskClient) -> None:
    html = client.get("/").text
    assert 'action="/kb/search"' in html and 'method="get"' in html
    assert 'hx-get="/kb/search?preview=1"' in html
    assert 'hx-trigger="input changed delay:300ms, search"' in html
    assert 'id="search-results"' in html
    assert 'href="/kb/#payments"' in html


def test_home_page_results_are_a_short_preview(client: FlaskClient) -> None:
    html = client.get("/kb/search?q=refund&preview=1", headers=HTMX).text
    assert html.count('class="result"') <= 5
    assert "See all" in html


def test_the_ticket_form_asks_for_suggestions_as_the_customer_types(
    client: FlaskClient, auth: Auth, make: Factory
) -> None:
    auth.login(make.customer())
    html = client.get("/tickets/new").text
    assert 'hx-get="/kb/suggest"' in html
    assert 'hx-include="#subject, #description, #client_token"' in html
    assert "input changed delay:400ms" in html


def test_agents_see_articles_to_link_on_a_ticket_and_customers_do_not(
    client: FlaskClient, auth: Auth, make: Factory
) -> None:
    customer = make.customer()
    ticket = make.ticket(
        customer, subject="Charged twice", description="Two payments for one order on my card."
    )
    auth.login(customer)
    assert "data-insert-into" not in client.get(f"/tickets/{ticket.ref}").text
    auth.logout()
    auth.login(make.agent())
    html = client.get(f"/tickets/{ticket.ref}").text
    assert "data-insert-into" in html
    assert re.search(
        r'data-insert-text="Charged twice[^"]*: http://localhost/kb/charged-twice"', html
    )


# --- CSRF: the real protection, switched on --------------------------------------------


@pytest.fixture
def csrf_client(tmp_path: Path, redis_url: str, shared_index_dir: Path) -> Iterator[FlaskClient]:
    (tmp_path / "csrf").mkdir()
    app = make_app(
        tmp_path / "csrf",
        redis_url,
        WTF_CSRF_ENABLED=True,
        KB_INDEX_DIR=str(shared_index_dir),
        KB_CHECK_SECONDS=3600,
    )
    with app.app_context():
        yield app.test_client()
        index.close(app)
        close_database()


def form_token(client: FlaskClient, path: str) -> str:
    match = re.search(
        r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', client.get(path).text
    )
    assert match, f"{path} has a form with a CSRF token"
    return match.group(1)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/kb/deflect", {"slug": "charged-twice", "query": "charged twice"}),
        ("/kb/charged-twice/feedback", {"helpful": "yes"}),
    ],
)
def test_posts_without_a_csrf_token_are_refused(
    csrf_client: FlaskClient, path: str, data: dict
) -> None:
    response = csrf_client.post(path, data=data)
    assert response.status_code == 400
    assert count(Deflection) == 0 and count(ArticleFeedback) == 0


def test_posts_with_the_pages_csrf_token_are_accepted(csrf_client: FlaskClient) -> None:
    token = form_token(csrf_client, "/kb/charged-twice")
    feedback = csrf_client.post(
        "/kb/charged-twice/feedback", data={"helpful": "yes", "csrf_token": token}
    )
    assert feedback.status_code == 303
    suggestions = csrf_client.get("/kb/suggest?q=charged+twice").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', suggestions).group(1)
    deflect = csrf_client.post(
        "/kb/deflect",
        data={"slug": "charged-twice", "query": "charged twice"},
        headers={**HTMX, "X-CSRFToken": token},  # htmx sends the token as a header too
    )
    assert deflect.status_code == 200
    assert count(Deflection) == 1 and count(ArticleFeedback) == 1


def test_search_pages_through_every_match(client: FlaskClient) -> None:
    first = client.get("/kb/search?q=order").get_data(as_text=True)
    total = int(re.search(r"(\d+) articles match", first).group(1))
    assert total > 10, "the help centre has more than 10 articles about orders"
    assert "1–10 shown" in first and 'href="/kb/search?q=order&amp;page=2"' in first
    second = client.get("/kb/search?q=order&page=2").get_data(as_text=True)
    assert f"11–{min(20, total)} shown" in second and "← Previous 10" in second
    titles = lambda page: re.findall(r'class="result-title" href="([^"]+)"', page)  # noqa: E731
    assert not set(titles(first)) & set(titles(second))
    for bad in ("²", "0", "-1", "99999999999999999999"):
        response = client.get(f"/kb/search?q=order&page={bad}")
        assert response.status_code == 200 and "1–10 shown" in response.get_data(as_text=True)
    last = client.get("/kb/search?q=order&page=999").get_data(as_text=True)
    assert "No more results." in last
