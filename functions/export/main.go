// Command export is the scheduled Lambda that sends approved emails to the
// sequencers: every client's configured export at 14:00 Europe/Paris, and
// the full phase's "at once" pass every few minutes (see shared/export).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kaleads/kaleads/functions/internal/exportfn"
	"github.com/kaleads/kaleads/functions/internal/setup"
)

func main() {
	h, s, err := exportfn.New(context.Background(), os.Getenv)
	setup.Exit(s.Logger(), err)
	lambda.Start(h)
}
