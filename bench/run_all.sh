#!/usr/bin/env bash
# Run every bench script; each prints `name: value unit` lines.
# hello_app.py, load_seed.py, load_users.py and cpu.py are parts of load.py, not benches of their own.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in timeline account kb_suggest kb_relevance board agent_queue reports api notifications webhooks mail_ingest mail_imap triage privacy request_cost load; do
  echo "# bench/$script.py"
  .venv/bin/python "bench/$script.py"
done
