package campaign

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// The database path: client added, CSV uploaded, batch generated; every
// valid contact ends completed with one email pending review, and a second
// run over the same batch makes no more emails.
func TestRunBatch(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	c, err := st.AddClient(ctx, "Prospectia", clientctx.Dir(example))
	if err != nil {
		t.Fatal(err)
	}
	tmplData, _ := os.ReadFile(example + "/template.md")
	tmpl, err := st.AddTemplate(ctx, c.ID, "Cold Email V1", tmplData)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(example + "/contacts_bad.csv")
	defer f.Close()
	up, err := st.Upload(ctx, c.ID, tmpl.ID, f)
	if err != nil {
		t.Fatal(err)
	}
	if up.Imported == 0 || len(up.RowErrors) == 0 || up.BatchID == "" {
		t.Fatalf("upload %+v", up)
	}
	out, err := RunBatch(ctx, st, up.BatchID, BatchOptions{Concurrency: 4, SitesDir: example + "/sites"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Claimed != up.Imported || out.Completed != up.Imported || out.Failed != 0 {
		t.Fatalf("outcome %+v for %d imported", out, up.Imported)
	}
	again, err := RunBatch(ctx, st, up.BatchID, BatchOptions{SitesDir: example + "/sites"})
	if err != nil || again.Claimed != 0 {
		t.Fatalf("second run claimed %d (%v)", again.Claimed, err)
	}
	var emails, pendingReview int
	var body string
	err = st.Pool().QueryRow(ctx, `select count(*), count(*) filter (where review_status = 'pending_review'), min(email_generated)
		from emails_generated e join contacts_to_enrich c on c.id = e.contact_id where c.batch_id = $1`, up.BatchID).Scan(&emails, &pendingReview, &body)
	if err != nil {
		t.Fatal(err)
	}
	if emails != up.Imported || pendingReview != emails || !strings.Contains(body, "Bonjour") {
		t.Errorf("%d emails, %d pending review for %d contacts; body %q", emails, pendingReview, up.Imported, body)
	}
	var completed int
	st.Pool().QueryRow(ctx, `select count(*) from contacts_to_enrich where batch_id = $1 and status = 'completed'`, up.BatchID).Scan(&completed)
	if completed != up.Imported {
		t.Errorf("%d contacts completed, want %d", completed, up.Imported)
	}
}
