#!/usr/bin/env bash
# Checks supabase/migrations with the real Supabase CLI against the local
# PostgreSQL: creates a scratch database, loads the plain-PostgreSQL shim
# (what the Supabase platform provides), runs `supabase db push`, checks
# every migration is recorded and a second push finds nothing to do, then
# runs the Go test that checks `kaleads migrate` (store.Migrate) and the CLI
# agree in both orders. Drops the scratch database on exit.
#
# Environment:
#   KALEADS_TEST_DATABASE_URL  admin URL (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
#   SUPABASE_CLI               CLI command (default: npx --yes supabase@2.117.0)
set -euo pipefail
cd "$(dirname "$0")/.."

admin=${KALEADS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
cli=${SUPABASE_CLI:-npx --yes supabase@2.117.0}
db="kaleads_push_check_$$"
url=$(printf '%s' "$admin" | sed -E "s#^(postgres(ql)?://[^/]*)(/[^?]*)?#\1/$db#")

psql "$admin" -v ON_ERROR_STOP=1 -qc "create database $db"
trap 'psql "$admin" -qc "drop database if exists $db with (force)" >/dev/null' EXIT

psql "$url" -v ON_ERROR_STOP=1 -q -f supabase/shim/plain_postgres.sql
$cli db push --db-url "$url" --include-all --yes

want=$(ls supabase/migrations/*.sql | wc -l)
got=$(psql "$url" -Atc "select count(*) from supabase_migrations.schema_migrations")
if [ "$got" != "$want" ]; then
	echo "supabase-push-check: $got migrations recorded, want $want" >&2
	exit 1
fi
again=$($cli db push --db-url "$url" --yes 2>&1)
if ! grep -q "up to date" <<<"$again"; then
	printf 'supabase-push-check: a second push did something:\n%s\n' "$again" >&2
	exit 1
fi

KALEADS_SUPABASE_CLI="$cli" go test -count=1 -run 'TestSupabaseCLIAgrees' ./shared/store/

echo "supabase-push-check: ok ($want migrations applied by supabase db push; kaleads migrate agrees)"
