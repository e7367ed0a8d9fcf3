package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kaleads/kaleads/supabase"
)

// Migration is one file of supabase/migrations.
type Migration struct {
	Version string // the file name's timestamp, YYYYMMDDHHMMSS
	Name    string // the rest of the file name, without .sql
	SQL     string
}

// MigrateReport says what Migrate did.
type MigrateReport struct {
	// Shim is true when the database lacked Supabase's platform objects
	// (auth.uid(), the anon/authenticated/service_role roles, the columns
	// of auth.users the store uses) and the plain-PostgreSQL shim was loaded
	// first.
	Shim bool
	// Applied lists the migrations applied now, in order; empty when the
	// database was up to date.
	Applied []Migration
}

// migrationLock is the advisory lock key that serialises Migrate calls.
const migrationLock = 0x6b616c65616473 // "kaleads"

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(supabase.Migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".sql")
		version, name, ok := strings.Cut(base, "_")
		if !ok || len(version) != 14 || strings.Trim(version, "0123456789") != "" {
			return nil, fmt.Errorf("store: migration %s: name must be YYYYMMDDHHMMSS_name.sql", n)
		}
		b, err := fs.ReadFile(supabase.Migrations, n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: version, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies the migrations the database lacks, each in its own
// transaction, and records them in supabase_migrations.schema_migrations the
// way the Supabase CLI does, so `kaleads migrate` and `supabase db push` can
// be used in any order without applying a migration twice. On a database
// without Supabase's platform objects (plain PostgreSQL) it loads the shim
// first. Concurrent calls are serialised by an advisory lock. Running it
// again is a no-op.
func (s *Store) Migrate(ctx context.Context) (MigrateReport, error) {
	var rep MigrateReport
	migs, err := Migrations()
	if err != nil {
		return rep, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
			return err
		}
		var platform bool
		// auth.users.encrypted_password: a database made with an older
		// shim lacks it (Supabase has it), and the shim adds it.
		err := tx.QueryRow(ctx, `select to_regprocedure('auth.uid()') is not null
			and exists (select 1 from pg_roles where rolname = 'authenticated')
			and exists (select 1 from pg_roles where rolname = 'service_role')
			and exists (select 1 from pg_roles where rolname = 'anon')
			and exists (select 1 from pg_attribute where attrelid = to_regclass('auth.users')
				and attname = 'encrypted_password' and not attisdropped)`).Scan(&platform)
		if err != nil {
			return err
		}
		if !platform {
			if _, err := tx.Exec(ctx, supabase.Shim); err != nil {
				return fmt.Errorf("load the plain-PostgreSQL shim: %w", err)
			}
			rep.Shim = true
		}
		// The CLI's own statements (pkg/migration/history.go).
		_, err = tx.Exec(ctx, `create schema if not exists supabase_migrations;
			create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
			alter table supabase_migrations.schema_migrations add column if not exists statements text[];
			alter table supabase_migrations.schema_migrations add column if not exists name text;`)
		return err
	})
	if err != nil {
		return rep, wrap("store: migrate", err)
	}
	for _, m := range migs {
		applied := false
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
				return err
			}
			var done bool
			if err := tx.QueryRow(ctx, "select exists (select 1 from supabase_migrations.schema_migrations where version = $1)", m.Version).Scan(&done); err != nil {
				return err
			}
			if done {
				return nil
			}
			stmts := SplitStatements(m.SQL)
			for i, st := range stmts {
				if _, err := tx.Exec(ctx, st); err != nil {
					return fmt.Errorf("statement %d (%s): %w", i+1, clip(firstLine(st), 80), err)
				}
			}
			if _, err := tx.Exec(ctx, "insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)",
				m.Version, m.Name, stmts); err != nil {
				return err
			}
			applied = true
			return nil
		})
		if err != nil {
			return rep, fmt.Errorf("store: migration %s_%s.sql: %w", m.Version, m.Name, err)
		}
		if applied {
			rep.Applied = append(rep.Applied, m)
		}
	}
	return rep, nil
}

// firstLine returns the first line of st that is not a comment.
func firstLine(st string) string {
	for _, l := range strings.Split(st, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
			return l
		}
	}
	return strings.TrimSpace(st)
}

// SplitStatements splits SQL text into statements on the semicolons that are
// outside quotes, dollar-quoted bodies and comments, trimmed and without the
// semicolon, as the Supabase CLI records them. Empty statements are dropped.
func SplitStatements(sql string) []string {
	var out []string
	start := 0
	emit := func(end int) {
		if st := strings.TrimSpace(sql[start:end]); st != "" && !onlyComments(st) {
			out = append(out, st)
		}
	}
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == ';':
			emit(i)
			start = i + 1
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(sql)
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			depth := 0
			for ; i < len(sql); i++ {
				if strings.HasPrefix(sql[i:], "/*") {
					depth++
					i++
				} else if strings.HasPrefix(sql[i:], "*/") {
					depth--
					i++
					if depth == 0 {
						break
					}
				}
			}
		case c == '\'' || c == '"':
			for i++; i < len(sql); i++ {
				if sql[i] == c {
					if i+1 < len(sql) && sql[i+1] == c { // doubled quote
						i++
						continue
					}
					break
				}
			}
		case c == '$':
			if tag, ok := dollarTag(sql[i:]); ok {
				if j := strings.Index(sql[i+len(tag):], tag); j >= 0 {
					i += len(tag) + j + len(tag) - 1
				} else {
					i = len(sql)
				}
			}
		}
	}
	if start < len(sql) {
		emit(len(sql))
	}
	return out
}

// dollarTag returns the $tag$ opening s, if any.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		c := s[j]
		if c == '$' {
			return s[:j+1], true
		}
		isLetter := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
		if !isLetter && !(j > 1 && '0' <= c && c <= '9') {
			return "", false
		}
	}
	return "", false
}

// onlyComments reports whether st holds nothing but comments.
func onlyComments(st string) bool {
	for _, l := range strings.Split(st, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}

// MissingMigrations lists the versions of the embedded migrations the
// database has not applied (empty: the schema is current). A database never
// migrated lists them all.
func (s *Store) MissingMigrations(ctx context.Context) ([]string, error) {
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []string
	err = s.pool.QueryRow(ctx, `select coalesce(array_agg(version), '{}') from supabase_migrations.schema_migrations`).Scan(&applied)
	if err != nil && !errors.Is(wrap("", err), ErrNotMigrated) {
		return nil, wrap("store: migrations", err)
	}
	have := map[string]bool{}
	for _, v := range applied {
		have[v] = true
	}
	var missing []string
	for _, m := range migs {
		if !have[m.Version] {
			missing = append(missing, m.Version+"_"+m.Name)
		}
	}
	return missing, nil
}
