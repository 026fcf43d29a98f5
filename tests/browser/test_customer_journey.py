"""The customer's whole journey in a real browser, with CSRF on, as people use it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Page, Route, expect
from sqlalchemy import select

from support.extensions import db
from support.models import Status, Ticket, User
from support.tickets import service
from tests.browser.test_board import log_in
from tests.factories import Factory


def test_register_file_follow_reply_resolve_and_rate(page: Page, live_server, tmp_path) -> None:
    base = live_server.url

    # Register.
    page.goto(f"{base}/register")
    page.get_by_label("Your name").fill("Robin Buyer")
    page.get_by_label("Email").fill("robin@example.com")
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_label("Repeat password").fill("correct horse battery")
    page.locator("main").get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    # Log in before confirming the address (tests/browser/test_account.py confirms it).
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill("robin@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/tickets/")

    # File a ticket with an attachment.
    log = tmp_path / "checkout.log"
    log.write_text("12:01 payment authorised\n12:01 payment authorised\n")
    page.goto(f"{base}/tickets/new")
    page.get_by_label("Subject").fill("Charged twice for my order 🙁")
    page.get_by_label("What happened?").fill("My card shows two charges for order 4821.")
    page.get_by_label("Topic").select_option("payments")
    page.locator("input[type=file]").set_input_files(str(log))
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", name="We've got your request")).to_be_visible()
    ref = page.locator(".big-ref").inner_text()
    assert re.fullmatch(r"SUP-[2-9A-Z]{6}", ref)
    expect(page.get_by_text("We aim to reply by")).to_be_visible()

    # The timeline shows the request and its attachment.
    page.get_by_role("button", name="Follow your request").click()
    expect(page.locator(".timeline")).to_contain_text("My card shows two charges")
    expect(page.get_by_role("link", name=re.compile("checkout.log"))).to_be_visible()
    # A mark on this very page: a reload (or a navigation) from here on would wipe it.
    page.evaluate("window.sameTicketPage = true")

    # An agent replies and moves the ticket (through the service): it appears without reload.
    with live_server.app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.ref == ref))
        agent = Factory().agent(name="Alex Agent")
        service.reply(ticket, author=agent, body="Sorry about that! Refunding the duplicate now.")
        service.reply(ticket, author=agent, body="Internal: refund id 998", public=False)
        service.change_status(ticket, Status.PENDING, actor=agent)
        db.session.remove()
    expect(page.locator(".timeline")).to_contain_text("Refunding the duplicate", timeout=8000)
    expect(page.locator(".ticket-summary")).to_contain_text("Waiting for you", timeout=8000)
    expect(page.locator(".timeline")).not_to_contain_text("refund id 998")
    assert page.evaluate("window.sameTicketPage === true"), "the news came by a reload"

    # The customer replies in place (htmx): the form clears, the reply appears once.
    page.get_by_label("Your reply").fill("Thanks, I can see the refund pending.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".timeline .event-reply.from-customer")).to_have_count(1)
    expect(page.get_by_label("Your reply")).to_have_value("")
    expect(page.locator(".ticket-summary")).to_contain_text("Open")

    # Resolve, then rate.
    page.get_by_role("button", name="My problem is solved").click()
    expect(page.locator(".ticket-summary")).to_contain_text("Resolved")
    page.get_by_label("5 — Excellent").check()
    page.get_by_label("Anything you'd like to add? (optional)").fill("Fast and kind.")
    page.get_by_role("button", name="Send rating").click()
    expect(page.locator(".ticket-summary")).to_contain_text("Your rating")
    expect(page.locator(".timeline")).to_contain_text("rated the support 5/5", timeout=8000)
    assert page.evaluate("window.sameTicketPage === true"), "reply, resolve and rate swap in place"

    # My tickets lists it as resolved.
    page.get_by_role("link", name="My tickets").first.click()
    expect(page.locator(".ticket-list")).to_contain_text(ref)
    expect(page.locator(".ticket-list")).to_contain_text("Resolved")


@dataclass
class ResolvedTicket:
    ref: str
    ticket_id: int
    agent_id: int


def open_resolved_ticket(page: Page, live_server) -> ResolvedTicket:
    """A customer's resolved ticket, open in their browser: its rating form shows."""
    with live_server.app.app_context():
        make = Factory()
        customer = make.customer(name="Robin Buyer")
        agent = make.agent(name="Alex Agent")
        ticket = make.ticket(customer, subject="Parcel never arrived")
        service.reply(ticket, author=agent, body="The carrier found it.")
        service.change_status(ticket, Status.RESOLVED, actor=agent)
        opened = ResolvedTicket(ticket.ref, ticket.id, agent.id)
        email = customer.email
        db.session.remove()
    log_in(page, live_server.url, email)
    page.goto(f"{live_server.url}/tickets/{opened.ref}")
    return opened


def agent_writes_again(page: Page, live_server, opened: ResolvedTicket) -> None:
    """News on the ticket, seen on the customer's timeline (the summary then refreshes)."""
    with live_server.app.app_context():
        service.reply(
            db.session.get(Ticket, opened.ticket_id),
            author=db.session.get(User, opened.agent_id),
            body="PS: the refund for shipping is on its way.",
        )
        db.session.remove()
    expect(page.locator(".timeline")).to_contain_text("refund for shipping", timeout=8000)


def start_rating(page: Page) -> None:
    page.get_by_label("4 — Good").check()
    page.get_by_label("Anything you'd like to add? (optional)").fill("Quick, thanks.")


def rating_kept_and_sent(page: Page) -> None:
    expect(page.get_by_label("4 — Good")).to_be_checked()
    expect(page.get_by_label("Anything you'd like to add? (optional)")).to_have_value(
        "Quick, thanks."
    )
    page.get_by_role("button", name="Send rating").click()
    expect(page.locator(".ticket-summary")).to_contain_text("Your rating")


def test_news_never_wipes_a_rating_being_written(page: Page, live_server) -> None:
    """The summary refreshes itself when the timeline brings news; a rating the customer
    has started stays as typed until they send it."""
    opened = open_resolved_ticket(page, live_server)
    start_rating(page)
    agent_writes_again(page, live_server, opened)
    page.wait_for_timeout(1500)  # time for the summary's own refresh to have come
    rating_kept_and_sent(page)


def test_a_refresh_answered_after_the_customer_started_never_wipes_their_rating(
    page: Page, live_server
) -> None:
    """The race behind a flaky journey: the summary's refresh leaves before the customer
    touches the rating form and its answer lands after. The answer is dropped, not
    swapped over what they chose (the next news refreshes the summary again)."""
    opened = open_resolved_ticket(page, live_server)
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)  # the refresh waits for the test

    summary = re.compile(r"/summary$")
    page.route(summary, hold)
    agent_writes_again(page, live_server, opened)
    for _ in range(80):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the summary never asked for its refresh"
    start_rating(page)  # while the refresh is on its way
    held[0].continue_()
    page.unroute(summary)
    page.wait_for_load_state("networkidle")
    rating_kept_and_sent(page)
