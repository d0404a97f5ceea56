#!/usr/bin/env bash
# Create .venv (once) and install mistral-core with its standard plugins into it, editable.
# Usage: scripts/setup.sh [--dev | --client]
#   --client adds the `mistral` command (python-mistralclient) that the README's tour uses;
#   --dev adds the test, lint and client tools, and the test OIDC provider.
# Idempotent: it reinstalls only when a setup.cfg / pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
case "${1:-}" in
  --dev) extras="[dev]"; stamp=".venv/.mistral-core-installed-dev" ;;
  --client) extras="[client]"; stamp=".venv/.mistral-core-installed-client" ;;
  *) extras=""; stamp=".venv/.mistral-core-installed" ;;
esac
digest=$(cat setup.cfg pyproject.toml plugins/*/setup.cfg plugins/*/pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extras}" -e plugins/std-actions -e plugins/http-actions
  echo "$digest" > "$stamp"
fi
# --dev: the OpenID Connect provider the tests start (tests/oidc: node-oidc-provider), when npm is
# here; again only when its package-lock.json changed. npm's cache makes a repeat install offline.
if [ "$extras" = "[dev]" ] && command -v npm >/dev/null; then
  lock=$(sha256sum tests/oidc/package-lock.json | cut -c1-16)
  if [ "$(cat tests/oidc/node_modules/.mistral-core-installed 2>/dev/null)" != "$lock" ]; then
    npm ci --prefix tests/oidc --prefer-offline --no-audit --no-fund --loglevel=error
    echo "$lock" > tests/oidc/node_modules/.mistral-core-installed
  fi
fi
