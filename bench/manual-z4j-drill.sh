#!/usr/bin/env bash
# The bare manual drill from z4j's operator docs, as plain docker commands: a
# container of the same image, a fresh install at the migration head, the
# backup and secret.env copied in, z4j's own restore, check, status and audit
# verify. What restore-drill is timed against (bench/drill.ts); it judges
# nothing beyond the exit codes.
# usage: manual-z4j-drill.sh IMAGE ARCHIVE SECRET_ENV
set -euo pipefail
image=$1 archive=$2 secrets=$3
name=rd-bench-manual-$$
docker run -d --name "$name" --label io.restore-drill.role=bench -e TZ=UTC -e Z4J_HOME=/var/lib/z4j "$image" sleep infinity >/dev/null
trap 'docker rm -f "$name" >/dev/null' EXIT
docker cp "$secrets" "$name:/var/lib/z4j/secret.env"
docker exec "$name" z4j migrate upgrade head >/dev/null 2>&1
docker exec "$name" mkdir -p /drill
docker cp "$archive" "$name:/drill/backup.db"
docker exec "$name" z4j restore /drill/backup.db --force >/dev/null 2>&1
docker exec "$name" z4j check >/dev/null 2>&1
docker exec "$name" z4j status >/dev/null 2>&1
docker exec "$name" z4j audit verify >/dev/null 2>&1
