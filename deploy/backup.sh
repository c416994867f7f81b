#!/bin/sh
# backup.sh [FILE]: pg_dump of the database CHARGEGROUPS_DATABASE_URL names, in pg_dump's
# custom format (compressed, restorable table by table); prints the file's name.
set -eu
url=$(printf %s "${CHARGEGROUPS_DATABASE_URL:?set CHARGEGROUPS_DATABASE_URL}" | sed 's/^postgresql+[a-z]*:/postgresql:/')
file=${1:-chargegroups-$(date -u +%Y%m%dT%H%M%SZ).dump}
pg_dump --format=custom --no-owner --no-privileges --dbname="$url" --file="$file"
echo "$file"
