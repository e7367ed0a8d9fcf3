package store_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/pipeline"
	"github.com/kaleads/kaleads/shared/quality"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// Compile-time check: the store's cache is the pipeline's.
var _ pipeline.Cache = (*store.AgentCache)(nil)

const clientDir = "testdata/client"

// newClient adds a client from testdata/client and its template.
func newClient(t testing.TB, s *store.Store, name string) (store.Client, store.Template) {
	t.Helper()
	ctx := context.Background()
	c, err := s.AddClient(ctx, name, clientctx.Dir(clientDir))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(clientDir + "/template.md")
	if err != nil {
		t.Fatal(err)
	}
	tp, err := s.AddTemplate(ctx, c.ID, "Cold Email V1", b)
	if err != nil {
		t.Fatal(err)
	}
	return c, tp
}

// csvOf returns a CSV of n valid contacts whose emails start with tag.
func csvOf(n int, tag string) string {
	var b strings.Builder
	b.WriteString("first_name,last_name,email,company_name,website,industry\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "Prénom%d,Nom%d,%s%d@company%d.example,Company %d,https://company%d.example,saas\n", i, i, tag, i, i%50, i%50, i%50)
	}
	return b.String()
}

// upload uploads a CSV and fails the test on error.
func upload(t testing.TB, s *store.Store, clientID, templateID, csv string) store.UploadReport {
	t.Helper()
	rep, err := s.Upload(context.Background(), clientID, templateID, strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// resultFor makes a generated result as the pipeline would for a contact.
func resultFor(cc store.ClaimedContact) email.Result {
	persona := email.Answer{
		Agent: "persona", Values: map[string]string{"target_persona": "directeurs commerciaux de PME", "product_category": "logiciel de téléphonie"},
		Confidence: 4, FallbackLevel: 1, Reasoning: "page d'accueil", Engine: "llm", Version: "gpt-4o-mini/p1",
		Evidence: []email.Evidence{{URL: cc.Contact.Website, Quote: "téléphonie cloud"}},
		Calls:    []email.Call{{Model: "gpt-4o-mini", PromptTokens: 900, CompletionTokens: 60, CachedTokens: 512, CostUSD: 0.0002, LatencyMS: 800}},
	}
	comp := email.Answer{
		Agent: "competitor", Values: map[string]string{"competitor_name": "Voxaly"},
		Confidence: 2, FallbackLevel: 3, Engine: "offline", Version: "offline/1",
	}
	return email.Result{
		Contact: cc.Contact,
		Subject: "prospection chez " + cc.Contact.CompanyName,
		Body:    "Bonjour " + cc.Contact.FirstName + ", ...",
		Variables: map[string]email.Variable{
			"first_name":       {Value: cc.Contact.FirstName},
			"target_persona":   {Value: "directeurs commerciaux de PME", Agent: "persona", Confidence: 4, FallbackLevel: 1},
			"product_category": {Value: "logiciel de téléphonie", Agent: "persona", Confidence: 4, FallbackLevel: 1},
			"competitor_name":  {Value: "Voxaly", Agent: "competitor", Confidence: 2, FallbackLevel: 3, Cached: true},
		},
		Quality: email.Report{Score: 78, Flags: []email.Flag{{Code: quality.CodeHighFallback, Points: 10, Message: "competitor_name vient du contexte"}}},
		Status:  email.StatusGenerated,
		Timings: email.Timings{ScrapeMS: 300, AgentsMS: 900, TotalMS: 1234},
		Usage:   email.Usage{Calls: 1, PromptTokens: 900, CompletionTokens: 60, CachedTokens: 512, CostUSD: 0.0002},
		Answers: map[string]email.Answer{"persona": persona, "competitor": comp},
		Provenance: email.Provenance{TemplateVersion: "abc123", ContextHash: "ctx42", Engine: "llm",
			AgentVersions: map[string]string{"persona": "gpt-4o-mini/p1", "competitor": "offline/1"}},
	}
}

// count runs a count(*) query.
func count(t testing.TB, s *store.Store, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
