#!/bin/sh
# verify-backup.sh FILE: proves a dump restores and serves. Restores it into a scratch database
# on the server of CHARGEGROUPS_DATABASE_URL, runs `chargegroups serve` on it (port
# VERIFY_PORT, default 8099) until /readyz answers 200, then stops it and drops the scratch
# database. Exits 0 and prints "ready" when the backup is good (within VERIFY_SECONDS, 180).
set -eu
file=${1:?usage: verify-backup.sh FILE}
here=$(cd "$(dirname "$0")" && pwd)
url=${CHARGEGROUPS_DATABASE_URL:?set CHARGEGROUPS_DATABASE_URL}
server=${url%/*}
scratch="chargegroups_verify_$$"
port=${VERIFY_PORT:-8099}
admin=$(printf %s "$server/postgres" | sed 's/^postgresql+[a-z]*:/postgresql:/')
pid=""

cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  psql "$admin" -q -c "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)" >/dev/null
}
trap cleanup EXIT

psql "$admin" -q -c "CREATE DATABASE \"$scratch\"" >/dev/null
CHARGEGROUPS_DATABASE_URL="$server/$scratch" "$here/restore.sh" "$file"
CHARGEGROUPS_DATABASE_URL="$server/$scratch" chargegroups serve --port "$port" >/dev/null 2>&1 &
pid=$!

python3 - "$port" "${VERIFY_SECONDS:-180}" <<'PY'
import sys, time, urllib.error, urllib.request

deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=10) as answer:
            if answer.status == 200:
                print("ready")
                sys.exit(0)
    except (urllib.error.URLError, OSError):
        pass
    time.sleep(0.5)
sys.exit("the restored database did not become ready")
PY
