"""The customer portal: rating a resolved ticket (one to five, changed later, once however
often it is sent), as a page and as an htmx summary."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from support.extensions import db
from support.models import EventKind, Rating, Ticket, TicketEvent, User
from tests.factories import Factory
from tests.jobs.test_notifications_and_admin import statements_on
from tests.web.portal import HTMX, count


@pytest.fixture
def ticket(make: Factory, customer: User) -> Ticket:
    return make.ticket(customer)


def test_rating_before_resolution_is_refused(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(f"/tickets/{ticket.ref}/rating", data={"score": "5"})
    assert response.status_code == 422
    assert "once the ticket is resolved" in response.text
    assert count(Rating) == 0


def test_htmx_rating_before_resolution_explains_in_the_summary(
    client: FlaskClient, ticket: Ticket
) -> None:
    response = client.post(f"/tickets/{ticket.ref}/rating", data={"score": "5"}, headers=HTMX)
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<aside class="ticket-summary"')
    assert "once the ticket is resolved" in response.text


def test_rating_form_hidden_until_resolved(client: FlaskClient, ticket: Ticket) -> None:
    assert "How did we do?" not in client.get(f"/tickets/{ticket.ref}").text


@pytest.mark.parametrize("score", ["0", "6", "-1", "five", "", "4.5"])
def test_rating_must_be_one_to_five(client: FlaskClient, ticket: Ticket, score: str) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    response = client.post(f"/tickets/{ticket.ref}/rating", data={"score": score})
    assert response.status_code == 422
    assert count(Rating) == 0


@pytest.mark.parametrize("score", [1, 2, 3, 4, 5])
def test_rating_accepts_one_to_five(client: FlaskClient, ticket: Ticket, score: int) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    response = client.post(f"/tickets/{ticket.ref}/rating", data={"score": str(score)})
    assert response.status_code == 303
    assert db.session.scalar(select(Rating.score)) == score


def test_rating_can_be_changed(client: FlaskClient, ticket: Ticket) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    client.post(f"/tickets/{ticket.ref}/rating", data={"score": "2", "comment": "Slow"})
    client.post(f"/tickets/{ticket.ref}/rating", data={"score": "5", "comment": "Fixed!"})
    rating = db.session.scalars(select(Rating)).one()
    assert (rating.score, rating.comment) == (5, "Fixed!")
    page = client.get(f"/tickets/{ticket.ref}").text
    assert 'aria-label="5 out of 5"' in page
    assert "Update rating" in page


def test_double_submitted_rating_is_recorded_once(client: FlaskClient, ticket: Ticket) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    for _ in range(2):
        response = client.post(
            f"/tickets/{ticket.ref}/rating", data={"score": "4", "comment": "Quick, thanks"}
        )
        assert response.status_code == 303
    rated = select(func.count(TicketEvent.id)).where(TicketEvent.kind == EventKind.RATED)
    assert db.session.scalar(rated) == 1


def test_htmx_rating_returns_summary(client: FlaskClient, ticket: Ticket) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    response = client.post(f"/tickets/{ticket.ref}/rating", data={"score": "4"}, headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "ticket-updated"
    assert 'aria-label="4 out of 5"' in response.text


def test_the_rating_is_read_only_where_the_page_shows_it(
    client: FlaskClient, ticket: Ticket
) -> None:
    """An open ticket's page shows no rating, so it reads none; a rated ticket reopened
    and resolved again shows its rating once more."""
    with statements_on("ratings") as open_page:
        client.get(f"/tickets/{ticket.ref}")
    assert open_page == []
    client.post(f"/tickets/{ticket.ref}/resolve")
    client.post(f"/tickets/{ticket.ref}/rating", data={"score": "3"})
    client.post(f"/tickets/{ticket.ref}/reopen")
    with statements_on("ratings") as reopened:
        assert "out of 5" not in client.get(f"/tickets/{ticket.ref}").text
    assert reopened == []
    client.post(f"/tickets/{ticket.ref}/resolve")
    with statements_on("ratings") as resolved:
        assert 'aria-label="3 out of 5"' in client.get(f"/tickets/{ticket.ref}").text
    assert len(resolved) == 1
