"""Admins edit the business hours on /admin/sla: saved, audited, used by new due times;
bad input is a 422 with the error beside its field, and nothing is written."""

from __future__ import annotations

import html
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from support import clock
from support.extensions import db
from support.models import AuditEntry, BusinessHoliday, BusinessSchedule
from support.privacy.audit import Action
from support.tickets import schedule

WEEKDAYS_9_17 = ((540, 1020),) * 5 + (None, None)


def hours_form(**changes: str) -> dict[str, str]:
    """Europe/Berlin, weekdays 09:00–17:30 (Friday to 15:00), closed at the weekend."""
    data = {"hours-time_zone": "Europe/Berlin", "hours-holidays": ""}
    for day in range(5):
        data[f"hours-day{day}_open"], data[f"hours-day{day}_close"] = "09:00", "17:30"
    data["hours-day4_close"] = "15:00"
    for day in (5, 6):
        data[f"hours-day{day}_open"] = data[f"hours-day{day}_close"] = ""
    data.update({f"hours-{name}": value for name, value in changes.items()})
    return data


@pytest.fixture
def admin(make, auth):
    user = make.admin()
    auth.login(user)
    return user


def test_the_page_shows_the_default_hours(client, admin):
    page = client.get("/admin/sla").get_data(as_text=True)
    assert 'name="hours-time_zone"' in page and 'value="UTC"' in page
    assert 'id="hours-day0_open" name="hours-day0_open" type="time" value="09:00"' in page
    assert 'id="hours-day5_open" name="hours-day5_open" type="time" value=""' in page
    assert '<option value="Europe/Berlin">' in page


def test_saving_stores_audits_and_shows_the_schedule(client, admin):
    holidays = "2031-12-25 Christmas Day\n\n2031-12-26\n"
    response = client.post("/admin/sla/business-hours", data=hours_form(holidays=holidays))
    assert response.status_code == 303
    saved = schedule.current()
    assert saved.zone == "Europe/Berlin"
    assert saved.week == ((540, 1050),) * 4 + ((540, 900), None, None)
    assert saved.holidays == (date(2031, 12, 25), date(2031, 12, 26))
    names = dict(db.session.execute(select(BusinessHoliday.day, BusinessHoliday.name)).all())
    assert names == {date(2031, 12, 25): "Christmas Day", date(2031, 12, 26): ""}
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert entry.action == Action.SETTINGS_CHANGED.value and entry.actor_id == admin.id
    assert entry.details == {"page": "operations.save_business_hours"}

    page = client.get("/admin/sla").get_data(as_text=True)
    assert 'value="Europe/Berlin"' in page and 'value="17:30"' in page
    assert "2031-12-25 Christmas Day\n2031-12-26</textarea>" in page


def test_new_due_times_use_the_saved_hours(client, admin, make):
    client.post("/admin/sla/business-hours", data=hours_form())
    client.post(
        "/admin/sla/normal",
        data={
            "normal-first_response_minutes": "2h",
            "normal-update_minutes": "2h",
            "normal-resolution_minutes": "1d",
            "normal-business_hours": "y",
        },
    )
    clock.freeze(datetime(2031, 3, 28, 13))  # Friday 14:00 in Berlin: an hour left
    try:
        ticket = make.ticket(make.customer())
    finally:
        clock.freeze(None)
    # The other hour on Monday from 09:00, which is 07:00 UTC after the clock change.
    assert ticket.first_response_due == datetime(2031, 3, 31, 8)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"day2_close": "08:30"}, "day2_close", "Wednesday must close after it opens (09:00)."),
        ({"day2_close": "09:00"}, "day2_close", "Wednesday must close after it opens"),
        ({"day1_open": "25:00"}, "day1_open", "“25:00” isn't a time of day"),
        ({"day1_open": "9h"}, "day1_open", "“9h” isn't a time of day"),
        ({"day5_open": "10:00"}, "day5_close", "Enter both times for Saturday"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "“Mars/Olympus” isn't a time zone"),
        ({"time_zone": ""}, "time_zone", "Enter a time zone"),
        ({"holidays": "2031-12-25\n2031-02-30 Nope"}, "holidays", "Line 2: “2031-02-30”"),
        ({"holidays": "25.12.2031"}, "holidays", "isn't a date; write it as 2026-12-25"),
        ({"holidays": "2031-12-25\n2031-12-25 again"}, "holidays", "listed twice"),
        (
            {f"day{d}_{end}": "" for d in range(5) for end in ("open", "close")},
            "day0_open",
            "Open on at least one day",
        ),
    ],
)
def test_bad_input_is_a_422_beside_its_field_and_writes_nothing(
    client, admin, changes, field, message
):
    audited = db.session.scalar(select(func.count()).select_from(AuditEntry))
    response = client.post("/admin/sla/business-hours", data=hours_form(**changes))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = page.split(f'id="hours-{field}-error"', 1)[1].split("</small>", 1)[0]
    assert message in html.unescape(error)
    assert 'aria-invalid="true"' in page
    assert db.session.scalar(select(func.count()).select_from(BusinessSchedule)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audited
    assert schedule.current().week == WEEKDAYS_9_17


def test_only_admins_change_the_hours(client, make, auth):
    auth.login(make.agent())
    assert client.post("/admin/sla/business-hours", data=hours_form()).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(BusinessSchedule)) == 0
