// Command ingest is the Lambda behind the Supabase database webhook's
// Function URL: it checks the shared secret and puts inserted contacts on
// the enrichment queue (see shared/ingest).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kaleads/kaleads/functions/internal/setup"
	"github.com/kaleads/kaleads/shared/funcurl"
)

func main() {
	h, s, err := setup.Ingest(context.Background(), os.Getenv)
	setup.Exit(s.Logger(), err)
	lambda.Start(funcurl.Handler(h))
}
