#!/usr/bin/env bash
# Set up (first time) and run every check: lint, format, types, import contracts, and the tests
# of the core and of every plugin (SQLite, and PostgreSQL on 127.0.0.1:5432 when reachable;
# with CI set, PostgreSQL tests fail instead of skipping), and a schemathesis run over the API's
# OpenAPI document (SKIP_SCHEMATHESIS=1 skips it). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff";         ruff check .
echo "== ruff format";  ruff format --check .
echo "== mypy";         mypy mistral_core plugins/std-actions/mistral_std_actions plugins/http-actions/mistral_http_actions benchmarks
echo "== import contracts"; lint-imports
# The API fuzzed over its own OpenAPI document, against real servers (SQLite, PostgreSQL): ~1.5 min.
if [ -z "${SKIP_SCHEMATHESIS:-}" ]; then echo "== schemathesis"; python scripts/schemathesis_run.py; fi
echo "== pytest";       python -m pytest "$@"
