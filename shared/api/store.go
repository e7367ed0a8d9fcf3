package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kaleads/kaleads/shared/queue"
	"github.com/kaleads/kaleads/shared/store"
)

// FromStore returns st as the API's Store: *store.Store with BatchClient,
// which the store does not offer, read through its pool.
func FromStore(st *store.Store) Store { return dbStore{st} }

type dbStore struct{ *store.Store }

// BatchClient returns the client of a batch's contacts (one client per
// upload), store.ErrNotFound when the batch has none.
func (s dbStore) BatchClient(ctx context.Context, batchID string) (string, error) {
	if !queue.IsUUID(batchID) {
		return "", fmt.Errorf("store: batch %q: %w", clip(batchID, 60), store.ErrNotFound)
	}
	var clientID string
	err := s.Pool().QueryRow(ctx, `select client_id::text from public.contacts_to_enrich where batch_id = $1 limit 1`, batchID).Scan(&clientID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("store: batch %s: %w", batchID, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("api: the client of batch %s: %w", batchID, err)
	}
	return clientID, nil
}
