"""The ceiling: a trivial Flask route, served by the same gunicorn setup as the load test."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "ok"
