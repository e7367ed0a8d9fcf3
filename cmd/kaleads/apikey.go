package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const apikeyUsage = `usage: kaleads apikey create --client NAME --name LABEL   (prints the key once)
       kaleads apikey revoke ID`

// cmdAPIKey: kaleads apikey create --client NAME --name LABEL | revoke ID.
// The REST API's keys belong to one client; only their SHA-256 is stored.
func cmdAPIKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(apikeyUsage)
	}
	switch args[0] {
	case "create":
		return apikeyCreate(ctx, args[1:], stdout, stderr)
	case "revoke":
		return apikeyRevoke(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("apikey: unknown subcommand %q\n%s", args[0], apikeyUsage)
}

// apikeyCreate prints the new key alone on stdout (KEY=$(kaleads apikey
// create …) works) and what to do with it on stderr.
func apikeyCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := fs.String("client", "", "the client whose data the key reaches")
	name := fs.String("name", "", "a label telling keys apart (n8n, make, clay…)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *client == "" || strings.TrimSpace(*name) == "" || fs.NArg() > 0 {
		return errors.New(apikeyUsage)
	}
	st, c, err := openClient(ctx, "apikey create", *client)
	if err != nil {
		return err
	}
	defer st.Close()
	key, k, err := st.CreateAPIKey(ctx, c.ID, *name)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, key)
	fmt.Fprintf(stderr, "API key %q (id %s, starts with %s) for client %q. It is shown once: only its hash is stored.\n"+
		"Send it as the header  Authorization: Bearer <key>  to /api/v1 (see /api/openapi.json).\n"+
		"Revoke it with: kaleads apikey revoke %s\n", k.Name, k.ID, k.Prefix, c.Name, k.ID)
	return nil
}

func apikeyRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apikey revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id, rest := leadingArg(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		id = ""
	}
	if id == "" {
		return errors.New(apikeyUsage)
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RevokeAPIKey(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "API key %s revoked: requests with it now get 401\n", id)
	return nil
}
