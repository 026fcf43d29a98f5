"""An agent works a ticket on the board in a real browser; the customer sees it happen."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from support.extensions import db
from support.models import Impact, Status, Ticket
from support.tickets import service
from tests.browser.conftest import LiveServer, serving
from tests.conftest import make_app
from tests.factories import PASSWORD, Factory


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def drag(page: Page, ref: str, status: str) -> None:
    """Drag a card into a column with real mouse moves (Sortable's fallback mode)."""
    # A board refresh may be swapping the cards in: wait until no htmx request is in
    # flight (its answer would replace the card under the mouse), then until both are laid out.
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping')")
    expect(page.locator(f"#card-{ref} .card-who")).to_be_visible()
    expect(page.locator(f'ol.cards[data-status="{status}"]')).to_be_visible()
    card = page.locator(f"#card-{ref} .card-who").bounding_box()
    column = page.locator(f'ol.cards[data-status="{status}"]').bounding_box()
    page.mouse.move(card["x"] + card["width"] / 2, card["y"] + card["height"] / 2)
    page.mouse.down()
    page.mouse.move(card["x"] + 30, card["y"] + 20, steps=5)
    page.mouse.move(column["x"] + column["width"] / 2, column["y"] + 20, steps=15)
    page.mouse.up()


def column(page: Page, status: str):
    return page.locator(f'#board ol.cards[data-status="{status}"]')


def test_agent_drags_replies_and_resolves(page: Page, browser: Browser, live_server) -> None:
    base = live_server.url
    with live_server.app.app_context():
        make = Factory()
        agent = make.agent(name="Alex Agent")
        customer = make.customer(name="Casey Customer")
        ticket = make.ticket(customer=customer, subject="Charged twice for order 4821")
        ref, agent_email, customer_email = ticket.ref, agent.email, customer.email
        db.session.remove()

    # The agent lands on the board; the new ticket waits in New.
    log_in(page, base, agent_email)
    expect(page).to_have_url(f"{base}/board")
    expect(column(page, "new").locator(f"#card-{ref}")).to_be_visible()

    # Drag it to Open.
    drag(page, ref, "open")
    expect(column(page, "open").locator(f"#card-{ref}")).to_be_visible()
    expect(page.locator("#col-open + .column-count")).to_have_text("1")

    # Resolving before anyone answered the customer is refused: the card snaps back.
    drag(page, ref, "resolved")
    expect(page.locator("#toasts")).to_contain_text("reply to the customer")
    expect(column(page, "open").locator(f"#card-{ref}")).to_be_visible()
    expect(column(page, "resolved").locator(f"#card-{ref}")).to_have_count(0)

    # Open the card: the panel slides over the board; reply from it.
    page.locator(f"#card-{ref} .card-title").click()
    panel = page.locator("#panel-host .ticket-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading", name="Charged twice for order 4821")).to_be_visible()
    panel.get_by_label("Message").fill("Sorry about that! The duplicate charge is refunded.")
    # A suggested article goes into the reply at the cursor, after what was typed.
    suggestion = panel.locator(".kb-suggestion", has_text="Charged twice")
    suggestion.get_by_role("button", name="Insert link").click()
    article = f"{base}/kb/charged-twice"
    typed = re.escape("Sorry about that! The duplicate charge is refunded.")
    expect(panel.get_by_label("Message")).to_have_value(
        re.compile(f"^{typed}\n.+: {re.escape(article)}$")
    )
    expect(page.locator("#toasts")).to_contain_text("Link inserted into your reply.")
    panel.get_by_role("button", name="Send reply").click()
    expect(panel.locator(".timeline")).to_contain_text("The duplicate charge is refunded.")
    expect(panel.locator(".timeline")).to_contain_text(article)
    expect(panel).to_contain_text("Reply sent to the customer.")
    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)

    # Now it may be resolved.
    drag(page, ref, "resolved")
    expect(column(page, "resolved").locator(f"#card-{ref}")).to_be_visible()
    expect(column(page, "open").locator(f"#card-{ref}")).to_have_count(0)

    # The customer, in their own browser, sees the reply and both status changes.
    context = browser.new_context()
    try:
        customer_page = context.new_page()
        log_in(customer_page, base, customer_email)
        customer_page.goto(f"{base}/tickets/{ref}")
        timeline = customer_page.locator(".timeline")
        expect(timeline).to_contain_text("The duplicate charge is refunded.")
        changes = timeline.locator(".event-status_changed .event-what")
        expect(changes).to_have_count(2)
        expect(changes.nth(0)).to_contain_text("is working on the request")
        expect(changes.nth(1)).to_contain_text("marked the request as resolved")
    finally:
        context.close()


