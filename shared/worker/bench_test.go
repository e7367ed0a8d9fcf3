package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/store/storetest"
	"github.com/kaleads/kaleads/shared/worker"
)

// BenchmarkRunBatch: an uploaded batch of 1,000 contacts over 100 companies
// (no website: nothing scraped) made into stored emails by the claim loop
// with the offline engine and 16 workers — the database path's own cost
// (claims, context, pipeline, one transaction per email).
func BenchmarkRunBatch(b *testing.B) {
	ctx := context.Background()
	var csv strings.Builder
	csv.WriteString("first_name,email,company_name,industry\n")
	for i := range 1000 {
		fmt.Fprintf(&csv, "P%d,p%d@c%d.example,Company %d,saas\n", i, i, i%100, i%100)
	}
	for b.Loop() {
		b.StopTimer()
		f := setupOn(b, storetest.Open(b))
		up, err := f.st.Upload(ctx, f.client.ID, f.tmpl.ID, strings.NewReader(csv.String()))
		if err != nil || up.Imported != 1000 {
			b.Fatalf("upload %+v %v", up, err)
		}
		w := f.worker(b, nil, nil)
		b.StartTimer()
		st, err := w.Run(ctx, worker.RunOptions{Workers: 16, BatchID: up.BatchID, UntilDone: true})
		if err != nil || st.Completed != 1000 {
			b.Fatalf("run %+v %v", st, err)
		}
		b.ReportMetric(1000/st.Wall.Seconds(), "contacts/s")
	}
}
