// Command api is the Lambda behind the REST API's Function URL: clients'
// automation tools (n8n, Make, Clay) start campaigns and review emails with
// an API key (see shared/api).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kaleads/kaleads/functions/internal/apifn"
	"github.com/kaleads/kaleads/functions/internal/setup"
	"github.com/kaleads/kaleads/shared/funcurl"
)

func main() {
	h, s, err := apifn.New(context.Background(), os.Getenv)
	setup.Exit(s.Logger(), err)
	lambda.Start(funcurl.Handler(h))
}
