#!/usr/bin/env bash
# The bare manual drill from z4j's operator docs, as plain docker commands: a
# container of the same image, a fresh install at the migration head, the
# backup and secret.env copied in, z4j's own restore, check, status and audit
# verify. What restore-drill is timed against (bench/drill.ts); it judges
# nothing beyond the exit codes.
# usage: manual-z4j-drill.sh IMAGE ARCHIVE SECRET_ENV
# Each z4j command's wall time (ms) goes to stderr as "app-ms N", so the bench
# can tell z4j's own time from the procedure's.
set -euo pipefail
image=$1 archive=$2 secrets=$3
name=rd-bench-manual-$$
docker run -d --name "$name" --label io.restore-drill.role=bench -e TZ=UTC -e Z4J_HOME=/var/lib/z4j "$image" sleep infinity >/dev/null
trap 'docker rm -f "$name" >/dev/null' EXIT
docker cp "$secrets" "$name:/var/lib/z4j/secret.env"
z4j() {
  local t0 t1
  t0=$(date +%s%N)
  docker exec "$name" z4j "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo "app-ms $(((t1 - t0) / 1000000))" >&2
}
z4j migrate upgrade head
docker exec "$name" mkdir -p /drill
docker cp "$archive" "$name:/drill/backup.db"
z4j restore /drill/backup.db --force
z4j check
z4j status
z4j audit verify
