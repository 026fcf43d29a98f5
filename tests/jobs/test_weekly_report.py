"""The weekly summary: `rq cron` runs the job, the outbox sends it through a real
SMTP server, with the figures of the hand-built week (tests/reports/conftest.py)."""

from __future__ import annotations

from datetime import datetime

from rq.cron import CronScheduler, get_cron_job_history_key
from sqlalchemy import select

from support.extensions import db
from support.jobs.redis import connection
from support.jobs.tasks import weekly_report
from support.models import EmailKind, OutboxMessage
from tests.jobs.test_notifications_and_admin import cron_config  # noqa: F401  (fixture)
from tests.reports.conftest import week  # noqa: F401  (fixture)
from tests.smtp import text_part

T0 = datetime(2031, 3, 10, 7, 0)  # Monday morning: last week is 3–9 March


def test_cron_sends_last_weeks_figures_to_each_admin_once(
    app,
    make,
    smtp,
    run_jobs,
    frozen,
    week,  # noqa: F811  (imported fixture)
    cron_config,  # noqa: F811  (imported fixture)
):
    ada = make.admin(name="Ada Admin")
    bob = make.admin(name="Bob Boss")
    scheduler = CronScheduler(connection=connection(app))
    scheduler.load_config_from_file(cron_config)
    registered = {job.func_name: job for job in scheduler.get_jobs()}
    cron_job = registered["support.jobs.tasks.weekly_report"]
    assert cron_job.cron == "0 7 * * 1"  # Mondays, 07:00

    job = cron_job.enqueue(connection(app))
    try:
        assert run_jobs() == 3  # the summary, then one delivery per admin
    finally:
        connection(app).zrem(get_cron_job_history_key(cron_job.name), job.id)
    for admin in (ada, bob):
        [mail] = smtp.mailbox.to(admin.email)
        assert mail["Subject"] == "Support Desk: support week of 3 March 2031"
        assert mail["Auto-Submitted"] == "auto-generated"
        text = text_part(mail)
        for line in [
            "Created: 7",
            "Resolved: 5",
            "Backlog at the end: 4 (average age 4.2 days)",
            "Escalations: 1",
            "Reopened: 1 (reopen rate 20%)",
            "First response: median 2.0 h, 90% within 6.5 h",
            "Resolution: median 10.5 h, 90% within 2.1 days",
            "First response: 71% of 7",
            "Resolution: 83% of 6",  # at 07:00 on the 10th, T7's resolution is not due yet
            "Average: 4.0 out of 5 from 4 ratings",
            "Satisfied (4 or 5): 75%",
            "Alex Agent: 3, 2, 2, 2.0 h, 4.5",
            "Bea Agent: 3, 3, 2, 2.0 h, 3.5",
            "http://support.test/reports?from=2031-03-03&to=2031-03-09&group=week",
        ]:
            assert line in text, line
        assert "<b>Great</b> help" in text  # plain text: the comment as written
    # Run again (a retried job, a second cron tick): nobody gets it twice.
    assert weekly_report() == 0
    run_jobs()
    assert len(smtp.mailbox.to(ada.email)) == 1
    assert set(db.session.scalars(select(OutboxMessage.kind))) == {EmailKind.REPORT}
