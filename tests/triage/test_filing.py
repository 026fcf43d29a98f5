"""Triage on filing, through the real ticket service and database."""

from __future__ import annotations

from sqlalchemy import func, select

from support.extensions import db
from support.models import (
    CategoryCorrection,
    EventKind,
    Impact,
    Notification,
    Priority,
    Skill,
    Status,
    TicketEvent,
)
from support.tickets import service
from support.triage import priority, routing, suggest


def events(ticket, kind):
    return list(
        db.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == kind)
        )
    )


def not_sure_about_a_payment(make):
    return make.ticket(
        subject="Charged twice",
        description="My card statement shows two identical payments for one order.",
        category=None,
    )


def test_not_sure_gets_a_suggested_category_with_its_confidence(make, teams) -> None:
    payments = teams.team("Payments & Trust", "payments")
    (sam,) = teams.agents(payments, 1, name="Sam Agent")
    ticket = not_sure_about_a_payment(make)
    assert ticket.category.slug == "payments"
    (suggested,) = events(ticket, EventKind.CATEGORY_SUGGESTED)
    assert not suggested.is_public
    assert suggested.data["reason"].startswith("suggested: Payments (confidence 0.")
    # …and the suggested category's team routes it.
    assert ticket.team_id == payments.id
    assert ticket.assignee_id == sam.id
    (routed,) = events(ticket, EventKind.ROUTED)
    assert routed.data["reason"] == (
        "routed to Payments & Trust: category Payments; least loaded: Sam Agent, 0 open"
    )


def test_unclear_text_stays_uncategorised(make) -> None:
    ticket = make.ticket(
        subject="Hallo", description="Ich brauche Hilfe mit meinem Konto bitte.", category=None
    )
    assert ticket.category is None
    (suggested,) = events(ticket, EventKind.CATEGORY_SUGGESTED)
    assert suggested.data["to"] is None
    assert suggested.data["reason"].startswith("not sure")
    (routed,) = events(ticket, EventKind.ROUTED)
    assert ticket.assignee_id is None
    assert "unassigned" in routed.data["reason"]


def test_a_chosen_category_is_not_second_guessed(make) -> None:
    ticket = make.ticket(
        subject="Where is my parcel",
        description="Tracking has not moved.",
        category=make.category("payments"),
    )
    assert ticket.category.slug == "payments"
    assert events(ticket, EventKind.CATEGORY_SUGGESTED) == []


def test_the_timeline_shows_the_decisions_to_agents_only(make, client, auth, teams) -> None:
    team = teams.team("Payments & Trust", "payments")
    teams.agents(team, 1, name="Sam Agent")
    customer = make.customer()
    ticket = make.ticket(
        customer, subject="Double charged", description="charged twice", category=None
    )
    auth.login(make.agent())
    page = client.get(f"/board/tickets/{ticket.ref}").get_data(as_text=True)
    assert "suggested the category Payments" in page
    assert "routed the request to Sam Agent" in page
    assert "Why: rule “Money taken wrongly”" in page
    auth.logout()
    auth.login(customer)
    page = client.get(f"/tickets/{ticket.ref}").get_data(as_text=True)
    assert "suggested the category" not in page and "Why:" not in page


def test_priority_rules_raise_on_urgent_signals(make) -> None:
    plain = make.ticket(subject="Question", description="How do I add a photo?")
    assert plain.priority == Priority.NORMAL
    twice = make.ticket(subject="Charged twice!", description="Two payments for one order.")
    assert twice.priority == Priority.HIGH
    hacked = make.ticket(subject="Help", description="My account hacked last night.")
    assert hacked.priority == Priority.URGENT
    many = make.ticket(subject="Checkout", description="It fails.", impact=Impact.MANY_USERS)
    assert many.priority == Priority.URGENT
    (event,) = events(hacked, EventKind.PRIORITY_SET)
    assert "Account taken over" in event.data["reason"]
    assert "wins over “Just me” (Normal)" in event.data["reason"]


