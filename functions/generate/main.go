// Command generate is the Lambda that makes one contact's email per SQS
// message (see shared/worker), with partial batch failures.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kaleads/kaleads/functions/internal/generatefn"
	"github.com/kaleads/kaleads/functions/internal/setup"
)

func main() {
	h, s, err := generatefn.New(context.Background(), os.Getenv)
	setup.Exit(s.Logger(), err)
	lambda.Start(h)
}
