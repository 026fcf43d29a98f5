"""Support Desk: the application factory."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from support.config import BaseConfig, load_config
from support.extensions import csrf, db, htmx, login_manager
from support.params import IdConverter

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides settings (tests pass theirs here)."""
    instance_path = Path(os.environ.get("INSTANCE_PATH") or ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    # Before any route exists: every <int:…> in a URL is bounded (support/params.py).
    app.url_map.converters["int"] = IdConverter
    app.config.from_object(BaseConfig)
    app.config.update(load_config(instance_path, config or {}))
    app.config.update(config or {})

    _init_extensions(app)
    _register_blueprints(app)

    from support import api, cli, security, templating, web

    api.init_app(app)
    web.register_error_handlers(app)
    templating.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    if hops := app.config.get("PROXY_HOPS"):
        # Behind nginx & co.: the real client address (rate limits) and scheme (cookies).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def compile_templates(app: Flask) -> int:
    """Compile every template now (pages, fragments, emails); returns how many.

    Jinja compiles a template the first time it renders, ~6 ms each (0.46 s for all of
    them), so a web worker that had just started paid for it on its first pages: under
    load the load test's pages had p99s of 130-180 ms with it and 85-130 ms without
    (bench/README.md, 2026-12-07). gunicorn calls this as each worker starts
    (deploy/gunicorn.conf.py), before it serves anyone.
    """
    names = app.jinja_env.list_templates()
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)


def freeze_startup_objects() -> None:
    """Move everything built so far (the app, its routes, templates, models, the OpenAPI
    document) out of the garbage collector's sight, for the life of the process.

    Without it, a request that makes many objects (the API's 500-event timeline) trips
    full collections that walk all ~170,000 of them again: one request in eight paid
    ~40 ms for it (bench/api.py). Call it once the app is built, in each process.
    """
    gc.collect()
    gc.freeze()


def _init_extensions(app: Flask) -> None:
    from support import migrating

    db.init_app(app)
    migrating.init_app(app)  # `flask db ...`; Alembic is imported only when used
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)

    from support import database, ratelimit, settings_cache
    from support.jobs import queue

    database.init_app(app)
    queue.init_app(app)
    ratelimit.init_app(app)
    settings_cache.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from support.account.views import bp as account_bp
    from support.admin.mail import bp as mail_admin_bp
    from support.admin.operations import bp as operations_bp
    from support.admin.people import bp as people_admin_bp
    from support.admin.routing import bp as routing_admin_bp
    from support.admin.triage import bp as triage_admin_bp
    from support.admin.views import bp as admin_bp
    from support.admin.webhooks import bp as webhooks_admin_bp
    from support.auth.views import bp as auth_bp
    from support.board.views import bp as board_bp
    from support.kb.insights_views import bp as kb_insights_bp
    from support.kb.views import bp as kb_bp
    from support.mailhook.views import bp as mailhook_bp
    from support.main.views import bp as main_bp
    from support.notify import views as notifications
    from support.portal.views import bp as portal_bp
    from support.privacy import views as privacy
    from support.queue.views import bp as queue_bp
    from support.reports.views import bp as reports_bp
    from support.survey.views import bp as survey_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(portal_bp)
    app.register_blueprint(kb_bp)
    app.register_blueprint(kb_insights_bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(survey_bp)
    app.register_blueprint(operations_bp)
    app.register_blueprint(board_bp)
    app.register_blueprint(queue_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(triage_admin_bp)
    app.register_blueprint(routing_admin_bp)
    app.register_blueprint(people_admin_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(webhooks_admin_bp)
    app.register_blueprint(mailhook_bp)
    app.register_blueprint(mail_admin_bp)
    app.register_blueprint(privacy.bp)
    app.register_blueprint(privacy.admin_bp)
    notifications.init_app(app)