def test_contradicting_rules_the_highest_priority_wins_and_says_why() -> None:
    rules = [
        priority.Rule("Lower it", Priority.LOW, None, ("outage",), 1),
        priority.Rule("Raise it", Priority.URGENT, None, ("outage",), 2),
        priority.Rule("Also urgent", Priority.URGENT, None, ("outage",), 3),
    ]
    decision = priority.decide("Outage", "the site is down", Impact.JUST_ME, rules)
    assert decision.priority == Priority.URGENT
    assert decision.winner.rule.name == "Raise it"  # the earlier of two equals
    assert "wins over “Lower it” (Low), “Also urgent” (Urgent)" in decision.reason


def test_priority_set_by_an_agent_is_never_lowered_by_rules(make) -> None:
    agent = make.agent()
    ticket = make.ticket(subject="Charged twice", description="two payments for one order")
    assert ticket.priority == Priority.HIGH
    service.update_fields(ticket, actor=agent, priority=Priority.LOW)
    # Rules run when a ticket is filed, never again: urgent words later change nothing.
    service.reply(ticket, author=ticket.customer, body="Now my account hacked too, outage!")
    db.session.refresh(ticket)
    assert ticket.priority == Priority.LOW


def test_least_loaded_then_least_recently_assigned(make, teams) -> None:
    team = teams.team("Shipping crew", "shipping")
    ann, bob = teams.agents(team, 2)
    shipping = make.category("shipping")
    first = make.ticket(category=shipping)
    second = make.ticket(category=shipping)
    third = make.ticket(category=shipping)
    assert [first.assignee_id, second.assignee_id, third.assignee_id] == [ann.id, bob.id, ann.id]
    service.change_status(first, Status.RESOLVED, actor=ann)  # Ann: 1 open, Bob: 1 open
    fourth = make.ticket(category=shipping)
    assert fourth.assignee_id == bob.id  # equals: Bob was assigned least recently


def test_unavailable_full_and_higher_tier_agents_are_skipped(make, teams) -> None:
    team = teams.team("Shipping crew", "shipping")
    away, full, senior, free = teams.agents(team, 4)
    away.is_available = False
    full.max_open = 0
    senior.tier = 2
    db.session.commit()
    ticket = make.ticket(category=make.category("shipping"))
    assert ticket.assignee_id == free.id


def test_nobody_qualifying_leaves_it_unassigned_and_tells_the_team(make, teams, client, auth):
    team = teams.team("Shipping crew", "shipping")
    agents = teams.agents(team, 2)
    for agent in agents:
        agent.is_available = False
    db.session.commit()
    ticket = make.ticket(category=make.category("shipping"))
    assert ticket.assignee_id is None and ticket.team_id == team.id
    (routed,) = events(ticket, EventKind.ROUTED)
    assert "no available tier-1 agent" in routed.data["reason"]
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.ticket_id == ticket.id)
    )
    assert set(told) == {a.id for a in agents}
    auth.login(agents[0])
    board = client.get("/board?unassigned=1").get_data(as_text=True)
    assert ticket.ref in board


def test_a_deleted_category_is_not_suggested(make) -> None:
    payments = make.category("payments")
    payments.is_active = False
    db.session.commit()
    ticket = make.ticket(
        subject="Charged twice", description="two payments on my card", category=None
    )
    assert ticket.category is None
    (suggested,) = events(ticket, EventKind.CATEGORY_SUGGESTED)
    assert "no longer exists" in suggested.data["reason"]


def test_agents_corrections_are_kept_and_learned_from(make) -> None:
    agent = make.agent()
    text = "zorblax gizmo thingamajig broken"
    ticket = make.ticket(subject="zorblax gizmo", description=text, category=None)
    assert ticket.category is None
    service.update_fields(ticket, actor=agent, category=make.category("listings"))
    (correction,) = db.session.scalars(select(CategoryCorrection))
    assert (correction.category, correction.suggested) == ("listings", None)
    # A category changed on a ticket that had no suggestion is not a correction.
    other = make.ticket()
    service.update_fields(other, actor=agent, category=make.category("orders"))
    assert db.session.scalar(select(func.count(CategoryCorrection.id))) == 1
    for _ in range(3):
        again = make.ticket(subject="zorblax gizmo", description=text, category=None)
        service.update_fields(again, actor=agent, category=make.category("listings"))
    learned = make.ticket(subject="zorblax gizmo", description=text, category=None)
    assert learned.category is not None and learned.category.slug == "listings"
    suggest.forget()


