#!/bin/sh
# Installs the npm dependencies when they are missing or older than the lockfile,
# so each README command works on a fresh clone with nothing typed before it.
set -eu
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "restore-drill: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
