#!/usr/bin/env bash
# Run every bench script; each prints `name: value unit` lines.
# hello_app.py, load_seed.py and load_users.py are parts of load.py, not benches of their own.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in timeline kb_suggest board api notifications webhooks triage privacy load; do
  echo "# bench/$script.py"
  .venv/bin/python "bench/$script.py"
done