# --- the board's own behaviour: history, refused drags, polling during a drag ----------


@pytest.fixture
def board_server(tmp_path, redis_url) -> Iterator[Callable[..., LiveServer]]:
    """Start a live server with settings of the test's choosing (the poll interval)."""
    with ExitStack() as servers:

        def start(**config) -> LiveServer:
            app = make_app(tmp_path, redis_url, WTF_CSRF_ENABLED=True, **config)
            return servers.enter_context(serving(app))

        yield start


def seed(app, **tickets) -> dict[str, str]:
    """An agent "Alex Agent" and tickets by name (subject → fields); returns their refs."""
    with app.app_context():
        make = Factory()
        agent = make.agent(name="Alex Agent")
        refs = {"agent": agent.email}
        for name, fields in tickets.items():
            assignee = fields.pop("assignee", None)
            ticket = make.ticket(**fields)
            if assignee == "agent":
                service.assign(ticket, actor=agent, assignee=agent)
            refs[name] = ticket.ref
        db.session.remove()
    return refs


def board_url(page: Page) -> str:
    return page.evaluate("location.pathname + location.search")


def test_back_restores_the_filters_and_typing_replaces_the_address(page: Page, board_server):
    server = board_server(BOARD_POLL_SECONDS=60)
    refs = seed(
        server.app,
        mine={"subject": "Refund for order 77", "assignee": "agent"},
        urgent={"subject": "Checkout down for everyone", "impact": Impact.MANY_USERS},
    )
    log_in(page, server.url, refs["agent"])
    filters = page.locator("form.board-filters")
    mine, overdue = filters.get_by_label("Mine"), filters.get_by_label("Overdue")
    mine.check()
    expect(page).to_have_url(re.compile(r"/board\?mine=1$"))
    overdue.check()
    expect(page).to_have_url(re.compile(r"/board\?mine=1&overdue=1$"))
    expect(page.locator("#board .card")).to_have_count(0)

    # Back: the board and its filter controls both show ?mine=1 again…
    page.go_back()
    expect(page).to_have_url(re.compile(r"/board\?mine=1$"))
    expect(page.locator(f"#card-{refs['mine']}")).to_be_visible()
    expect(mine).to_be_checked()
    expect(overdue).not_to_be_checked()
    # …so the next change keeps Mine instead of silently dropping it.
    filters.get_by_label("Priority").select_option("normal")
    expect(page).to_have_url(re.compile(r"/board\?mine=1&priority=normal$"))
    expect(page.locator(f"#card-{refs['mine']}")).to_be_visible()

    # Typing replaces the address at each pause; it adds no Back steps.
    steps = page.evaluate("history.length")
    search = filters.get_by_label("Search tickets")
    search.press_sequentially("ref", delay=500)
    expect(page).to_have_url(re.compile(r"/board\?q=ref&mine=1&priority=normal$"))
    search.press_sequentially("und", delay=500)
    expect(page).to_have_url(re.compile(r"/board\?q=refund&mine=1&priority=normal$"))
    expect(page.locator("#board .card")).to_have_count(1)
    search.press("Enter")  # the address already says so: still no extra step
    page.wait_for_timeout(500)
    assert page.evaluate("history.length") == steps

    # Back again: Mine only, and the search box and priority say so too.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/board\?mine=1$"))
    expect(search).to_have_value("")
    expect(filters.get_by_label("Priority")).to_have_value("")
    expect(mine).to_be_checked()
    # Forward and Back once more, then a change from there: the address stays whole.
    page.go_forward()
    expect(page).to_have_url(re.compile(r"/board\?q=refund&mine=1&priority=normal$"))
    expect(search).to_have_value("refund")
    expect(filters.get_by_label("Priority")).to_have_value("normal")
    filters.get_by_label("Unassigned").check()
    expect(page).to_have_url(re.compile(r"/board\?q=refund&mine=1&unassigned=1&priority=normal$"))
    # Cards restored by Back can still be dragged (Sortable set up on the restored lists).
    page.go_back()
    # The restored board refreshes itself (its cards may be old): let that answer land.
    with page.expect_response(lambda response: response.url.endswith("/board?mine=1")):
        page.go_back()
    expect(page).to_have_url(re.compile(r"/board\?mine=1$"))
    drag(page, refs["mine"], "open")
    expect(column(page, "open").locator(f"#card-{refs['mine']}")).to_be_visible()


