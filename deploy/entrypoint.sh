#!/bin/sh
# The container's entrypoint (docs/deploy.md). `migrate` brings the database to this version's
# schema and exits: compose runs it once, before any node starts. `serve` runs one node (its own
# migration step is then a no-op). Anything else is run as given (`chargegroups operator create`).
set -eu

case "${1:-serve}" in
  migrate)
    exec chargegroups db upgrade
    ;;
  serve)
    [ "$#" -gt 0 ] && shift
    exec chargegroups serve --host "${CHARGEGROUPS_HOST:-0.0.0.0}" --port "${CHARGEGROUPS_PORT:-8000}" \
      --forwarded-allow-ips "${CHARGEGROUPS_FORWARDED_ALLOW_IPS:-127.0.0.1}" "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
