"""The business-hours clock on a saved schedule: time zones and their clock changes,
holidays, closed days, hours to the minute, pauses; read once per transaction."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from support.extensions import db
from support.models import Priority, SlaPolicy, Ticket
from support.tickets import schedule, sla
from support.tickets.schedule import Schedule

H, M = timedelta(hours=1), timedelta(minutes=1)
WEEKDAYS_9_17 = ((540, 1020),) * 5 + (None, None)
# Europe/Berlin moves from CET (UTC+1) to CEST (UTC+2) on Sunday 30 March 2031, and
# back on Sunday 26 October 2031. Good Friday 2031 is 11 April.
BERLIN = Schedule("Europe/Berlin", WEEKDAYS_9_17, (date(2031, 4, 11),))


def use(saved: Schedule) -> None:
    schedule.save(saved, {})
    db.session.commit()


def test_the_default_is_weekdays_nine_to_five_utc(app):
    assert schedule.current() == schedule.DEFAULT
    friday_4pm = datetime(2031, 3, 28, 16)
    assert sla.add_time(friday_4pm, 2 * H, True) == datetime(2031, 3, 31, 10)
    assert sla.time_between(friday_4pm, datetime(2031, 3, 31, 10), True) == 2 * H


def test_hours_follow_the_zone_across_a_clock_change(app):
    use(BERLIN)
    # Friday 16:00 CET is 15:00 UTC; one hour left that day, then Monday opens at
    # 09:00 CEST, 07:00 UTC.
    friday = datetime(2031, 3, 28, 15)
    assert sla.add_time(friday, 2 * H, True) == datetime(2031, 3, 31, 8)
    assert sla.time_between(friday, datetime(2031, 3, 31, 8), True) == 2 * H
    # The week after the October change opens at 08:00 UTC again.
    assert sla.add_time(datetime(2031, 10, 24, 14, 30), H, True) == datetime(2031, 10, 27, 8, 30)


def test_a_holiday_is_closed_all_day(app):
    use(BERLIN)
    thursday = datetime(2031, 4, 10, 14, 30)  # 16:30 CEST: half an hour left
    # Good Friday closed; Monday 14 April opens 07:00 UTC.
    assert sla.add_time(thursday, H, True) == datetime(2031, 4, 14, 7, 30)
    assert sla.time_between(thursday, datetime(2031, 4, 14, 7, 30), True) == H


def test_a_ticket_opened_at_night_starts_at_opening(app):
    use(BERLIN)
    night = datetime(2031, 4, 1, 2)  # Tuesday 04:00 in Berlin
    assert sla.add_time(night, 30 * M, True) == datetime(2031, 4, 1, 7, 30)
    assert sla.time_between(night, datetime(2031, 4, 1, 6, 59), True) == timedelta(0)


def test_closed_days_and_hours_to_the_minute(app):
    # Monday and Tuesday 08:30–12:15, Wednesday closed, Thursday 13:05–18:50, UTC.
    use(Schedule("UTC", ((510, 735), (510, 735), None, (785, 1130), None, None, None)))
    tuesday = datetime(2031, 3, 4, 12)  # 15 minutes left on Tuesday
    assert sla.add_time(tuesday, 20 * M, True) == datetime(2031, 3, 6, 13, 10)
    # Thursday's 5h45m, then the next Monday from 08:30.
    assert sla.add_time(tuesday, 6 * H + 5 * M, True) == datetime(2031, 3, 10, 8, 35)
    assert sla.time_between(tuesday, datetime(2031, 3, 10, 8, 35), True) == 6 * H + 5 * M


def test_a_pause_over_a_weekend_keeps_the_business_time_left(app):
    use(BERLIN)
    db.session.add(
        SlaPolicy(
            priority="normal",
            first_response_minutes=240,
            update_minutes=240,
            resolution_minutes=960,
            business_hours=True,
        )
    )
    db.session.commit()
    ticket = Ticket(priority=Priority.NORMAL, tier=1)
    friday = datetime(2031, 3, 28, 14)  # 15:00 CET: two business hours left today
    sla.start_clock(ticket, friday)
    assert ticket.first_response_due == datetime(2031, 3, 31, 9)  # Monday 11:00 CEST
    sla.pause(ticket, datetime(2031, 3, 28, 15))  # three hours were left
    sla.resume(ticket, datetime(2031, 3, 31, 7))  # Monday's opening (CEST)
    assert ticket.first_response_due == datetime(2031, 3, 31, 10)


def test_the_schedule_is_read_once_per_transaction(app, count_queries):
    use(BERLIN)
    db.session.commit()
    with count_queries() as counter:
        for day in range(1, 20):
            sla.add_time(datetime(2031, 5, day, 12), 30 * H, True)
    assert counter.count == 2  # the schedule and its holidays, once


def test_a_schedule_needs_an_open_day():
    with pytest.raises(ValueError):
        Schedule("UTC", (None,) * 7)