def test_a_refused_stale_drag_refreshes_the_board(page: Page, board_server) -> None:
    server = board_server(BOARD_POLL_SECONDS=60)  # no poll comes to the rescue
    refs = seed(server.app, ticket={"subject": "Parcel lost"})
    ref = refs["ticket"]
    log_in(page, server.url, refs["agent"])
    card = page.locator(f"#card-{ref}")
    expect(card).to_have_attribute("data-version", "1")
    with server.app.app_context():  # a colleague takes the ticket meanwhile
        colleague = Factory().agent(name="Sam Senior")
        ticket = db.session.scalar(select(Ticket).where(Ticket.ref == ref))
        service.assign(ticket, actor=colleague, assignee=colleague)
        version = str(ticket.version)
        db.session.remove()

    drag(page, ref, "open")
    expect(page.locator("#toasts")).to_contain_text("was just changed by Sam Senior")
    expect(column(page, "new").locator(f"#card-{ref}")).to_be_visible()
    # The board fetched itself again: the card knows the new version and assignee.
    expect(card).to_have_attribute("data-version", version)
    expect(card.locator(".avatar")).to_have_text(re.compile("^SS"))
    drag(page, ref, "open")
    expect(column(page, "open").locator(f"#card-{ref}")).to_be_visible()


def test_polling_waits_for_a_drag_in_progress(page: Page, board_server) -> None:
    server = board_server(BOARD_POLL_SECONDS=1)
    refs = seed(server.app, ticket={"subject": "Label won't print"})
    ref = refs["ticket"]
    log_in(page, server.url, refs["agent"])
    expect(page.locator(f"#card-{ref}")).to_be_visible()
    # Mark this board: a swap would replace the element and lose the mark.
    page.evaluate("document.getElementById('board').dataset.probe = 'this board'")

    # Pick the card up and hold it over Open.
    card = page.locator(f"#card-{ref} .card-who").bounding_box()
    target = column(page, "open").bounding_box()
    page.mouse.move(card["x"] + card["width"] / 2, card["y"] + card["height"] / 2)
    page.mouse.down()
    page.mouse.move(card["x"] + 30, card["y"] + 20, steps=5)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 20, steps=15)
    expect(page.locator("body")).to_have_class(re.compile("is-dragging"))
    with server.app.app_context():  # meanwhile a new ticket arrives: a poll would show it
        newcomer = Factory().ticket(subject="Arrived during the drag").ref
        db.session.remove()
    page.wait_for_timeout(3500)  # three poll intervals, the mouse still down
    assert page.evaluate("document.getElementById('board').dataset.probe") == "this board"
    expect(page.locator(f"#card-{newcomer}")).to_have_count(0)

    page.mouse.up()
    expect(column(page, "open").locator(f"#card-{ref}")).to_be_visible()
    expect(page.locator("body")).not_to_have_class(re.compile("is-dragging"))
    # The drop was saved, and polling carries on now: the newcomer shows up.
    expect(page.locator(f"#card-{newcomer}")).to_be_visible()
    with server.app.app_context():
        assert db.session.scalar(select(Ticket.status).where(Ticket.ref == ref)) == Status.OPEN
        db.session.remove()
