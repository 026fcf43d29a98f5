"""Take screenshots of the main pages of a running Support Desk (for review and the README).

Usage: python scripts/screenshots.py http://127.0.0.1:5000 OUTPUT_DIR
Needs the demo data (`make run`) and Debian's chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for name, width in (("desktop", 1280), ("phone", 390)):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(f"{base}/")
            page.screenshot(path=out / f"{name}-home.png", full_page=True)
            _password_reset_pages(page, base, out, name)
            page.goto(f"{base}/login")
            page.fill("#email", "customer@example.com")
            page.fill("#password", "demo-password")
            page.click("button[type=submit]")
            page.wait_for_url("**/tickets/")
            page.screenshot(path=out / f"{name}-my-tickets.png", full_page=True)
            page.click(".ticket-row-link >> nth=0")
            page.wait_for_selector(".timeline")
            page.screenshot(path=out / f"{name}-ticket.png", full_page=True)
            page.goto(f"{base}/tickets/new")
            page.screenshot(path=out / f"{name}-new-ticket.png", full_page=True)
            page.close()
            _team_pages(browser, base, out, name, width)
        browser.close()


def _team_pages(browser, base: str, out: Path, name: str, width: int) -> None:
    """The board, a ticket's panel over it, the admin index and its routing, triage and
    people pages, and the API tokens page (the admin is an agent too)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{base}/login")
    page.fill("#email", "admin@example.com")
    page.fill("#password", "demo-password")
    page.click("main button[type=submit]")
    page.wait_for_url("**/board")
    page.wait_for_selector(".card")
    page.screenshot(path=out / f"{name}-board.png")
    page.click(".card-title >> nth=0")
    page.wait_for_selector("#panel-host .ticket-panel")
    page.wait_for_timeout(400)  # the drawer's slide-in
    page.screenshot(path=out / f"{name}-panel.png")
    page.goto(f"{base}/admin/")
    page.screenshot(path=out / f"{name}-admin.png", full_page=True)
    for admin_page in ("routing", "triage", "people"):
        page.goto(f"{base}/admin/{admin_page}")
        page.screenshot(path=out / f"{name}-admin-{admin_page}.png", full_page=True)
    _tokens_page(page, base, out, name)
    page.close()


def _password_reset_pages(page, base: str, out: Path, name: str) -> None:
    """Forgot password: the form, its answer, and a link that is not valid. (The form for
    the new password needs a real link from an email: instance/mail/ with `make run`.)"""
    page.goto(f"{base}/password/reset")
    page.screenshot(path=out / f"{name}-forgot-password.png", full_page=True)
    page.fill("#email", "nobody@example.com")
    page.click("main button[type=submit]")
    page.wait_for_url("**/password/reset?sent=1")
    page.screenshot(path=out / f"{name}-forgot-password-sent.png", full_page=True)
    page.goto(f"{base}/password/reset/not-a-real-link")
    page.screenshot(path=out / f"{name}-reset-link-not-valid.png", full_page=True)


def _tokens_page(page, base: str, out: Path, name: str) -> None:
    """The admin's tokens (the demo has one of each state), a just-made token shown once,
    and its revoke confirmation; the token is then revoked, so no usable one is left."""
    page.goto(f"{base}/account/tokens")
    page.screenshot(path=out / f"{name}-tokens.png", full_page=True)
    page.fill("#name", "Screenshot script")
    page.check("input[name=scope][value=write]")
    page.click(".token-form button[type=submit]")
    page.wait_for_selector("#new-token")
    page.screenshot(path=out / f"{name}-token-created.png", full_page=True)
    row = page.locator(".token-row", has_text="Screenshot script")
    row.locator("summary").click()
    page.screenshot(path=out / f"{name}-token-revoke.png", full_page=True)
    row.locator("button[type=submit]").click()
    page.wait_for_selector("#tokens .flash")


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), Path(sys.argv[2]))
