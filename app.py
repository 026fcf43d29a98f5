"""WSGI entry point: `flask --app app ...` and `gunicorn app:app`."""

from support import create_app

app = create_app()
