#!/bin/sh
# restore.sh FILE: a dump from backup.sh into the database CHARGEGROUPS_DATABASE_URL names,
# which must exist and be empty (createdb it first); all or nothing, in one transaction.
set -eu
file=${1:?usage: restore.sh FILE}
url=$(printf %s "${CHARGEGROUPS_DATABASE_URL:?set CHARGEGROUPS_DATABASE_URL}" | sed 's/^postgresql+[a-z]*:/postgresql:/')
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$url" "$file"
