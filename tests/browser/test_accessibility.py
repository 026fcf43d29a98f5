"""axe-core on every page of both sides (public, customer, agent, admin), at desktop and
phone widths: no serious or critical violation.

One live server and one set of seeded data for the module (`seeded`, in conftest.py); one
browser page per width and side, walking every page and the states worth seeing: a search
with and without results, a form after a failed submit, a resolved ticket with its rating
form, the error pages.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Seeded
from tests.browser.test_board import log_in

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
# Every violation by impact, serious or not, for the record (A11Y_TALLY=file to keep it).
TALLY: Counter[str] = Counter()


def violations(page: Page) -> list[str]:
    """Serious and critical violations on the page, as "rule: first element" lines."""
    page.evaluate(AXE)  # through the devtools protocol: the page's CSP does not apply
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"] == {"name": "axe-core", "version": "4.14.1"}
    assert result["passes"] or result["violations"] or result["incomplete"]  # it looked
    TALLY.update(["pages"] + [v["impact"] for v in result["violations"]])
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']} {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture(scope="module", autouse=True)
def _tally() -> Iterator[None]:
    yield
    if path := os.environ.get("A11Y_TALLY"):
        Path(path).write_text(json.dumps(TALLY, indent=1))


def sized(page: Page, width: str) -> None:
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))


def check(page: Page, found: dict[str, list[str]], name: str) -> None:
    page.wait_for_load_state("networkidle")
    if problems := violations(page):
        found[name] = problems


def visit(page: Page, base: str, paths: list[str], found: dict[str, list[str]]) -> None:
    for path in paths:
        page.goto(base + path)
        check(page, found, path)


def failed_submit(page: Page, base: str, path: str, found: dict[str, list[str]]) -> None:
    """The form at `path` submitted empty: the page with its errors."""
    page.goto(base + path)
    form = page.locator("main form").filter(has=page.locator("button[type=submit]")).first
    form.evaluate("f => { f.noValidate = true; }")
    form.locator("button[type=submit]").first.click()
    expect(page.locator(".field-error, .form-error, .flash-error").first).to_be_visible()
    check(page, found, f"{path} (failed submit)")


@pytest.mark.parametrize("width", WIDTHS)
def test_public_and_customer_pages(page: Page, seeded: Seeded, width: str) -> None:
    base, found = seeded.server.url, {}
    sized(page, width)
    visit(
        page,
        base,
        [
            "/",
            "/kb/",
            "/kb/search?q=charged+twice",
            "/kb/search?q=zzqxv",
            "/kb/category/payments",
            "/kb/charged-twice",
            "/kb/no-such-article",
            "/privacy",
            "/login",
            "/register",
            "/password/reset",
            f"/password/reset/{seeded.reset_token}",
            "/password/reset/not-a-token",
            f"/survey/{seeded.survey_token}",
            "/email/verify/not-a-token",
            "/no-such-page",
        ],
        found,
    )
    for path in ("/login", "/register", "/password/reset"):
        failed_submit(page, base, path, found)
    # Asked for a reset link: the "sent" answer.
    page.goto(f"{base}/password/reset")
    page.get_by_label("Email").fill("nobody@example.com")
    page.locator("main button[type=submit]").click()
    expect(page.locator("main [role=status]")).to_be_visible()
    check(page, found, "/password/reset (sent)")

    log_in(page, base, seeded.customer)
    visit(
        page,
        base,
        [
            "/",
            "/tickets/",
            f"/tickets/{seeded.open_ref}",
            f"/tickets/{seeded.open_ref}/submitted",
            f"/tickets/{seeded.resolved_ref}",
            "/tickets/new",
            "/notifications/",
            "/account",
            "/account/privacy",
            "/board",  # 403
            "/tickets/SUP-NOSUCH",  # 404
            "/logout",  # "Log out?"
        ],
        found,
    )
    failed_submit(page, base, "/tickets/new", found)
    # Logged out: the home page with its flash message.
    page.goto(f"{base}/logout")
    page.locator("main").get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    check(page, found, "/ (logged out, flash)")
    assert found == {}, "\n".join(f"{k}: {v}" for k, v in found.items())


@pytest.mark.parametrize("width", WIDTHS)
def test_agent_and_admin_pages(page: Page, seeded: Seeded, width: str) -> None:
    base, found = seeded.server.url, {}
    sized(page, width)
    log_in(page, base, seeded.admin)
    ref = seeded.open_ref
    visit(
        page,
        base,
        [
            "/board",
            f"/board/tickets/{ref}",
            f"/board/tickets/{ref}/similar",
            "/board/tickets/new",
            "/queue",
            "/queue?status=open&sort=-updated",
            f"/tickets/{ref}",
            "/notifications/",
            "/account",
            "/account/tokens",
            "/reports",
            "/reports/kb",
            "/admin/",
            "/admin/people",
            "/admin/routing",
            "/admin/triage",
            "/admin/sla",
            "/admin/canned/",
            "/admin/canned/new",
            f"/admin/canned/{seeded.canned_id}/edit",
            f"/admin/canned/{seeded.canned_id}/delete",
            "/admin/mail/",
            "/admin/jobs",
            "/admin/privacy",
            "/admin/audit",
            "/admin/webhooks/",
            "/admin/webhooks/new",
            f"/admin/webhooks/{seeded.webhook_id}",
            f"/admin/webhooks/{seeded.webhook_id}/delete",
            "/api/v1/docs",
        ],
        found,
    )
    # The panel over the board (not as a page of its own).
    page.goto(f"{base}/board")
    page.locator(f"#card-{ref} .card-title").click()
    expect(page.locator("#panel-host .ticket-panel")).to_be_visible()
    check(page, found, "/board + panel")
    failed_submit(page, base, "/admin/canned/new", found)
    failed_submit(page, base, "/board/tickets/new", found)
    assert found == {}, "\n".join(f"{k}: {v}" for k, v in found.items())
