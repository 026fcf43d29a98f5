"""The demo data `make run` starts with: it seeds, once, and routing has people to route to."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from support import demo
from support.extensions import db
from support.models import Impact, Role, Ticket, User
from support.notify import inbox
from support.tickets import service
from tests.conftest import make_app, running


def test_seeds_staff_customers_and_tickets_in_every_status(app) -> None:
    counts = demo.seed()
    assert counts["users"] == len(demo.STAFF) + len(demo.CUSTOMERS)
    statuses = set(db.session.scalars(select(Ticket.status).distinct()))
    assert len(statuses) == counts["tickets"] // demo.ROUNDS  # rounds of every status
    subjects = list(db.session.scalars(select(Ticket.subject)))
    assert len(set(subjects)) == len(subjects)  # a real week: no story told three times
    casey = db.session.scalar(select(User).where(User.email == "customer@example.com"))
    alex = db.session.scalar(select(User).where(User.email == "agent@example.com"))
    for person in (casey, alex):  # the last hours' news, not a month of it
        assert inbox.unread_count(person) <= 10
    assert inbox.unread_count(casey) > 0
    assert demo.seed() == {"tickets": 0}  # a second run adds nothing
    assert db.session.scalar(select(func.count(Ticket.id))) == counts["tickets"]


def test_new_tickets_in_the_demo_are_routed_by_team_and_skill(app) -> None:
    demo.seed()
    customer = db.session.scalar(select(User).where(User.role == Role.CUSTOMER).limit(1))
    by_slug = {c.slug: c for c in demo.ensure_default_categories()}

    def file(slug: str) -> Ticket:
        return service.open_ticket(
            customer=customer,
            subject="Question",
            description="A question for the team.",
            category=by_slug[slug],
            impact=Impact.JUST_ME,
        )

    assert file("shipping").assignee.email == "agent@example.com"
    assert file("refunds").assignee.email == "priya@example.com"  # needs Chargebacks


def test_refuses_outside_development(tmp_path, redis_url) -> None:
    with (
        running(make_app(tmp_path, redis_url, SUPPORT_ENV="production")),
        pytest.raises(demo.DemoRefused, match="only for development"),
    ):
        demo.seed()


def test_the_admin_has_a_token_in_each_state(app) -> None:
    from support import clock
    from support.api import tokens

    demo.seed()
    admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
    states = [tokens.status_of(t, clock.now()).value for t in tokens.tokens_of(admin)]
    assert sorted(states) == ["active", "active", "expired", "revoked"]


def test_some_demo_tickets_are_tagged(app) -> None:
    demo.seed()
    tagged = list(db.session.scalars(select(Ticket).where(Ticket.tags.any())))
    assert 5 <= len(tagged) < db.session.scalar(select(func.count(Ticket.id)))
    assert {"refund", "vip seller"} <= {tag.name for t in tagged for tag in t.tags}
