#!/bin/sh
# Runs cargo from PATH, or from rustup's usual place when PATH lacks it (a
# non-login shell); exits 127, saying so, where neither has it.
set -eu
if command -v cargo >/dev/null 2>&1; then exec cargo "$@"; fi
if [ -x "${HOME:-/root}/.cargo/bin/cargo" ]; then exec "${HOME:-/root}/.cargo/bin/cargo" "$@"; fi
echo "restore-drill: cargo not found (install Rust with rustup to build the native chain walk)" >&2
exit 127
