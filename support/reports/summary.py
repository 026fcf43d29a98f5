"""The weekly summary email: last week's figures, to every active admin, through the
outbox (so it is sent once, retried, and shows on /admin/jobs if it cannot go)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import select

from support.extensions import db
from support.jobs import queue
from support.models import EmailKind, Role, User
from support.notify import outbox
from support.reports import figures, tables
from support.reports.filters import Grouping, ReportFilters
from support.urls import external_url


def last_week(today: date) -> ReportFilters:
    """Monday to Sunday of the week before `today`'s, grouped by week."""
    monday = today - timedelta(days=today.weekday() + 7)
    return ReportFilters(start=monday, end=monday + timedelta(days=6), group=Grouping.WEEK)


def send_weekly(now: datetime) -> int:
    """Queue last week's summary for each active admin (once per admin and week);
    returns how many were queued. The caller's transaction is committed here."""
    admins = list(
        db.session.scalars(
            select(User).where(User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id)
        )
    )
    if not admins:
        return 0
    filters = last_week(now.date())
    report = figures.build(filters, admins[0], now)  # admins see every ticket alike
    site_name = current_app.config["SITE_NAME"]
    subject = f"{site_name}: support week of {filters.start:%-d %B %Y}"
    body = render_template(
        "emails/weekly_report.txt",
        report=report,
        filters=filters,
        tables=tables.tables(report),
        formatted=tables.formatted,
        duration=tables.duration,
        url=external_url("reports.index", **filters.args()),
        site_name=site_name,
    )
    queued = 0
    for admin in admins:
        message = outbox.queue_email(
            key=f"weekly-report:{filters.start.isoformat()}:{admin.id}",
            kind=EmailKind.REPORT,
            to=admin.email,
            subject=subject,
            body=body,
        )
        if message is not None:
            key = message.idempotency_key
            queue.after_commit(outbox.DELIVER, key, job_id=outbox.job_id(key))
            queued += 1
    db.session.commit()
    return queued
