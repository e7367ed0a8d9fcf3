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
	cmd := exec.Command(goTool(), "list", "-deps", "-tags", "lambda.norpc", "./ingest")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, banned := range []string{
		"github.com/jackc/pgx/v5",
		"github.com/PuerkitoBio/goquery",
		"github.com/sashabaranov/go-openai",
		"github.com/kaleads/kaleads/shared/store",
		"github.com/kaleads/kaleads/shared/scrape",
		"github.com/kaleads/kaleads/shared/pipeline",
		"github.com/kaleads/kaleads/shared/llm",
	} {
		for _, d := range deps {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("functions/ingest links %s", d)
				break
			}
		}
	}
}
