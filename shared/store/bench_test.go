package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/store/storetest"
)

// BenchmarkUpload10k measures Upload of a 10,000-contact CSV: read and
// validate, duplicate check, one COPY, commit.
func BenchmarkUpload10k(b *testing.B) {
	ctx := context.Background()
	s := storetest.Open(b)
	const n = 10000
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c, tp := newClient(b, s, fmt.Sprintf("Bench %d", i))
		csv := csvOf(n, "bench")
		b.StartTimer()
		start := time.Now()
		rep, err := s.Upload(ctx, c.ID, tp.ID, strings.NewReader(csv))
		total += time.Since(start)
		if err != nil || rep.Imported != n {
			b.Fatalf("imported %d: %v", rep.Imported, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "contacts/s")
}

// BenchmarkClaim8x10k measures 8 concurrent claimers (10 contacts per
// claim, half by batch, half ClaimNext) draining 10,000 pending contacts,
// and fails on any contact claimed twice.
func BenchmarkClaim8x10k(b *testing.B) {
	ctx := context.Background()
	s := storetest.Open(b)
	const n = 10000
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c, tp := newClient(b, s, fmt.Sprintf("Bench %d", i))
		rep := upload(b, s, c.ID, tp.ID, csvOf(n, "claim"))
		b.StartTimer()
		start := time.Now()
		seen, err := claimAll(ctx, s, rep.BatchID, 8, 10)
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if len(seen) != n {
			b.Fatalf("claimed %d distinct contacts, want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				b.Fatalf("contact %s claimed %d times", id, k)
			}
		}
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "claims/s")
}
