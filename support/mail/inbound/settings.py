"""The admins' inbound-mail settings: "only known customers" and the per-sender caps.

One row in `mail_settings`; until an admin saves it, the defaults below apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from support import clock
from support.extensions import db
from support.models import MailSettings, User

SETTINGS_ID = 1
CAP_MAX = 10_000


@dataclass(frozen=True)
class Rules:
    only_known_customers: bool = False
    max_new_tickets_per_hour: int = 10  # per sender; 0: no limit
    max_acknowledgements_per_hour: int = 5  # per sender; 0: no limit


def current() -> Rules:
    row = db.session.get(MailSettings, SETTINGS_ID)
    if row is None:
        return Rules()
    return Rules(
        row.only_known_customers, row.max_new_tickets_per_hour, row.max_acknowledgements_per_hour
    )


def save(rules: Rules, actor: User) -> Rules:
    """Store the settings (committed); caps must be 0 (no limit) to CAP_MAX."""
    for cap in (rules.max_new_tickets_per_hour, rules.max_acknowledgements_per_hour):
        if not 0 <= cap <= CAP_MAX:
            raise ValueError(f"A cap is a number from 0 (no limit) to {CAP_MAX:,}.")
    row = db.session.get(MailSettings, SETTINGS_ID)
    if row is None:
        row = MailSettings(id=SETTINGS_ID)
        db.session.add(row)
    row.only_known_customers = rules.only_known_customers
    row.max_new_tickets_per_hour = rules.max_new_tickets_per_hour
    row.max_acknowledgements_per_hour = rules.max_acknowledgements_per_hour
    row.updated_at, row.updated_by_id = clock.now(), actor.id
    db.session.commit()
    return current()
