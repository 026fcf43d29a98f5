"""gunicorn settings for the web tier: `gunicorn -c deploy/gunicorn.conf.py app:app`.

Why each default (measured with bench/request_cost.py and bench/load.py, see the
README's "Sizing the web tier"):

- Pages are CPU-bound Python (a board ~10 ms of CPU, a ticket page ~7 ms, search ~4 ms;
  each waits on PostgreSQL or Redis for well under a millisecond), so one process per
  core does the work, and one more covers the moments a worker waits (a commit for the
  disk, a long CSV export, a slow client): cores + 1 sync workers. More only take
  turns on the same cores: on 2 cores shared with PostgreSQL, Redis and the RQ workers,
  at the ceiling 4 workers served 205-207 requests/s at 9.4 ms of CPU a request, 3
  served 220-238 at 8.1-8.8 ms and 2 served 221-227 at 8.0-8.2 ms (bench/load.py,
  2026-12-07).
  WEB_CONCURRENCY overrides it, as in most PaaS.
- `sync` workers, no threads: threads share one GIL, so they add no CPU, and a thread
  per request would hold a database connection and a session of its own anyway.
  Behind nginx (which buffers slow clients) a sync worker is never stuck on a socket.
- No keep-alive to the client: sync workers close after each answer; the reverse proxy
  keeps the browser's connection open.
- `timeout` 30 s: a request still running after that is killed and its worker replaced,
  so one pathological request cannot hold a worker for ever.
- Each worker compiles every template before its first request (`post_worker_init`),
  so the first visitors after a deploy or a worker's restart do not wait for Jinja.
"""

import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() + 1)
worker_class = "sync"
timeout = 30
graceful_timeout = 30


def post_worker_init(worker) -> None:
    """Compile the templates (support.compile_templates), then keep them out of the
    garbage collector's sight like the rest of the app. A failure here only costs the
    first requests their compile time: the worker serves anyway."""
    try:
        from support import compile_templates, freeze_startup_objects

        compiled = compile_templates(worker.wsgi)
        freeze_startup_objects()
        worker.log.info("Compiled %d templates", compiled)
    except Exception:
        worker.log.exception("Could not compile the templates ahead; they compile on first use")
