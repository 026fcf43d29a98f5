"""The satisfaction survey behind the signed link in the follow-up email (no login)."""

from __future__ import annotations

from flask import Blueprint, Response

from support import clock
from support.forms import BaseForm, RatingForm
from support.survey import tokens
from support.tickets import service
from support.tickets.service import TicketError
from support.web import render

bp = Blueprint("survey", __name__, url_prefix="/survey")
PAGE = "survey/survey.html"


@bp.route("/<token>", methods=["GET", "POST"])
def answer(token: str) -> Response:
    try:
        invite = tokens.invite_for(token)
    except tokens.InvalidToken:
        return render(PAGE, state="invalid", status=404)
    if invite.used_at is not None:
        return render(PAGE, state="used", ticket=invite.ticket, status=410)
    if clock.now() > invite.expires_at:
        return render(PAGE, state="expired", ticket=invite.ticket, status=410)
    form: BaseForm = RatingForm()
    if form.validate_on_submit():
        if not tokens.claim(invite):
            return render(PAGE, block="survey", state="used", ticket=invite.ticket, status=410)
        try:
            service.rate(
                invite.ticket,
                customer=invite.ticket.customer,
                score=int(form.score.data),
                comment=form.comment.data,
            )
        except TicketError as exc:
            tokens.release(invite)
            form.score.errors = [*form.score.errors, str(exc)]
        else:
            return render(PAGE, block="survey", state="thanks", ticket=invite.ticket)
    status = 422 if form.errors else 200
    return render(
        PAGE, block="survey", state="open", form=form, ticket=invite.ticket, status=status
    )
