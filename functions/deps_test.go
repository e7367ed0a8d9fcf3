package functions_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The ingest function does no database, scraping or LLM work: it must not
// link them (smaller binary, faster cold start, nothing to misuse).
func TestIngestDependencies(t *testing.T) {
	t.Parallel()
	checkDeps(t, "ingest", "github.com/jackc/pgx/v5", "github.com/kaleads/kaleads/shared/store")
}

// The sweep function reads the database and sends to SQS: no scraper, no
// LLM client.
func TestSweepDependencies(t *testing.T) {
	t.Parallel()
	checkDeps(t, "sweep")
}

// The api function reads and writes the database: no scraper, no LLM
// client, no agents, no worker.
func TestAPIDependencies(t *testing.T) {
	t.Parallel()
	checkDeps(t, "api", "github.com/kaleads/kaleads/shared/agents", "github.com/kaleads/kaleads/shared/worker")
}

// The export function reads the database and calls the sequencers: no
// scraper, no LLM client, no agents, no worker.
func TestExportDependencies(t *testing.T) {
	t.Parallel()
	checkDeps(t, "export", "github.com/kaleads/kaleads/shared/agents", "github.com/kaleads/kaleads/shared/worker")
}

// Packages that only store, print or sweep emails know the domain types,
// not the engine (ARCHITECTURE.md, "Who may import whom").
func TestReadersDoNotLinkTheEngine(t *testing.T) {
	t.Parallel()
	for _, pkg := range []string{"../shared/store", "../shared/output", "../shared/sweep", "../shared/email"} {
		checkDeps(t, pkg, "github.com/kaleads/kaleads/shared/agents")
	}
}

func checkDeps(t *testing.T, fn string, alsoBanned ...string) {
	t.Helper()
	if !strings.HasPrefix(fn, ".") {
		fn = "./" + fn
	}
	cmd := exec.Command(goTool(), "list", "-deps", "-tags", "lambda.norpc", fn)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, banned := range append([]string{
		"github.com/PuerkitoBio/goquery",
		"github.com/sashabaranov/go-openai",
		"github.com/kaleads/kaleads/shared/scrape",
		"github.com/kaleads/kaleads/shared/pipeline",
		"github.com/kaleads/kaleads/shared/llm",
	}, alsoBanned...) {
		for _, d := range deps {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("functions/%s links %s", fn, d)
				break
			}
		}
	}
}
