"""The queue's search box and bulk actions, through the web."""

from __future__ import annotations

import pytest

from support.extensions import db
from support.models import EventKind, Priority, Status, Ticket, TicketEvent
from support.queue import queries
from support.tickets import service
from tests.board.conftest import HX, said, words


def pick(*tickets: Ticket) -> list[str]:
    return [f"{t.ref}:{t.version}" for t in tickets]


def fresh(ticket: Ticket) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


# --- search ------------------------------------------------------------------------------


def test_search_finds_a_phrase_from_a_reply_with_a_marked_snippet(client, as_agent, make) -> None:
    wanted = make.ticket(subject="Order question")
    service.reply(
        wanted, author=as_agent, body="The <courier> lost your parcel in Rotterdam.", public=True
    )
    make.ticket(subject="Other question")
    response = client.get("/queue", query_string={"q": "parcel rotterdam"})
    html = response.get_data(as_text=True)
    assert wanted.ref in html and "Other question" not in html
    assert "<mark>Rotterdam</mark>" in html or "<mark>parcel</mark>" in html
    assert "<courier>" not in html


def test_internal_notes_are_searched_for_agents(client, as_agent, make) -> None:
    ticket = make.ticket(subject="Plain subject")
    service.reply(ticket, author=as_agent, body="Suspected fraud ring", public=False)
    assert ticket.ref in words(client.get("/queue?q=fraud"))


@pytest.mark.parametrize(
    "typed",
    [
        '"',
        '"unbalanced',
        "-",
        "a -b",
        "*",
        "pre*",
        "(",
        "((a)",
        "NOT",
        "a OR",
        "\\",
        "²",
        "x" * 500,
    ],
)
def test_search_syntax_is_never_an_error(client, as_agent, make, typed: str) -> None:
    make.ticket(subject="Something")
    response = client.get("/queue", query_string={"q": typed})
    assert response.status_code == 200
    assert client.get("/queue", query_string={"q": typed}, headers=HX).status_code == 200


def test_search_with_the_filters_and_a_helpful_empty_state(client, as_agent, make) -> None:
    ticket = make.ticket(subject="Blender smoking")
    service.update_fields(ticket, actor=as_agent, priority=Priority.HIGH)
    assert ticket.ref in words(client.get("/queue?q=blender&priority=high"))
    text = words(client.get("/queue?q=blender&priority=low"))
    assert ticket.ref not in text and "Nothing was said about “blender”" in text
    service.change_status(ticket, Status.RESOLVED, actor=as_agent)
    assert ticket.ref not in words(client.get("/queue?q=blender"))
    assert ticket.ref in words(client.get("/queue?q=blender&status=all"))


# --- bulk actions -------------------------------------------------------------------------


def test_bulk_assign_changes_each_ticket_through_the_service(
    client, as_agent, make, colleague
) -> None:
    tickets = [make.ticket(subject=f"Bulk {n}") for n in range(3)]
    response = client.post(
        "/queue/bulk",
        data={"action": "assign", "assignee": str(colleague.id), "ticket": pick(*tickets)},
        headers=HX,
    )
    assert response.status_code == 200
    assert "Assign to Sam Senior: 3 changed" in words(response)
    for ticket in tickets:
        ticket = fresh(ticket)
        assert ticket.assignee_id == colleague.id
        events = db.session.query(TicketEvent).filter_by(
            ticket_id=ticket.id, kind=EventKind.ASSIGNED
        )
        assert events.count() == 1 and events.one().actor_id == as_agent.id


def test_a_second_submit_changes_nothing_and_says_so(client, as_agent, make, colleague) -> None:
    tickets = [make.ticket() for _ in range(2)]
    form = {"action": "assign", "assignee": str(colleague.id), "ticket": pick(*tickets)}
    client.post("/queue/bulk", data=form)
    again = client.post("/queue/bulk", data=form)
    assert again.status_code == 200
    assert "0 changed, 2 already so" in words(again)
    assert db.session.query(TicketEvent).filter_by(kind=EventKind.ASSIGNED).count() == 2


