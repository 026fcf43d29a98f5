"""The business hours form on /admin/sla: a time zone, each weekday's hours, holidays."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from wtforms import Field, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from support import timezones
from support.forms import BaseForm
from support.tickets.schedule import WEEKDAYS, Schedule

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::00)?")
_HOLIDAY = re.compile(r"(\S+)\s*(.*)")
MAX_HOLIDAYS = 400
HOLIDAYS_HELP = "One a line: a date, then a name if you like (2026-12-25 Christmas Day)."
ZONE_HELP = "As in the time zone database: Europe/Berlin, America/New_York, UTC."


def parse_clock(text: str, closing: bool = False) -> int | None:
    """Minutes after midnight from "09:30" (a closing time may be "24:00"); None if not."""
    match = _CLOCK.fullmatch(text.strip())
    if not match or not text.isascii():
        return None
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not closing)):
        return None
    return hours * 60 + minutes


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class TimeOfDayField(StringField):
    """ "HH:MM" (a time input); its data is minutes after midnight, None when empty."""

    def __init__(self, label: str, closing: bool = False, **kwargs: Any) -> None:
        super().__init__(label, render_kw={"type": "time", "class": "time-of-day"}, **kwargs)
        self.closing = closing

    def process_formdata(self, valuelist: list[str]) -> None:
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = parse_clock(self.raw, self.closing) if self.raw else None
        if self.raw and self.data is None:
            raise ValueError(f"“{self.raw[:20]}” isn't a time of day; write it like 09:00.")

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return format_clock(self.data) if isinstance(self.data, int) else ""


class BusinessHoursForm(BaseForm):
    time_zone = StringField(
        "Time zone",
        validators=[InputRequired("Enter a time zone, like Europe/Berlin."), Length(max=64)],
        description=ZONE_HELP,
        render_kw={"list": "time-zones", "autocomplete": "off"},
    )
    holidays = TextAreaField(
        "Holidays (closed all day)", description=HOLIDAYS_HELP, render_kw={"rows": 5}
    )

    # One pair per weekday (day0_open … day6_close), added below the class.

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.holiday_names: dict[date, str] = {}

    def day_fields(self) -> list[tuple[str, Field, Field]]:
        return [
            (name, self[f"day{i}_open"], self[f"day{i}_close"]) for i, name in enumerate(WEEKDAYS)
        ]

    def validate_time_zone(self, field: Field) -> None:
        if field.data and not timezones.is_valid(field.data.strip()):
            raise ValidationError(
                f"“{field.data.strip()[:64]}” isn't a time zone we know. {ZONE_HELP}"
            )

    def validate_holidays(self, field: Field) -> None:
        self.holiday_names = _parse_holidays(field.data or "")

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for name, opens, closes in self.day_fields():
            if opens.errors or closes.errors:
                continue
            if (opens.data is None) != (closes.data is None):
                empty = closes if closes.data is None else opens
                empty.errors.append(f"Enter both times for {name}, or neither for a closed day.")
                valid = False
            elif opens.data is not None and closes.data <= opens.data:
                closes.errors.append(
                    f"{name} must close after it opens ({format_clock(opens.data)})."
                )
                valid = False
        if valid and not any(opens.data is not None for _, opens, _ in self.day_fields()):
            self.day0_open.errors.append("Open on at least one day of the week.")
            valid = False
        return valid

    def schedule(self) -> Schedule:
        """The validated form as a schedule."""
        week = tuple(
            (opens.data, closes.data) if opens.data is not None else None
            for _, opens, closes in self.day_fields()
        )
        return Schedule(self.time_zone.data.strip(), week, tuple(sorted(self.holiday_names)))

    @classmethod
    def filled(cls, schedule: Schedule, names: list[tuple[date, str]]) -> BusinessHoursForm:
        """The saved (or default) schedule, for the page."""
        data: dict[str, Any] = {
            "time_zone": schedule.zone,
            "holidays": "\n".join(f"{day.isoformat()} {name}".strip() for day, name in names),
        }
        for i, hours in enumerate(schedule.week):
            data[f"day{i}_open"], data[f"day{i}_close"] = hours or (None, None)
        return cls(formdata=None, prefix="hours", data=data)


for _i, _name in enumerate(WEEKDAYS):
    setattr(BusinessHoursForm, f"day{_i}_open", TimeOfDayField(f"{_name} opens"))
    setattr(BusinessHoursForm, f"day{_i}_close", TimeOfDayField(f"{_name} closes", closing=True))


def _parse_holidays(text: str) -> dict[date, str]:
    """{date: name} from the textarea; a ValidationError names the first bad line."""
    found: dict[date, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HOLIDAY.fullmatch(line.strip())
        if not match:
            continue  # a blank line
        word, name = match[1], match[2].strip()
        try:
            day = date.fromisoformat(word) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word) else None
        except ValueError:
            day = None
        if day is None:
            raise ValidationError(
                f"Line {number}: “{word[:20]}” isn't a date; write it as 2026-12-25."
            )
        if day in found:
            raise ValidationError(f"Line {number}: {day.isoformat()} is listed twice.")
        if len(name) > 100:
            raise ValidationError(f"Line {number}: keep the name under 100 characters.")
        found[day] = name
    if len(found) > MAX_HOLIDAYS:
        raise ValidationError(f"Keep it to {MAX_HOLIDAYS} holidays; remove past years.")
    return found
