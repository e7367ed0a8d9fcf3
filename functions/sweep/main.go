// Command sweep is the scheduled Lambda that recovers lost contacts: stale
// claims back to pending, pending contacts sent to the queue again (see
// shared/sweep).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kaleads/kaleads/functions/internal/setup"
	"github.com/kaleads/kaleads/functions/internal/sweepfn"
)

func main() {
	h, s, err := sweepfn.New(context.Background(), os.Getenv)
	setup.Exit(s.Logger(), err)
	lambda.Start(h)
}
