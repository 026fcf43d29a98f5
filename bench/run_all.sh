#!/usr/bin/env bash
# Run every bench script; each prints `name: value unit` lines.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in bench/*.py; do
  case "$(basename "$script")" in common.py) continue ;; esac
  echo "# $script"
  .venv/bin/python "$script"
done
