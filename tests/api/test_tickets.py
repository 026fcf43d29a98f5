"""The ticket API: every write through the ticket service, the pages' permission rules."""

from __future__ import annotations

from sqlalchemy import func, select

from support.extensions import db
from support.models import EventKind, Status, Ticket, TicketEvent, TokenScope
from support.models.ticket import Channel
from tests.api.conftest import Api, api_for
from tests.factories import Factory


def _file(api: Api, customer, **fields):
    body = {
        "customer_id": customer.id,
        "subject": "Payout missing since Monday",
        "description": "My payout for last week has not arrived.",
        **fields,
    }
    return api.post("/api/v1/tickets", json=body)


def test_an_agent_files_a_ticket_for_a_customer(api: Api, make: Factory) -> None:
    customer = make.customer()
    response = _file(api, customer, category="payments")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["ref"].startswith("SUP-")
    assert body["customer"]["email"] == customer.email
    assert body["category"] == "payments"
    assert body["channel"] == "api"
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert response.headers["Location"].endswith(f"/api/v1/tickets/{body['ref']}")
    ticket = db.session.scalar(select(Ticket).where(Ticket.ref == body["ref"]))
    assert ticket.channel == Channel.API
    # Filed through the service: the timeline starts with the customer's request.
    kinds = [
        e.kind
        for e in db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
    ]
    assert kinds[0] == EventKind.CREATED


