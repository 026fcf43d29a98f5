"""`POST /inbound/email`: an email provider hands us one raw message (MIME, the body).

The request is signed like our own webhooks (support/webhooks/signing.py), with the
shared secret INBOUND_EMAIL_SECRET from the environment: `Support-Desk-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256 of "t." + body>`. No session cookie is read, so
it needs no CSRF token; without a valid, recent signature nothing is stored.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from support.extensions import csrf
from support.mail.inbound import intake
from support.webhooks import signing

bp = Blueprint("mailhook", __name__)
csrf.exempt(bp)


def _problem(status: int, detail: str) -> tuple[Response, int]:
    return jsonify({"status": status, "detail": detail}), status


@bp.post("/inbound/email")
def inbound_email() -> tuple[Response, int]:
    secret = current_app.config["INBOUND_EMAIL_SECRET"]
    if not secret:
        return _problem(404, "Inbound email by webhook is not set up (INBOUND_EMAIL_SECRET).")
    body = request.get_data(cache=False)
    header = request.headers.get(signing.HEADER, "")
    if not header:
        return _problem(401, f"Sign the request: the {signing.HEADER} header is missing.")
    if not signing.verify(secret, body, header):
        return _problem(
            401,
            f"The {signing.HEADER} signature does not match this body, or its timestamp is "
            f"more than {signing.TOLERANCE_SECONDS} seconds away from ours.",
        )
    if not body.strip():
        return _problem(400, "The body is empty: send the raw message (RFC 822 / MIME).")
    message = intake.store(body, "webhook")
    return jsonify({"id": message.id, "status": message.status.value}), 202
