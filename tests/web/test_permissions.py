"""Who may open which portal URL: every route for every role.

A customer asking for someone else's ticket gets 404, never 403, so a
reference cannot be confirmed to exist by probing.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from support.extensions import db
from support.models import Attachment, Ticket, TicketEvent, User
from support.tickets import attachments, service
from tests.conftest import Auth
from tests.factories import Factory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Case:
    ticket: Ticket
    attachment: Attachment
    owner: User


@pytest.fixture
def case(make: Factory) -> Case:
    """A resolved ticket with a customer attachment, so every action applies."""
    owner = make.customer()
    stored = attachments.store("receipt.png", io.BytesIO(PNG))
    ticket = make.ticket(owner, files=[stored])
    service.resolve_by_customer(ticket, customer=owner)
    attachment = db.session.scalar(select(Attachment).where(Attachment.ticket_id == ticket.id))
    return Case(ticket, attachment, owner)


# (name, method, path template, form data)
TICKET_ROUTES = [
    ("detail", "GET", "/tickets/{ref}", None),
    ("events", "GET", "/tickets/{ref}/events?after=0", None),
    ("earlier", "GET", "/tickets/{ref}/earlier?before=100000", None),
    ("summary", "GET", "/tickets/{ref}/summary", None),
    ("submitted", "GET", "/tickets/{ref}/submitted", None),
    ("download", "GET", "/tickets/{ref}/attachments/{aid}/receipt.png", None),
    ("reply", "POST", "/tickets/{ref}/reply", {"body": "Still broken"}),
    ("resolve", "POST", "/tickets/{ref}/resolve", {}),
    ("reopen", "POST", "/tickets/{ref}/reopen", {}),
    ("rate", "POST", "/tickets/{ref}/rating", {"score": "4"}),
]
ROUTE_IDS = [name for name, *_ in TICKET_ROUTES]
STAFF_CAN_READ = {"detail", "events", "earlier", "summary", "download"}


def call(client: FlaskClient, route: tuple, case: Case, ref: str | None = None):
    _name, method, template, data = route
    url = template.format(ref=ref or case.ticket.ref, aid=case.attachment.id)
    response = client.open(url, method=method, data=data)
    response.close()
    return response


def test_every_portal_ticket_route_is_checked_here(app: Flask) -> None:
    # A new route on a ticket must join TICKET_ROUTES, or its permissions go untested.
    portal_ticket_endpoints = {
        rule.endpoint.removeprefix("portal.")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("portal.") and "<ref>" in rule.rule
    }
    assert portal_ticket_endpoints == set(ROUTE_IDS)


@pytest.mark.parametrize("route", TICKET_ROUTES, ids=ROUTE_IDS)
def test_anonymous_is_sent_to_login(client: FlaskClient, case: Case, route: tuple) -> None:
    response = call(client, route, case)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


@pytest.mark.parametrize("route", TICKET_ROUTES, ids=ROUTE_IDS)
def test_owner_may_use_every_route(
    client: FlaskClient, auth: Auth, case: Case, route: tuple
) -> None:
    auth.login(case.owner)
    expected = 303 if route[1] == "POST" else 200
    assert call(client, route, case).status_code == expected


@pytest.mark.parametrize("route", TICKET_ROUTES, ids=ROUTE_IDS)
def test_other_customer_gets_404_and_changes_nothing(
    client: FlaskClient, auth: Auth, make: Factory, case: Case, route: tuple
) -> None:
    version = case.ticket.version
    auth.login(make.customer())
    assert call(client, route, case).status_code == 404
    db.session.refresh(case.ticket)
    assert case.ticket.version == version


@pytest.mark.parametrize("role", ["agent", "admin"])
@pytest.mark.parametrize("route", TICKET_ROUTES, ids=ROUTE_IDS)
def test_staff_read_every_ticket_but_act_only_on_the_board(
    client: FlaskClient, auth: Auth, make: Factory, case: Case, route: tuple, role: str
) -> None:
    auth.login(getattr(make, role)())
    expected = 200 if route[0] in STAFF_CAN_READ else 404
    assert call(client, route, case).status_code == expected


@pytest.mark.parametrize("route", TICKET_ROUTES, ids=ROUTE_IDS)
def test_a_follower_reads_the_conversation_but_the_actions_stay_the_owners(
    client: FlaskClient, auth: Auth, make: Factory, case: Case, route: tuple
) -> None:
    follower = make.customer()
    service.add_followers(case.ticket, [follower])
    version = case.ticket.version
    auth.login(follower)
    expected = 200 if route[0] in STAFF_CAN_READ - {"submitted"} else 404
    assert call(client, route, case).status_code == expected
    db.session.refresh(case.ticket)
    assert case.ticket.version == version


def test_a_follower_sees_the_public_conversation_only(
    client: FlaskClient, auth: Auth, make: Factory, case: Case
) -> None:
    follower = make.customer()
    service.add_followers(case.ticket, [follower])
    agent = make.agent()
    service.reply(case.ticket, author=agent, body="Parcel found at the depot.", public=True)
    service.reply(case.ticket, author=agent, body="Seller is on a warning.", public=False)
    auth.login(follower)
    page = client.get(f"/tickets/{case.ticket.ref}").get_data(as_text=True)
    assert "Parcel found at the depot." in page
    assert "Seller is on a warning." not in page
    assert "You are copied on this request" in page
    assert 'id="reply-form"' not in page
    listed = client.get("/tickets/").get_data(as_text=True)
    assert case.ticket.ref in listed and "Copied to you" in listed


BAD_REFS = [
    "SUP-!!!!!!",
    "SUP-0O0O0O",
    "SUP-" + "A" * 300,
    "%00",
    "SUP-ABC%2F..",
    "' OR 1=1 --",
]


@pytest.mark.parametrize("route", TICKET_ROUTES, ids=ROUTE_IDS)
def test_malformed_reference_is_404(
    client: FlaskClient, auth: Auth, case: Case, route: tuple
) -> None:
    auth.login(case.owner)
    statuses = {bad: call(client, route, case, ref=bad).status_code for bad in BAD_REFS}
    assert statuses == dict.fromkeys(BAD_REFS, 404)


def _tampered(ref: str) -> str:
    last = ref[-1]
    return ref[:-1] + ("X" if last != "X" else "Y")


@pytest.mark.parametrize("route", TICKET_ROUTES, ids=ROUTE_IDS)
def test_tampered_reference_is_404(
    client: FlaskClient, auth: Auth, case: Case, route: tuple
) -> None:
    auth.login(case.owner)
    assert call(client, route, case, ref=_tampered(case.ticket.ref)).status_code == 404


def test_reference_is_case_insensitive(client: FlaskClient, auth: Auth, case: Case) -> None:
    auth.login(case.owner)
    assert client.get(f"/tickets/{case.ticket.ref.lower()}").status_code == 200


def test_404_for_someone_elses_ticket_looks_like_a_missing_one(
    client: FlaskClient, auth: Auth, make: Factory, case: Case
) -> None:
    auth.login(make.customer())
    theirs = client.get(f"/tickets/{case.ticket.ref}")
    missing = client.get(f"/tickets/{_tampered(case.ticket.ref)}")
    assert theirs.status_code == missing.status_code == 404
    assert "<token>" in _without_csrf_token(theirs.text)  # the one part that may differ
    assert _without_csrf_token(theirs.text) == _without_csrf_token(missing.text)
    assert case.ticket.ref not in theirs.text


def _without_csrf_token(page: str) -> str:
    """The page with its CSRF token blanked: the token is signed with the second it was
    made, so two requests a second apart differ there and nowhere else."""
    return re.sub(r"[\w-]{20,}\.[\w-]{6}\.[\w-]{20,}", "<token>", page)


def test_attachment_of_another_ticket_is_404(
    client: FlaskClient, auth: Auth, make: Factory, case: Case
) -> None:
    mine = make.ticket(case.owner)
    auth.login(case.owner)
    url = f"/tickets/{mine.ref}/attachments/{case.attachment.id}/receipt.png"
    assert client.get(url).status_code == 404


# --- list and new ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/tickets/", "/tickets/new"])
def test_anonymous_cannot_list_or_file(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


def test_anonymous_post_files_nothing(client: FlaskClient) -> None:
    response = client.post("/tickets/new", data={"subject": "s", "description": "d"})
    assert response.status_code == 302
    assert db.session.scalar(select(Ticket.id)) is None


@pytest.mark.parametrize("path", ["/tickets/", "/tickets/new"])
def test_customer_can_list_and_file(
    client: FlaskClient, auth: Auth, make: Factory, path: str
) -> None:
    auth.login(make.customer())
    assert client.get(path).status_code == 200


def test_my_tickets_lists_only_my_tickets(
    client: FlaskClient, auth: Auth, make: Factory, case: Case
) -> None:
    other = make.customer()
    theirs = make.ticket(other, subject="Somebody else's problem")
    auth.login(case.owner)
    page = client.get("/tickets/").text
    assert case.ticket.ref in page
    assert theirs.ref not in page
    assert "Somebody else" not in page


def test_agent_list_shows_all_tickets(
    client: FlaskClient, auth: Auth, make: Factory, case: Case
) -> None:
    theirs = make.ticket(make.customer())
    auth.login(make.agent())
    assert client.get("/tickets/").headers["Location"].endswith("/queue")
    page = client.get("/queue?status=all").text  # the case's ticket is resolved
    assert case.ticket.ref in page
    assert theirs.ref in page


# --- internal notes ----------------------------------------------------------------------

NOTE = "Internal: customer looks like a chargeback risk"


@pytest.fixture
def noted(make: Factory) -> Case:
    """An open ticket with an internal note (and internal attachment) after public events."""
    owner = make.customer()
    ticket = make.ticket(owner)
    agent = make.agent()
    service.reply(ticket, author=agent, body="Public answer from the team")
    stored = attachments.store("risk-report.txt", io.BytesIO(b"internal figures"))
    service.reply(ticket, author=agent, body=NOTE, public=False, files=[stored])
    attachment = db.session.scalar(select(Attachment).where(Attachment.ticket_id == ticket.id))
    return Case(ticket, attachment, owner)


@pytest.mark.parametrize(
    "path",
    [
        "/tickets/{ref}",
        "/tickets/{ref}/events?after=0",
        "/tickets/{ref}/earlier?before=100000",
    ],
)
def test_customer_never_sees_internal_notes(
    client: FlaskClient, auth: Auth, noted: Case, path: str
) -> None:
    auth.login(noted.owner)
    page = client.get(path.format(ref=noted.ticket.ref)).text
    assert "Public answer from the team" in page
    assert NOTE not in page
    assert "risk-report.txt" not in page
    assert "internal note" not in page.lower()
    assert "event-internal" not in page


def test_customer_cannot_download_internal_attachment(
    client: FlaskClient, auth: Auth, noted: Case
) -> None:
    auth.login(noted.owner)
    url = f"/tickets/{noted.ticket.ref}/attachments/{noted.attachment.id}/risk-report.txt"
    assert client.get(url).status_code == 404


def test_customer_poller_never_points_past_a_public_event(
    client: FlaskClient, auth: Auth, noted: Case
) -> None:
    last_public = db.session.scalar(
        select(func.max(TicketEvent.id)).where(
            TicketEvent.ticket_id == noted.ticket.id, TicketEvent.is_public.is_(True)
        )
    )
    auth.login(noted.owner)
    response = client.get(f"/tickets/{noted.ticket.ref}/events?after={last_public}")
    assert f"after={last_public}" in response.text
    assert "HX-Trigger" not in response.headers


@pytest.mark.parametrize(
    "path",
    [
        "/tickets/{ref}",
        "/tickets/{ref}/events?after=0",
        "/tickets/{ref}/earlier?before=100000",
    ],
)
def test_agent_sees_internal_notes(
    client: FlaskClient, auth: Auth, make: Factory, noted: Case, path: str
) -> None:
    auth.login(make.agent())
    page = client.get(path.format(ref=noted.ticket.ref)).text
    assert NOTE in page
    assert "risk-report.txt" in page
    assert "event-internal" in page


def test_agent_can_download_internal_attachment(
    client: FlaskClient, auth: Auth, make: Factory, noted: Case
) -> None:
    auth.login(make.agent())
    url = f"/tickets/{noted.ticket.ref}/attachments/{noted.attachment.id}/risk-report.txt"
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == b"internal figures"
    response.close()


def test_agent_detail_has_no_customer_actions(
    client: FlaskClient, auth: Auth, make: Factory, noted: Case
) -> None:
    auth.login(make.agent())
    page = client.get(f"/tickets/{noted.ticket.ref}").text
    assert 'id="reply-form"' not in page
    assert "/resolve" not in page
