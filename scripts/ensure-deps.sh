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

# The chain walk's native core (scenarios/z4j/chain-walk/native, Rust), built where cargo is
# installed and rebuilt when a source is newer than the binary. Without it the walk runs in
# JavaScript (same results, slower), and the tests of the native walk fail until it is built.
crate=scenarios/z4j/chain-walk/native
bin=$crate/target/release/z4j-chain-walk
if ! sh scripts/cargo.sh --version >/dev/null 2>&1; then
  [ -x "$bin" ] || echo "restore-drill: cargo not found: the chain walk runs in JavaScript" >&2
elif [ ! -x "$bin" ] || [ -n "$(find "$crate/src" "$crate/Cargo.toml" "$crate/Cargo.lock" -newer "$bin" 2>/dev/null | head -n 1)" ]; then
  echo "restore-drill: building the native chain walk (cargo build --release)" >&2
  sh scripts/cargo.sh build --release --locked --quiet --manifest-path "$crate/Cargo.toml" >&2 ||
    echo "restore-drill: the native chain walk did not build: the chain walk runs in JavaScript" >&2
fi
