package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/kaleads/kaleads/shared/llmsim"
)

// cmdSim runs the OpenAI-compatible simulator until interrupted.
func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8088", "listen address")
	var o llmsim.Options
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "OpenAI-compatible simulator on http://%s/v1 — point the engine at it with:\n  OPENAI_BASE_URL=http://%s/v1 kaleads generate --engine llm ...\n", *addr, *addr)
	return llmsim.New(o).ListenAndServe(ctx, *addr)
}
