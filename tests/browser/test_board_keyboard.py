"""The board with a keyboard: a refresh keeps focus, a move from a card's menu says where
the card went and keeps focus on it, the panel is a dialog Tab cannot leave (and shows
where focus is at every step), and Escape in a draft keeps it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from support.extensions import db
from tests.browser.test_board import log_in
from tests.browser.test_forms_keyboard import FOCUSED
from tests.factories import Factory


def active(page: Page) -> str:
    return page.evaluate(
        "(() => { const a = document.activeElement; const c = a.closest('.card');"
        " return (c ? c.id + ' ' : '') + a.tagName + '.' + a.className; })()"
    )


def test_keyboard_on_the_board(page: Page, live_server) -> None:
    base = live_server.url
    with live_server.app.app_context():
        make = Factory()
        agent = make.agent(name="Alex Agent")
        first = make.ticket(subject="First ticket")
        make.ticket(subject="Second ticket")
        ref, email = first.ref, agent.email
        db.session.remove()
    log_in(page, base, email)
    expect(page.locator(f"#card-{ref}")).to_be_visible()

    # A refresh (someone else changed something) leaves focus where it was.
    page.locator(f"#card-{ref} .card-title").focus()
    with page.expect_response(lambda r: r.url.startswith(f"{base}/board")):
        page.evaluate("htmx.trigger(document.body, 'board-changed')")
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling')")
    assert active(page).startswith(f"card-{ref} A.card-title")

    # A move from the card's menu: focus on the moved card, and the move is announced.
    page.locator(f"#card-{ref} .card-move summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator(f"#move-{ref}")).to_be_focused()
    page.locator(f"#move-{ref}").select_option("open")
    page.keyboard.press("Tab")
    move = page.locator(f"#card-{ref} .card-move").get_by_role("button", name="Move")
    expect(move).to_be_focused()
    assert page.evaluate(FOCUSED)["ring"], "no visible focus on Move"
    page.keyboard.press("Enter")
    expect(page.locator(f'ol.cards[data-status="open"] #card-{ref}')).to_be_visible()
    expect(page.locator("#board-announcer")).to_have_text(f"{ref} moved to Open.")
    assert active(page).startswith(f"card-{ref} A.card-title")

    # The panel is a dialog: Tab goes round inside it, never to the board underneath.
    page.locator(f"#card-{ref} .card-title").click()
    host = page.locator("#panel-host")
    expect(host).to_have_attribute("role", "dialog")
    expect(host).to_have_attribute("aria-modal", "true")
    inside = "document.getElementById('panel-host').contains(document.activeElement)"
    for step in range(60):
        page.keyboard.press("Tab")
        assert page.evaluate(inside), (step, active(page))
        assert page.evaluate(FOCUSED)["ring"], f"no visible focus on {active(page)}"

    # Escape in a draft keeps the panel and the draft; Escape elsewhere closes it.
    box = host.get_by_label("Message")
    box.fill("Half-written reply")
    page.keyboard.press("Escape")
    expect(box).to_have_value("Half-written reply")
    expect(host.locator(".ticket-panel")).to_be_visible()
    host.locator(".panel-title").click()
    page.keyboard.press("Escape")
    expect(host.locator(".ticket-panel")).to_have_count(0)
