#!/usr/bin/env bash
# Set up (first time) and run mistral-core on the embedded default: one process, SQLite
# (./mistral-core.db), http://127.0.0.1:8989. The set-up also installs the `mistral` command
# (.venv/bin/mistral) that the README's tour uses. Extra arguments go to `mistral-core serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --client
exec .venv/bin/mistral-core serve "$@"
