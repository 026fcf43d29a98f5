"""An agent files a ticket for a customer on the phone or at the desk."""

from __future__ import annotations

from sqlalchemy import select

from support.extensions import db
from support.models import EventKind, OutboxMessage, Role, Ticket, TicketEvent, User
from support.models.ticket import Channel
from tests.board.conftest import said


def file(client, **fields):
    data = {
        "email": "walk.in@example.com",
        "name": "Wanda Walkin",
        "subject": "Parcel never arrived",
        "description": "Called about order 5521: tracking stuck for a week.",
        "category": "",
        "impact": "just_me",
        **fields,
    }
    return client.post("/board/tickets/new", data=data)


def test_a_new_customer_is_made_and_acknowledged(client, as_agent) -> None:
    page = client.get("/board/tickets/new")
    assert page.status_code == 200 and "File a ticket for a customer" in said(page)
    response = file(client)
    assert response.status_code == 303
    ticket = db.session.scalars(select(Ticket)).one()
    assert response.location == f"/board/tickets/{ticket.ref}"
    customer = ticket.customer
    assert (customer.email, customer.name, customer.role) == (
        "walk.in@example.com",
        "Wanda Walkin",
        Role.CUSTOMER,
    )
    assert ticket.channel == Channel.PHONE
    created = db.session.scalar(select(TicketEvent).where(TicketEvent.kind == EventKind.CREATED))
    assert created.actor_id == customer.id and created.data["filed_by"] == as_agent.id
    [ack] = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == customer.email)
    )
    assert ticket.ref in ack.subject
    assert "via phone" in said(client.get(response.location))


def test_an_existing_customer_is_found_by_email(client, as_agent, customer) -> None:
    response = file(client, email=customer.email.upper(), name="")
    assert response.status_code == 303
    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.customer_id == customer.id and customer.name == "Casey Customer"
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 2


def test_bad_input_keeps_what_was_typed(client, as_agent, agent) -> None:
    for fields, message in (
        ({"email": "not an address"}, "Enter an email address like name@example.com."),
        ({"name": ""}, "A new customer needs a name."),
        ({"email": agent.email}, "That is a team member's account"),
        ({"subject": ""}, "Give the request a short subject."),
        ({"category": "nope"}, "Not a valid choice"),
        ({"impact": "everyone"}, "Not a valid choice"),
    ):
        response = file(client, **fields)
        assert response.status_code == 422, fields
        assert message in said(response) and "tracking stuck for a week" in said(response)
    assert db.session.scalars(select(Ticket)).first() is None


def test_customers_cannot_file_for_others(client, auth, customer) -> None:
    auth.login(customer)
    assert file(client).status_code == 403
