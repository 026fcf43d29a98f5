"""Admin pages for the follow-up machinery: SLA policies, failed jobs and mail."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, flash, url_for
from redis.exceptions import RedisError
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import select
from wtforms import BooleanField, StringField
from wtforms.validators import InputRequired, NumberRange

from support import timezones
from support.admin import access
from support.admin.hours_form import BusinessHoursForm
from support.extensions import db
from support.forms import BaseForm, EmptyForm
from support.jobs import queue
from support.jobs.redis import connection
from support.models import OutboxMessage, OutboxStatus, Priority, SlaPolicy
from support.notify import outbox
from support.tickets import schedule, sla
from support.web import redirect_after_post, render

bp = access.audited(
    access.admins_only(Blueprint("operations", __name__, url_prefix="/admin")), "sla_and_mail"
)

MAX_MINUTES = 60 * 24 * 60  # 60 days
_UNITS = {"d": 24 * 60, "h": 60, "m": 1}
_PART = re.compile(r"(\d{1,6})\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m)", re.IGNORECASE)
DURATION_HELP = "Like 8h, 1h 30m or 2d (d: days, h: hours, m: minutes)."


def parse_duration(text: str) -> int | None:
    """Minutes from "1h 30m", "8 hours", "2d" or a plain number of minutes; None if not."""
    text = text.strip().lower()
    if text.isascii() and text.isdigit():
        return int(text)
    parts = _PART.findall(text)
    if not parts or _PART.sub("", text).replace(",", "").strip():
        return None
    return sum(int(count) * _UNITS[unit[0]] for count, unit in parts)


def format_duration(minutes: int) -> str:
    """90 → "1h 30m", 1440 → "1d", 2880 → "2d", 45 → "45m"."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n]
    return " ".join(parts) or "0m"


class DurationField(StringField):
    """A target typed as people say it (hours and minutes); its data is minutes."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.raw = valuelist[0] if valuelist else ""
        self.data = parse_duration(self.raw) if self.raw.strip() else None
        if self.raw.strip() and self.data is None:
            raise ValueError(f"“{self.raw.strip()[:40]}” isn't a time. {DURATION_HELP}")

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return format_duration(self.data) if isinstance(self.data, int) else ""


_TIME = [
    InputRequired("Enter a time, like 8h or 1h 30m."),
    NumberRange(1, MAX_MINUTES, message="Keep it between 1 minute and 60 days."),
]


class SlaPolicyForm(BaseForm):
    first_response_minutes = DurationField("First response", validators=_TIME)
    update_minutes = DurationField("Update interval", validators=_TIME)
    resolution_minutes = DurationField("Resolution", validators=_TIME, description=DURATION_HELP)
    business_hours = BooleanField("Count business hours only")


def _form_for(priority: Priority) -> SlaPolicyForm:
    """The saved (or default) targets; never the posted data of another priority's form."""
    targets = sla.targets_for(priority)
    return SlaPolicyForm(
        formdata=None,
        prefix=priority.value,
        data={
            "first_response_minutes": int(targets.first_response.total_seconds() // 60),
            "update_minutes": int(targets.update_interval.total_seconds() // 60),
            "resolution_minutes": int(targets.resolution.total_seconds() // 60),
            "business_hours": targets.business_hours,
        },
    )


def _hours_form() -> BusinessHoursForm:
    return BusinessHoursForm.filled(schedule.current(), schedule.holidays_named())


def _page(
    forms: dict[Priority, SlaPolicyForm], hours: BusinessHoursForm, status: int = 200
) -> Response:
    return render(
        "admin/sla.html", forms=forms, hours=hours, zones=timezones.choices(), status=status
    )


@bp.get("/sla")
def sla_policies() -> Response:
    return _page({priority: _form_for(priority) for priority in Priority}, _hours_form())


@bp.post("/sla/business-hours")
def save_business_hours() -> Response:
    form = BusinessHoursForm(prefix="hours")
    if not form.validate_on_submit():
        return _page({p: _form_for(p) for p in Priority}, form, status=422)
    schedule.save(form.schedule(), form.holiday_names)
    db.session.commit()
    flash("Saved the business hours. New due times and the reports use them.", "success")
    return redirect_after_post(url_for("operations.sla_policies"))


@bp.post("/sla/<priority>")
def save_sla_policy(priority: str) -> Response:
    try:
        chosen = Priority(priority)
    except ValueError:
        abort(404)
    form = SlaPolicyForm(prefix=chosen.value)
    if not form.validate_on_submit():
        forms = {p: (form if p == chosen else _form_for(p)) for p in Priority}
        return _page(forms, _hours_form(), status=422)
    policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.priority == chosen.value))
    if policy is None:
        policy = SlaPolicy(priority=chosen.value)
        db.session.add(policy)
    form.populate_obj(policy)
    db.session.commit()
    sla.forget_policies()
    flash(f"Saved the {chosen.label.lower()} priority policy. New due times use it.", "success")
    return redirect_after_post(url_for("operations.sla_policies"))


def _failed_jobs() -> tuple[list[Job], str | None]:
    try:
        registry = FailedJobRegistry(queue=queue.queue())
        ids = registry.get_job_ids(0, 99)
        jobs = [job for job in Job.fetch_many(ids, connection=connection()) if job]
    except RedisError as exc:
        return [], f"Redis is not reachable ({type(exc).__name__}); jobs will resume when it is."
    return jobs, None


@bp.get("/jobs")
def jobs() -> Response:
    failed, redis_error = _failed_jobs()
    stuck_mail = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status.in_([OutboxStatus.FAILED, OutboxStatus.PENDING]))
        .order_by(OutboxMessage.id.desc())
        .limit(100)
    ).all()
    return render(
        "admin/jobs.html",
        failed=failed,
        redis_error=redis_error,
        stuck_mail=stuck_mail,
        form=EmptyForm(),
    )


@bp.post("/jobs/<job_id>/retry")
def retry_job(job_id: str) -> Response:
    if EmptyForm().validate_on_submit():
        try:
            FailedJobRegistry(queue=queue.queue()).requeue(job_id)
            flash("The job is back in the queue.", "success")
        except Exception as exc:  # the admin sees why (unknown id, Redis down)
            flash(f"Could not retry that job: {exc}", "error")
    return redirect_after_post(url_for("operations.jobs"))


@bp.post("/mail/<int:message_id>/retry")
def retry_mail(message_id: int) -> Response:
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if EmptyForm().validate_on_submit():
        if outbox.retry_failed(message):
            flash(f"Email to {message.to_address} will be sent again.", "success")
        elif message.status == OutboxStatus.SENT:
            flash(f"Email to {message.to_address} has already been sent.", "info")
        else:
            flash(
                f"Email to {message.to_address} is being sent right now; "
                "if that fails it is retried by itself.",
                "error",
            )
    return redirect_after_post(url_for("operations.jobs"))