def test_the_same_idempotency_key_files_one_ticket(api: Api, make: Factory) -> None:
    customer = make.customer()
    first = api.post(
        "/api/v1/tickets",
        json={"customer_email": customer.email, "subject": "Hello", "description": "Help"},
        headers={"Idempotency-Key": "order-48213-1"},
    )
    again = api.post(
        "/api/v1/tickets",
        json={"customer_email": customer.email, "subject": "Hello", "description": "Help"},
        headers={"Idempotency-Key": "order-48213-1"},
    )
    assert first.status_code == again.status_code == 201
    assert first.json["ref"] == again.json["ref"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
    other = api.post(
        "/api/v1/tickets",
        json={"customer_email": customer.email, "subject": "Other", "description": "Help"},
        headers={"Idempotency-Key": "order-48213-1"},
    )
    assert other.status_code == 422


def test_bad_bodies_are_problems_with_fields(api: Api, make: Factory) -> None:
    customer = make.customer()
    unknown = _file(api, customer, colour="red")
    assert unknown.status_code == 422
    assert unknown.content_type == "application/problem+json"
    assert any(e["field"] == "colour" for e in unknown.json["errors"])
    wrong_type = _file(api, customer, impact=5)
    assert wrong_type.status_code == 422
    long_subject = _file(api, customer, subject="x" * 201)
    assert [e["field"] for e in long_subject.json["errors"]] == ["subject"]
    no_customer = api.post("/api/v1/tickets", json={"subject": "a", "description": "b"})
    assert no_customer.status_code == 422
    stranger = _file(api, customer, customer_id=999999)
    assert stranger.status_code == 422
    not_json = api.client.post(
        "/api/v1/tickets", data="subject=a", headers=api.headers({"Content-Type": "text/plain"})
    )
    assert not_json.status_code == 415
    broken = api.client.post(
        "/api/v1/tickets", data="{", headers=api.headers({"Content-Type": "application/json"})
    )
    assert broken.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_oversize_bodies_are_refused(api: Api, make: Factory) -> None:
    response = _file(api, make.customer(), description="x" * (1024 * 1024 + 10))
    assert response.status_code == 413
    assert response.content_type == "application/problem+json"


def test_read_a_ticket_with_its_timeline(api: Api, make: Factory, client) -> None:
    ticket = make.ticket()
    api.post(f"/api/v1/tickets/{ticket.ref}/notes", json={"body": "Checked the ledger."})
    response = api.get(f"/api/v1/tickets/{ticket.ref}")
    assert response.status_code == 200
    kinds = [e["kind"] for e in response.json["events"]]
    assert "created" in kinds and "note" in kinds
    assert response.headers["ETag"] == f'"{response.json["version"]}"'
    assert api.get("/api/v1/tickets/SUP-NOPE00").status_code == 404


def test_reply_note_and_if_match(api: Api, make: Factory) -> None:
    ticket = make.ticket()
    etag = api.get(f"/api/v1/tickets/{ticket.ref}").headers["ETag"]
    reply = api.post(
        f"/api/v1/tickets/{ticket.ref}/replies",
        json={"body": "We are on it."},
        headers={"If-Match": etag},
    )
    assert reply.status_code == 201, reply.json
    assert reply.json["public"] is True and reply.json["author"]["name"] == "Alex Agent"
    stale = api.post(
        f"/api/v1/tickets/{ticket.ref}/replies", json={"body": "Again"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.headers["ETag"] == reply.headers["ETag"]
    db.session.refresh(ticket)
    assert ticket.status == Status.OPEN  # the first reply opened it, as in the panel


def test_change_fields_in_one_patch(api: Api, make: Factory) -> None:
    ticket = make.ticket()
    other = make.agent()
    version = api.get(f"/api/v1/tickets/{ticket.ref}").json["version"]
    response = api.patch(
        f"/api/v1/tickets/{ticket.ref}",
        json={
            "priority": "high",
            "assignee": other.id,
            "tags": ["Refund", "vip"],
            "status": "open",
        },
        headers={"If-Match": f'"{version}"'},
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["priority"] == "high"
    assert body["assignee"]["id"] == other.id
    assert body["tags"] == ["refund", "vip"]
    tagged = api.get("/api/v1/tickets?tag=VIP").json["items"]
    assert [t["ref"] for t in tagged] == [ticket.ref]
    assert api.get("/api/v1/tickets?tag=nothing-here").json["items"] == []
    assert body["status"] == "open"
    stale = api.patch(
        f"/api/v1/tickets/{ticket.ref}",
        json={"priority": "low"},
        headers={"If-Match": f'"{version}"'},
    )
    assert stale.status_code == 412


def test_a_refused_field_changes_nothing(api: Api, make: Factory) -> None:
    ticket = make.ticket()
    before = ticket.version
    response = api.patch(
        f"/api/v1/tickets/{ticket.ref}",
        json={"priority": "high", "team": 999999, "status": "closed"},
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json["errors"]}
    assert fields == {"team", "status"}
    db.session.refresh(ticket)
    assert ticket.version == before and ticket.priority.value != "high"


def test_list_filters_and_cursor(api: Api, make: Factory) -> None:
    customer = make.customer()
    tickets = [make.ticket(customer, subject=f"Question {n}") for n in range(5)]
    first = api.get("/api/v1/tickets?limit=2")
    assert [t["ref"] for t in first.json["items"]] == [tickets[4].ref, tickets[3].ref]
    second = api.get(f"/api/v1/tickets?limit=2&cursor={first.json['next_cursor']}")
    assert [t["ref"] for t in second.json["items"]] == [tickets[2].ref, tickets[1].ref]
    last = api.get(f"/api/v1/tickets?limit=2&cursor={second.json['next_cursor']}")
    assert [t["ref"] for t in last.json["items"]] == [tickets[0].ref]
    assert last.json["next_cursor"] is None
    assert api.get("/api/v1/tickets?cursor=nonsense").status_code == 422
    assert api.get("/api/v1/tickets?team=99999999999999999999").status_code == 422
    found = api.get("/api/v1/tickets?q=Question 3")
    assert [t["ref"] for t in found.json["items"]] == [tickets[3].ref]
    assert api.get("/api/v1/tickets?status=new").json["items"]
    assert api.get("/api/v1/tickets?status=closed").json["items"] == []
    assert api.get("/api/v1/tickets?colour=red").status_code == 422


def test_list_costs_the_same_queries_for_more_tickets(
    api: Api, make: Factory, count_queries
) -> None:
    customer = make.customer()
    make.ticket(customer)
    api.get("/api/v1/me")  # the token's last use is recorded once a minute: not in the count
    with count_queries() as few:
        api.get("/api/v1/tickets")
    for n in range(6):
        make.ticket(make.customer(), subject=f"Another {n}")
    with count_queries() as many:
        api.get("/api/v1/tickets")
    assert many.count == few.count <= 5


def test_tokens_are_checked(client, make: Factory, agent) -> None:
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer sd_wrong"}).status_code == 401
    reader = api_for(client, agent, TokenScope.READ)
    assert reader.get("/api/v1/me").json["token"]["scope"] == "read"
    ticket = make.ticket()
    refused = reader.post(f"/api/v1/tickets/{ticket.ref}/notes", json={"body": "x"})
    assert refused.status_code == 403
    writer = api_for(client, agent)
    agent.is_active = False
    db.session.commit()
    assert writer.get("/api/v1/me").status_code == 401


def test_session_cookies_do_not_authenticate(client, auth, make: Factory) -> None:
    agent = make.agent()
    auth.login(agent)
    assert client.get("/api/v1/me").status_code == 401


def test_errors_everywhere_under_api_are_problems(api: Api) -> None:
    unknown = api.get("/api/v1/nothing-here")
    assert unknown.status_code == 404
    assert unknown.content_type == "application/problem+json"
    wrong_method = api.client.delete("/api/v1/tickets", headers=api.headers(None))
    assert wrong_method.status_code == 405
    assert wrong_method.content_type == "application/problem+json"


def test_only_the_api_skips_csrf() -> None:
    """The API takes bearer tokens and never the session cookie; every page still checks.
    (`mailhook`, POST /inbound/email, is a provider's HMAC-signed request: no cookie.)"""
    from support.extensions import csrf

    assert {blueprint.name for blueprint in csrf._exempt_blueprints} == {"api", "mailhook"}


def test_a_nul_character_is_refused_before_the_database(api: Api, make: Factory) -> None:
    """PostgreSQL can't store one; every engine answers the same clear 400."""
    response = api.post("/api/v1/customers", json={"email": "n@example.com", "name": "A\u0000B"})
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert "NUL" in response.json["detail"]
    assert api.get("/api/v1/tickets?q=a%00b").status_code == 400