def test_refusals_are_reported_and_the_rest_done(client, as_agent, make, colleague) -> None:
    ok, stale, closed = (
        make.ticket(subject="Fine"),
        make.ticket(subject="Stale"),
        make.ticket(subject="Gone"),
    )
    seen = pick(ok, stale, closed)
    service.change_status(closed, Status.RESOLVED, actor=as_agent)
    service.change_status(closed, Status.CLOSED, actor=as_agent)
    service.update_fields(stale, actor=colleague, priority=Priority.LOW)  # someone else, meanwhile
    seen[2] = f"{closed.ref}:{fresh(closed).version}"
    response = client.post(
        "/queue/bulk",
        data={
            "action": "priority",
            "priority": "urgent",
            "ticket": [*seen, "SUP-ZZZZZ2", "garbage"],
        },
    )
    text = words(response)
    assert response.status_code == 200
    assert "Set priority to Urgent: 1 changed, 3 not changed" in text
    assert f"{stale.ref} Stale — Not changed: {stale.ref} was just changed by Sam Senior" in text
    assert f"{closed.ref} Gone — {closed.ref} is closed" in text
    assert "SUP-ZZZZZ2" in text and "There is no such ticket." in text
    assert fresh(ok).priority == Priority.URGENT
    assert fresh(stale).priority == Priority.LOW  # not overwritten


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"action": "assign", "assignee": "99999"}, "Choose an active agent."),
        ({"action": "status", "status": "deleted"}, "Choose a status."),
        ({"action": "priority", "priority": "²"}, "Choose a priority."),
        ({"action": "team", "team": "99999999999999999999"}, "Choose a team."),
        ({"action": "tag", "tag": "<script>alert(1)</script>"}, "isn't a tag"),
        ({"action": "tag", "tag": "x" * 200}, "at most 40 characters"),
        ({"action": "explode"}, "Choose what to do."),
        ({}, "Choose what to do."),
    ],
)
def test_bad_bulk_values_change_nothing(client, as_agent, make, form, error) -> None:
    ticket = make.ticket()
    version = ticket.version
    response = client.post("/queue/bulk", data={**form, "ticket": pick(ticket)})
    assert response.status_code == 422
    assert error in said(response)
    assert "<script>alert" not in response.get_data(as_text=True)
    assert fresh(ticket).version == version


def test_nothing_selected_is_a_clear_422(client, as_agent, make) -> None:
    make.ticket()
    response = client.post("/queue/bulk", data={"action": "priority", "priority": "high"})
    assert response.status_code == 422 and "Select at least one ticket first." in said(response)


def test_bulk_status_team_and_tag(client, as_agent, make, teams) -> None:
    care, _ = teams
    first, second = make.ticket(), make.ticket()
    service.set_tags(second, ["vip"], actor=as_agent)
    client.post(
        "/queue/bulk", data={"action": "status", "status": "on_hold", "ticket": pick(first, second)}
    )
    client.post(
        "/queue/bulk",
        data={"action": "team", "team": str(care.id), "ticket": pick(fresh(first), fresh(second))},
    )
    response = client.post(
        "/queue/bulk",
        data={"action": "tag", "tag": " Refund ", "ticket": pick(fresh(first), fresh(second))},
    )
    assert "Tag “refund”: 2 changed" in words(response)
    for ticket in (fresh(first), fresh(second)):
        assert ticket.status == Status.ON_HOLD and ticket.team_id == care.id
        assert "refund" in [tag.name for tag in ticket.tags]
    assert sorted(tag.name for tag in fresh(second).tags) == ["refund", "vip"]
    response = client.post(
        "/queue/bulk", data={"action": "status", "status": "new", "ticket": pick(fresh(first))}
    )
    assert "can't go from on hold to new" in words(response)


def test_bulk_and_saving_views_need_csrf(app, client, auth, make) -> None:
    agent = make.agent()
    auth.login(agent)
    ticket = make.ticket()
    app.config["WTF_CSRF_ENABLED"] = True
    form = {"action": "priority", "priority": "high", "ticket": pick(ticket)}
    assert client.post("/queue/bulk", data=form).status_code == 400
    assert client.post("/queue/views", data={"name": "Mine"}).status_code == 400
    assert fresh(ticket).priority != Priority.HIGH


def test_a_broad_search_counts_up_to_a_cap(client, as_agent, make, monkeypatch) -> None:
    monkeypatch.setattr(queries, "SEARCH_COUNT_MAX", 3)
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    for n in range(5):
        make.ticket(subject=f"Kettle leaking {n}")
    text = words(client.get("/queue?q=kettle"))
    assert "1–2 of 3+ tickets matching “kettle”" in text and "Page 1 of 2" in text
    assert "add a word or a filter to narrow the search" in text
    assert "1–2 of 5 tickets" in words(client.get("/queue?status=all"))
