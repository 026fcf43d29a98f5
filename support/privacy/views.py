"""Privacy screens: /account/privacy (export, erase), /admin/privacy (retention,
erasures), /admin/audit (the log, CSV), /privacy (the notice). Thin: the rules live in
support/privacy/{export,erasure,retention,audit}.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import InputRequired, Optional

from support import clock
from support.admin import access
from support.auth import accounts
from support.extensions import db
from support.forms import BaseForm, EmptyForm
from support.models import DataExport, ErasureRequest, ErasureState, JobState, User
from support.params import plain_int
from support.privacy import audit, erasure, export, retention
from support.privacy.audit import Action
from support.web import redirect_after_post, render, wants_fragment

bp = Blueprint("privacy", __name__)
admin_bp = access.admins_only(Blueprint("privacy_admin", __name__, url_prefix="/admin"))

AUDIT_PAGE_SIZE = 50
FILTER_NAMES = ("action", "actor", "since", "until", "address")


def _address() -> str | None:
    return request.remote_addr


# ---- the notice ----------------------------------------------------------------------


@bp.get("/privacy")
def notice() -> Response:
    return render("privacy/notice.html")


# ---- /account/privacy ------------------------------------------------------------------


class EraseForm(BaseForm):
    understood = BooleanField(
        "I understand: my tickets' messages, my files and my account will be removed for good.",
        validators=[InputRequired("Tick the box to confirm you understand.")],
    )


def _account_page(
    status: int = 200, erase_form: EraseForm | None = None, export_error: str | None = None
) -> Response:
    latest = export.latest(current_user)
    return render(
        "privacy/account.html",
        status=status,
        latest=latest,
        downloadable=latest is not None and export.downloadable(latest),
        pending=erasure.open_request(current_user),
        erase_form=erase_form or EraseForm(formdata=None),
        form=EmptyForm(),
        export_error=export_error,
    )


@bp.get("/account/privacy")
@login_required
def account() -> Response:
    return _account_page()


@bp.post("/account/privacy/export")
@login_required
def ask_export() -> Response:
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        export.ask(current_user, address=_address())
    except export.ExportRefused as exc:
        return _account_page(409, export_error=str(exc))
    flash("We're putting your data together. This page shows the progress.", "success")
    return redirect_after_post(url_for("privacy.account"))


def _own_export(export_id: int) -> DataExport:
    found = db.session.get(DataExport, export_id)
    if found is None or found.user_id != current_user.id:
        abort(404)  # someone else's export: not even confirmed to exist
    return found


@bp.get("/account/privacy/exports/<int:export_id>")
@login_required
def export_status(export_id: int) -> Response:
    """The progress fragment htmx polls; 286 stops the polling once it is finished."""
    found = _own_export(export_id)
    if not wants_fragment():
        return redirect_after_post(url_for("privacy.account"))  # the whole page is there
    response = render(
        "privacy/account.html",
        block="export_status",
        latest=found,
        downloadable=export.downloadable(found),
        form=EmptyForm(),
    )
    if found.state not in (JobState.QUEUED, JobState.RUNNING) and request.htmx:
        response.status_code = 286
    return response


@bp.get("/account/privacy/exports/<int:export_id>/download")
@login_required
def download(export_id: int) -> Response:
    found = _own_export(export_id)
    if not export.downloadable(found):
        return render("privacy/expired.html", status=410, export=found)
    audit.record(Action.EXPORT_DOWNLOADED, current_user, found, address=_address())
    path = export.path_of(found)
    response = send_file(
        path,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"my-support-data-{found.created_at:%Y-%m-%d}.zip",
        conditional=True,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/account/privacy/erase")
@login_required
def ask_erasure() -> Response:
    form = EraseForm()
    if not form.validate_on_submit():
        return _account_page(422, erase_form=form)
    try:
        erasure.ask(current_user, by=current_user, address=_address())
    except erasure.ErasureError as exc:
        form.understood.errors = [str(exc)]
        return _account_page(422, erase_form=form)
    flash(
        "We've got your request. An admin confirms it, then your data is erased; "
        "you can cancel until then.",
        "success",
    )
    return redirect_after_post(url_for("privacy.account"))


@bp.post("/account/privacy/erase/cancel")
@login_required
def cancel_erasure() -> Response:
    if not EmptyForm().validate_on_submit():
        abort(400)
    pending = erasure.open_request(current_user)
    if pending is None:
        flash("There is no erasure request to cancel.", "info")
    else:
        try:
            erasure.cancel(pending, by=current_user, address=_address())
            flash("Your erasure request is cancelled. Nothing was erased.", "success")
        except erasure.ErasureError as exc:
            flash(str(exc), "error")
    return redirect_after_post(url_for("privacy.account"))


# ---- /admin/privacy --------------------------------------------------------------------


def _days(label: str, help_text: str) -> IntegerField:
    return IntegerField(label, description=help_text, validators=[Optional()])


class RetentionForm(BaseForm):
    anonymise_closed_after_days = _days(
        "Anonymise closed tickets after (days)",
        "Subject, messages, files and ratings' comments are removed; status, times, category "
        "and score stay for the reports. Empty: keep.",
    )
    delete_files_after_days = _days(
        "Delete stored attachments and raw emails after (days)",
        "Files on any ticket older than this go; the messages stay. Empty: keep.",
    )
    audit_days = IntegerField(
        "Keep the audit log for (days)",
        description="At least 90.",
        validators=[InputRequired("Enter a number of days (at least 90).")],
    )


class StartErasureForm(BaseForm):
    who = StringField(
        "Customer's email or account number",
        validators=[InputRequired("Enter the customer's email or number.")],
    )


def _admin_page(
    status: int = 200,
    retention_form: RetentionForm | None = None,
    start_form: StartErasureForm | None = None,
    preview=None,
    block: str | None = None,
) -> Response:
    saved = retention.settings()
    if retention_form is None:
        retention_form = RetentionForm(formdata=None, obj=saved)
    requests = erasure.recent()
    pending = [r for r in requests if r.state == ErasureState.REQUESTED]
    return render(
        "privacy/admin.html",
        block=block,
        status=status,
        retention_form=retention_form,
        start_form=start_form or StartErasureForm(formdata=None),
        form=EmptyForm(),
        preview=preview,
        saved=saved,
        pending=pending,
        history=[r for r in requests if r.state != ErasureState.REQUESTED],
    )


@admin_bp.get("/privacy")
def privacy_page() -> Response:
    return _admin_page()


@admin_bp.post("/privacy/retention")
def save_retention() -> Response:
    form = RetentionForm()
    dry_run = request.form.get("action") == "preview"
    if not form.validate_on_submit():
        return _admin_page(422, retention_form=form, block="retention")
    values = {
        "anonymise_closed_after_days": form.anonymise_closed_after_days.data,
        "delete_files_after_days": form.delete_files_after_days.data,
    }
    try:
        for name, value in values.items():
            retention.check_days(name, value)
        if dry_run:
            preview = retention.preview(*values.values())
            return _admin_page(retention_form=form, preview=preview, block="retention")
        retention.save(
            anonymise_days=values["anonymise_closed_after_days"],
            files_days=values["delete_files_after_days"],
            audit_days=form.audit_days.data,
            by=current_user,
            address=_address(),
        )
    except retention.RetentionError as exc:
        getattr(form, exc.field).errors = [str(exc)]
        return _admin_page(422, retention_form=form, block="retention")
    flash("Saved. The next sweep (within a minute) applies it.", "success")
    return redirect_after_post(url_for("privacy_admin.privacy_page"))


def _request_or_404(request_id: int) -> ErasureRequest:
    found = db.session.get(ErasureRequest, request_id)
    if found is None:
        abort(404)
    return found


@admin_bp.post("/privacy/erasures/<int:request_id>/confirm")
def confirm_erasure(request_id: int) -> Response:
    found = _request_or_404(request_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        erasure.confirm(found, by=current_user, address=_address())
    except erasure.ErasureError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Erasing {found.customer.name}'s data now.", "success")
    return redirect_after_post(url_for("privacy_admin.privacy_page"))


@admin_bp.post("/privacy/erasures/<int:request_id>/decline")
def decline_erasure(request_id: int) -> Response:
    found = _request_or_404(request_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        erasure.cancel(found, by=current_user, address=_address())
    except erasure.ErasureError as exc:
        flash(str(exc), "error")
    else:
        flash("Declined: nothing was erased.", "info")
    return redirect_after_post(url_for("privacy_admin.privacy_page"))


def _find_customer(who: str) -> User | None:
    who = who.strip()
    if (number := plain_int(who.removeprefix("#"))) is not None:
        return db.session.get(User, number)
    return accounts.find_by_email(who) if "@" in who else None


@admin_bp.post("/privacy/erasures")
def start_erasure() -> Response:
    form = StartErasureForm()
    if not form.validate_on_submit():
        return _admin_page(422, start_form=form)
    person = _find_customer(form.who.data)
    if person is None:
        form.who.errors = ["No account has this email or number. Check it at Admin → People."]
        return _admin_page(422, start_form=form)
    try:
        started = erasure.start(person, by=current_user, address=_address())
    except erasure.ErasureError as exc:
        form.who.errors = [str(exc)]
        return _admin_page(422, start_form=form)
    if started is None:
        flash(f"{person.name} was already erased: nothing more to do.", "info")
    else:
        flash(f"Erasing {person.name}'s data now.", "success")
    return redirect_after_post(url_for("privacy_admin.privacy_page"))


# ---- /admin/audit ----------------------------------------------------------------------


def _date(value: str | None) -> datetime | None:
    try:
        return datetime.strptime((value or "")[:10], "%Y-%m-%d")
    except ValueError:
        return None


def _filters() -> audit.Filters:
    args = request.args
    action = args.get("action", "")
    until = _date(args.get("until"))
    return audit.Filters(
        action=action if action in {a.value for a in Action} else "",
        actor=plain_int(args.get("actor")),
        since=_date(args.get("since")),
        until=until + timedelta(days=1) if until else None,  # "until" includes that day
        address=args.get("address", "")[:45].strip(),
    )


@admin_bp.get("/audit")
def audit_log() -> Response:
    filters = _filters()
    page = max(plain_int(request.args.get("page"), maximum=100_000) or 1, 1)
    entries, total = audit.page(filters, AUDIT_PAGE_SIZE, (page - 1) * AUDIT_PAGE_SIZE)
    # Only the filters go back into links (never a name url_for would take as an option).
    args = {k: request.args.get(k, "")[:45] for k in FILTER_NAMES if request.args.get(k)}
    return render(
        "privacy/audit.html",
        block="results",
        entries=entries,
        people=audit.people_named(entries),
        total=total,
        page=page,
        pages=max((total + AUDIT_PAGE_SIZE - 1) // AUDIT_PAGE_SIZE, 1),
        actions=list(Action),
        labels=audit.LABELS,
        args=args,
    )


@admin_bp.get("/audit.csv")
def audit_csv() -> Response:
    filters = _filters()
    stamp = clock.now().strftime("%Y-%m-%d")
    return Response(
        audit.csv_rows(filters, db.engine),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-log-{stamp}.csv"'},
    )
