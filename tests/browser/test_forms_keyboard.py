"""The forms with a keyboard only: Tab reaches every field in the order they are shown,
each with a visible focus ring; after a refused submit the fields in error name their
error (aria-describedby); the composer's modes switch with the arrow keys
and ask first when text would change audience; the queue's bulk form selects with Space
and announces its result. (The board's move and the panel as a dialog:
tests/browser/test_board_keyboard.py.)"""

from __future__ import annotations

from playwright.sync_api import Dialog, Page, expect

from tests.browser.conftest import Seeded
from tests.browser.test_board import log_in
from tests.factories import PASSWORD

# The focused element: a name to compare, where it is, and whether a focus indicator shows
# (an outline of 2px or more, or a box-shadow; on it or, for a radio drawn as a tab, on its
# label).
FOCUSED = """() => {
  const a = document.activeElement;
  const shows = el => {
    const s = getComputedStyle(el);
    return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
      || (s.boxShadow !== '' && s.boxShadow !== 'none');
  };
  const label = a.closest('label');
  const box = a.getBoundingClientRect();
  return {
    name: a.id || (a.tagName === 'BUTTON' || a.tagName === 'A' ? a.textContent.trim() : a.name),
    ring: shows(a) || (label !== null && shows(label)),
    top: box.top + window.scrollY, left: box.left + window.scrollX,
  };
}"""


def tab_through(page: Page, until: str, limit: int = 30) -> list[str]:
    """Press Tab until the control named `until` has focus; every control on the way must
    show focus, and come after the previous one on screen (below it, or right of it on the
    same row)."""
    here = page.evaluate(FOCUSED)
    seen = [here["name"]]
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        assert now["ring"], f"no visible focus on {now['name']}"
        same_row = abs(now["top"] - here["top"]) < 8
        assert now["top"] > here["top"] - 8 and (not same_row or now["left"] > here["left"]), (
            f"{now['name']} comes before {here['name']} on screen"
        )
        seen.append(now["name"])
        if now["name"] == until:
            return seen
        here = now
    raise AssertionError(f"Tab never reached {until}: {seen}")


def focused_name(page: Page) -> str:
    return page.evaluate(FOCUSED)["name"]


def expect_error_on(page: Page, field_id: str) -> None:
    """`field_id` is marked invalid, its error is what describes it, and focus is on it
    (not fallen to <body> with the form the answer replaced)."""
    field = page.locator(f"#{field_id}")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    described = field.get_attribute("aria-describedby") or ""
    assert f"{field_id}-error" in described.split(), described
    expect(page.locator(f"#{field_id}-error")).not_to_be_empty()


def test_new_ticket_form(page: Page, seeded: Seeded) -> None:
    base = seeded.server.url
    log_in(page, base, seeded.customer)
    page.goto(f"{base}/tickets/new")
    assert focused_name(page) == "subject"  # autofocus
    order = tab_through(page, until="Send request")
    assert order == ["subject", "description", "category", "impact-0", "files", "Send request"]

    # Submitted empty (Enter on the button): focus on the first field in error.
    page.keyboard.press("Enter")
    expect_error_on(page, "subject")
    # A subject typed, nothing else: now the description is the first in error, and the
    # subject kept its text.
    page.keyboard.type("Charged twice for order 4821")
    page.locator("#ticket-form button[type=submit]").focus()
    page.keyboard.press("Enter")
    expect_error_on(page, "description")
    expect(page.locator("#subject")).to_have_value("Charged twice for order 4821")
    expect(page.locator("#subject")).not_to_have_attribute("aria-invalid", "true")


def test_login_form(page: Page, seeded: Seeded) -> None:
    base = seeded.server.url
    page.goto(f"{base}/login")
    assert focused_name(page) == "email"
    assert tab_through(page, until="Forgot your password?") == [
        "email",
        "password",
        "remember",
        "Log in",
        "Forgot your password?",
    ]
    page.locator("#email").focus()
    page.keyboard.press("Enter")  # nothing typed
    expect_error_on(page, "email")
    page.keyboard.type(seeded.customer)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/tickets/")


