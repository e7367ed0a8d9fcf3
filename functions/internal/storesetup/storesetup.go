// Package storesetup opens a function's database: DATABASE_URL, or the
// Secrets Manager secret DATABASE_URL_SECRET_ARN names. Apart from setup so
// that a function without a database (ingest) does not link pgx.
package storesetup

import (
	"context"
	"fmt"

	"github.com/kaleads/kaleads/functions/internal/setup"
	"github.com/kaleads/kaleads/shared/store"
)

// Open reads the database URL and opens the store.
func Open(ctx context.Context, s *setup.Setup) (*store.Store, error) {
	dbURL, err := s.Secret(ctx, setup.EnvDatabaseURL, setup.EnvDatabaseURLARN)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("open the database (%s / %s): %w", setup.EnvDatabaseURL, setup.EnvDatabaseURLARN, err)
	}
	return st, nil
}
