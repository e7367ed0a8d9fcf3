// Package supabase embeds the database migrations (supabase/migrations, in
// the Supabase CLI's layout, applied by `supabase db push` and by the store's
// Migrate) and the shim that gives plain PostgreSQL what the Supabase
// platform provides (roles anon, authenticated and service_role, auth.users,
// auth.uid()).
package supabase

import "embed"

// Migrations holds migrations/*.sql, named YYYYMMDDHHMMSS_name.sql.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Shim is the SQL that stands in for the Supabase platform on plain
// PostgreSQL. It is idempotent and never part of the migrations.
//
//go:embed shim/plain_postgres.sql
var Shim string