def test_only_the_latest_correction_of_a_ticket_is_kept(make) -> None:
    agent = make.agent()
    ticket = not_sure_about_a_payment(make)
    assert ticket.category.slug == "payments"  # the suggestion

    def corrections() -> list[tuple[str, str | None]]:
        rows = db.session.execute(select(CategoryCorrection.category, CategoryCorrection.suggested))
        return [tuple(row) for row in rows]

    for slug in ("refunds", "orders"):
        version = ticket.version
        service.update_fields(ticket, actor=agent, category=make.category(slug))
        assert ticket.version == version + 1  # one change, one version
        assert corrections() == [(slug, "payments")]  # replaced, not added
    # A → B → A: back to the suggestion, so the suggestion was right; nothing to learn.
    service.update_fields(ticket, actor=agent, category=make.category("payments"))
    assert corrections() == []
    service.update_fields(ticket, actor=agent, category=make.category("shipping"))
    service.update_fields(ticket, actor=agent, category=None)  # no category: no label either
    assert corrections() == []
    service.update_fields(ticket, actor=agent, category=make.category("refunds"))
    assert corrections() == [("refunds", "payments")]
    suggest.forget()


def test_routing_preview_changes_nothing(make, teams) -> None:
    team = teams.team("Shipping crew", "shipping")
    teams.agents(team, 1)
    before = db.session.scalar(select(func.count(TicketEvent.id)))
    route = routing.route(make.category("shipping"))
    assert route.agent is not None
    assert db.session.scalar(select(func.count(TicketEvent.id))) == before


def test_a_category_that_needs_a_skill_goes_only_to_agents_with_it(make, teams) -> None:
    team = teams.team("Payments & Trust", "refunds")
    disputes = Skill(name="Chargebacks")
    refunds = make.category("refunds")
    refunds.skill = disputes
    plain, skilled = teams.agents(team, 2)
    skilled.skills.append(disputes)
    db.session.commit()
    tickets = [make.ticket(category=refunds) for _ in range(3)]
    assert {t.assignee_id for t in tickets} == {skilled.id}  # though `plain` has fewer open
    (routed, *_) = events(tickets[0], EventKind.ROUTED)
    assert "needs Chargebacks" in routed.data["reason"]
    assert plain.id not in {t.assignee_id for t in tickets}


def test_nobody_with_the_skill_leaves_the_ticket_waiting_and_says_so(make, teams) -> None:
    team = teams.team("Payments & Trust", "refunds")
    teams.agents(team, 2)
    refunds = make.category("refunds")
    refunds.skill = Skill(name="Chargebacks")
    db.session.commit()
    ticket = make.ticket(category=refunds)
    assert ticket.assignee is None and ticket.team_id == team.id
    (routed,) = events(ticket, EventKind.ROUTED)
    assert "no available tier-1 agent with the skill Chargebacks" in routed.data["reason"]


def test_only_agents_of_the_tickets_tier_are_routed_to(make, teams) -> None:
    team = teams.team("Shipping crew", "shipping")
    (senior,) = teams.agents(team, 1, tier=2)
    (junior,) = teams.agents(team, 1, tier=1)
    shipping = make.category("shipping")
    assert routing.route(shipping).agent == junior
    assert routing.route(shipping, tier=2).agent == senior


def test_agents_see_the_suggestion_next_to_the_category_they_can_correct(
    make, teams, client, auth
) -> None:
    payments = teams.team("Payments & Trust", "payments")
    (sam,) = teams.agents(payments, 1, name="Sam Agent")
    ticket = not_sure_about_a_payment(make)
    auth.login(sam)
    page = client.get(f"/board/tickets/{ticket.ref}").text
    assert "Suggested from the customer's words:" in page
    assert "<strong>Payments</strong> (confidence 0." in page
    assert "the suggester learns from your correction" in page
