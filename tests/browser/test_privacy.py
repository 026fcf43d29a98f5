"""Your data in a real browser: "Export my data", the progress polled by htmx until the
real RQ worker has built the zip, the download, then asking for erasure."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from rq import SimpleWorker

from support.jobs import queue
from support.jobs.redis import connection
from tests.browser.conftest import LiveServer, serving
from tests.conftest import close_database, make_app
from tests.factories import PASSWORD, Factory


@pytest.fixture
def server(tmp_path: Path, redis_url: str) -> Iterator[LiveServer]:
    app = make_app(
        tmp_path, redis_url, WTF_CSRF_ENABLED=True, EXPORT_FOLDER=str(tmp_path / "exports")
    )
    try:
        with serving(app) as live:  # the export's progress poll may be in flight at the end
            yield live
    finally:
        with app.app_context():
            redis = connection(app)
            for key in redis.scan_iter(f"rq:*{app.config['RQ_QUEUE']}*"):
                redis.delete(key)
            close_database()


def run_worker(app: Flask) -> None:
    with app.app_context():
        worker = SimpleWorker([queue.queue(app)], connection=connection(app))
        worker.work(burst=True, with_scheduler=False, logging_level="WARNING")


def test_export_then_ask_for_erasure(page: Page, server: LiveServer, tmp_path: Path) -> None:
    with server.app.app_context():
        customer = Factory().customer(name="Dana Fischer")
        Factory().ticket(customer, subject="Parcel never came")
        email = customer.email
    page.goto(f"{server.url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)

    page.goto(f"{server.url}/account/privacy")
    page.get_by_role("button", name="Export my data").click()
    expect(page.get_by_role("progressbar", name="Export progress")).to_be_visible()
    run_worker(server.app)
    # No reload: htmx polls the progress until the zip is ready, then stops.
    download_link = page.get_by_role("button", name="Download the zip")
    expect(download_link).to_be_visible(timeout=10_000)
    with page.expect_download() as info:
        download_link.click()
    saved = tmp_path / "mine.zip"
    info.value.save_as(saved)
    with zipfile.ZipFile(saved) as zf:
        assert "account.json" in zf.namelist()
        assert b"Parcel never came" in b"".join(zf.read(n) for n in zf.namelist())

    page.get_by_role("button", name="Ask to erase my data").click()
    expect(page.locator(".field-error")).to_contain_text("Tick the box")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Ask to erase my data").click()
    expect(page.get_by_role("button", name="Cancel my request")).to_be_visible()
