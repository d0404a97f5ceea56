#!/usr/bin/env bash
# Create .venv (once) and install mistral-core with its standard plugins into it, editable.
# Usage: scripts/setup.sh [--dev]     (--dev adds the test, lint and client tools)
# Idempotent: it reinstalls only when a setup.cfg / pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
extras=""; [ "${1:-}" = "--dev" ] && extras="[dev]"
stamp=".venv/.mistral-core-installed${extras:+-dev}"
digest=$(cat setup.cfg pyproject.toml plugins/*/setup.cfg plugins/*/pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extras}" -e plugins/std-actions -e plugins/http-actions
  echo "$digest" > "$stamp"
fi
