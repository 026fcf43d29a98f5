"""The front door (get help) and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from support import settings_cache
from support.extensions import db
from support.jobs.redis import connection
from support.web import render

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> Response:
    return render("main/index.html", categories=settings_cache.active_categories())


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Is the database reachable, and Redis? 200 when both are, 503 otherwise."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        db.session.rollback()
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        connection().ping()
        checks["redis"] = "ok"
    except RedisError as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503
