"""WSGI entry point: `flask --app app ...` and `gunicorn app:app`."""

from support import create_app, freeze_startup_objects

app = create_app()
freeze_startup_objects()