def test_account_forms(page: Page, seeded: Seeded) -> None:
    base = seeded.server.url
    log_in(page, base, seeded.customer)
    page.goto(f"{base}/account")
    page.locator("#profile-name").focus()
    assert tab_through(page, until="Save") == ["profile-name", "profile-time_zone", "Save"]

    # A wrong current password: focus goes to it, and it says why.
    page.locator("#password-current").focus()
    page.keyboard.type("not my password at all")
    page.keyboard.press("Tab")
    page.keyboard.type("a brand new passphrase")
    page.keyboard.press("Tab")
    page.keyboard.type("a brand new passphrase")
    page.keyboard.press("Enter")
    expect_error_on(page, "password-current")
    expect(page.locator("#password-current-error")).to_contain_text("current password")


def test_composer_modes_by_keyboard(page: Page, seeded: Seeded) -> None:
    base, ref = seeded.server.url, seeded.open_ref
    log_in(page, base, seeded.agent)
    page.goto(f"{base}/board")
    page.locator(f"#card-{ref} .card-title").focus()
    page.keyboard.press("Enter")
    panel = page.locator("#panel-host")
    composer = panel.locator("form[data-composer]")
    expect(composer).to_be_visible()

    # Nothing typed: the arrow keys switch mode at once, and the label shows focus.
    composer.get_by_role("radio", name="Reply to").focus()
    page.keyboard.press("ArrowRight")
    expect(composer.get_by_role("radio", name="Internal note")).to_be_checked()
    expect(composer).to_have_class("composer is-note")
    assert page.evaluate(FOCUSED)["ring"], "no visible focus on the Internal note tab"

    # Text typed: switching asks first; "Cancel" keeps the note, "OK" makes it a reply.
    body = composer.get_by_label("Message")
    body.fill("The refund id is 998")
    asked: list[str] = []

    def answer(accept: bool):
        def on_dialog(dialog: Dialog) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return on_dialog

    composer.get_by_role("radio", name="Internal note").focus()
    page.once("dialog", answer(False))
    page.keyboard.press("ArrowLeft")
    expect(composer.get_by_role("radio", name="Internal note")).to_be_checked()
    expect(composer.get_by_role("radio", name="Internal note")).to_be_focused()
    expect(composer).to_have_class("composer is-note")
    page.once("dialog", answer(True))
    page.keyboard.press("ArrowLeft")
    expect(composer.get_by_role("radio", name="Reply to")).to_be_checked()
    expect(composer).to_have_class("composer")
    assert len(asked) == 2 and "reply" in asked[0].lower(), asked
    expect(body).to_have_value("The refund id is 998")

    # Escape in the draft keeps it (and the panel).
    body.focus()
    page.keyboard.press("Escape")
    expect(body).to_have_value("The refund id is 998")
    expect(panel.locator(".ticket-panel")).to_be_visible()


def test_queue_bulk_action_by_keyboard(page: Page, seeded: Seeded) -> None:
    base = seeded.server.url
    log_in(page, base, seeded.admin)
    page.goto(f"{base}/queue")
    boxes = page.locator('input[name="ticket"][form="bulk-form"]')
    expect(boxes.first).to_be_visible()
    assert boxes.count() >= 2
    for n in (0, 1):
        boxes.nth(n).focus()
        page.keyboard.press("Space")
        expect(boxes.nth(n)).to_be_checked()

    # Choose "On hold" from the status list with the arrow keys, then Tab to its button.
    status = page.get_by_label("New status")
    status.focus()
    for _ in range(status.locator("option").count()):
        if status.input_value() == "on_hold":
            break
        page.keyboard.press("ArrowDown")
    expect(status).to_have_value("on_hold")
    page.keyboard.press("Tab")
    assert focused_name(page) == "Set status"
    assert page.evaluate(FOCUSED)["ring"], "no visible focus on Set status"
    page.keyboard.press("Enter")

    # The result is in a status region, which takes focus (a reader hears it at once).
    summary = page.locator(".bulk-summary")
    expect(summary).to_have_attribute("role", "status")
    expect(summary).to_contain_text("2 changed")
    page.wait_for_function("() => document.activeElement.classList.contains('bulk-summary')")
