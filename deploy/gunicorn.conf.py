"""gunicorn settings for the web tier: `gunicorn -c deploy/gunicorn.conf.py app:app`.

Why each default (measured with bench/request_cost.py and bench/load.py, see the
README's "Sizing the web tier"):

- Pages are CPU-bound Python (a board 20-30 ms of CPU, a timeline ~9 ms, search ~4 ms;
  each waits on PostgreSQL or Redis for well under a millisecond), so one process per
  core does the work and a second per core covers those waits and a slow client:
  2 × cores sync workers. More workers only queue for the same cores and take memory.
  WEB_CONCURRENCY overrides it, as in most PaaS.
- `sync` workers, no threads: threads share one GIL, so they add no CPU, and a thread
  per request would hold a database connection and a session of its own anyway.
  Behind nginx (which buffers slow clients) a sync worker is never stuck on a socket.
- No keep-alive to the client: sync workers close after each answer; the reverse proxy
  keeps the browser's connection open.
- `timeout` 30 s: a request still running after that is killed and its worker replaced,
  so one pathological request cannot hold a worker for ever.
"""

import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count())
worker_class = "sync"
timeout = 30
graceful_timeout = 30
