"""Periodic jobs for `rq cron support.jobs.cron` (RQ's own scheduler, no home-made loop).

RQ reads this file by importing it, so the queue and interval come from the
environment at import (the same RQ_QUEUE the app's config reads), not from an app.
"""

import os

from rq import cron

from support.jobs.mailbox import poll_mailbox
from support.jobs.tasks import rebuild_kb_index, sweep, weekly_report
from support.mail.imap import ImapSettings

QUEUE = os.environ.get("RQ_QUEUE", "support")

cron.register(sweep, queue_name=QUEUE, interval=int(os.environ.get("SWEEP_INTERVAL_SECONDS", "60")))
# Pages notice changed article files within seconds; this hourly rebuild is the backstop
# for a deploy that replaced kb_articles/ while no one was reading.
cron.register(rebuild_kb_index, queue_name=QUEUE, cron="7 * * * *")
# The support mailbox, when IMAP_HOST is set (README, Configuration).
if ImapSettings.from_env() is not None:
    cron.register(
        poll_mailbox, queue_name=QUEUE, interval=int(os.environ.get("IMAP_POLL_SECONDS", "60"))
    )
# Monday 07:00 UTC: last week's support figures to the admins (support/reports/summary.py).
cron.register(weekly_report, queue_name=QUEUE, cron="0 7 * * 1")
