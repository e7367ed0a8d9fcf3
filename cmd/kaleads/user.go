package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/kaleads/kaleads/shared/store"
)

// userStore is what `kaleads user add` needs from the database.
type userStore interface {
	CreateUser(ctx context.Context, email, password string, admin bool) (store.User, error)
	AddMember(ctx context.Context, userID, clientID, role string) error
	ClientByName(ctx context.Context, name string) (store.Client, error)
}

// userStdin is where the password is read (a variable for the tests).
var userStdin io.Reader = os.Stdin

const userUsage = `usage: kaleads user add --email E --role admin|reviewer [--client NAME]...   (password on stdin, or prompted)`

// cmdUser: kaleads user add --email E --role admin|reviewer [--client NAME]...
func cmdUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New(userUsage)
	}
	opts, err := parseUserAdd(args[1:], stderr)
	if err != nil {
		return err
	}
	password, err := readPassword(userStdin, stderr, opts.email)
	if err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return userAdd(ctx, st, opts, password, stdout)
}

type userAddOptions struct {
	email, role string
	clients     []string
}

func parseUserAdd(args []string, stderr io.Writer) (userAddOptions, error) {
	var o userAddOptions
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.email, "email", "", "the user's e-mail address (their sign-in)")
	fs.StringVar(&o.role, "role", "", "admin (sees every client) or reviewer (sees the clients given with --client)")
	fs.Func("client", "a client the user reviews, by name (repeat for several; an admin given one is its owner)", func(s string) error {
		if s = strings.TrimSpace(s); s == "" {
			return errors.New("empty client name")
		}
		o.clients = append(o.clients, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("user add: unexpected argument %q\n%s", fs.Arg(0), userUsage)
	case strings.TrimSpace(o.email) == "":
		return o, errors.New("user add: --email is required\n" + userUsage)
	case o.role != "admin" && o.role != "reviewer":
		return o, fmt.Errorf("user add: --role must be admin or reviewer (got %q)\n%s", o.role, userUsage)
	case o.role == "reviewer" && len(o.clients) == 0:
		return o, errors.New("user add: a reviewer sees only their clients: give at least one --client NAME")
	}
	return o, nil
}

// userAdd resolves the clients first, so a typo stores nothing, then
// creates the user and their memberships.
func userAdd(ctx context.Context, st userStore, o userAddOptions, password string, stdout io.Writer) error {
	var clients []store.Client
	for _, name := range o.clients {
		c, err := st.ClientByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("user add: no client named %q (add it with `kaleads client add`); nothing stored", name)
		}
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}
	admin := o.role == "admin"
	u, err := st.CreateUser(ctx, o.email, password, admin)
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("user add: a user with the e-mail %s exists already", strings.ToLower(strings.TrimSpace(o.email)))
	}
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	role := store.RoleReviewer
	if admin {
		role = store.RoleOwner
	}
	for _, c := range clients {
		if err := st.AddMember(ctx, u.ID, c.ID, role); err != nil {
			return fmt.Errorf("user add: user %s created, but adding them to %q failed: %w", u.Email, c.Name, err)
		}
	}
	what := "reviewer"
	if admin {
		what = "admin (every client)"
	}
	fmt.Fprintf(stdout, "user %s (%s): %s\n", u.Email, u.ID, what)
	for _, c := range clients {
		fmt.Fprintf(stdout, "  %s of client %q\n", role, c.Name)
	}
	return nil
}

// readPassword reads the password: the first line of stdin, or, on a
// terminal, typed twice at a prompt with the echo turned off (stty).
func readPassword(in io.Reader, stderr io.Writer, email string) (string, error) {
	f, isFile := in.(*os.File)
	if isFile {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return promptPassword(f, stderr, email)
		}
	}
	pw, err := readLine(bufio.NewReader(in))
	if err != nil {
		return "", fmt.Errorf("user add: reading the password from stdin: %w", err)
	}
	if pw == "" {
		return "", errors.New("user add: no password on stdin (give it as the first line: printf '%s\\n' \"$PASSWORD\" | kaleads user add …)")
	}
	return pw, nil
}

// readLine reads one line without its end ("" at the end of the input).
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func promptPassword(tty *os.File, stderr io.Writer, email string) (string, error) {
	if err := stty(tty, "-echo"); err != nil {
		fmt.Fprintln(stderr, "warning: cannot turn the terminal's echo off: the password will show as you type")
	} else {
		defer stty(tty, "echo")
	}
	r := bufio.NewReader(tty)
	fmt.Fprintf(stderr, "Password for %s: ", email)
	pw, err := readLine(r)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", errors.New("user add: empty password")
	}
	fmt.Fprint(stderr, "Again: ")
	again, err := readLine(r)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("user add: the two passwords differ; nothing stored")
	}
	return pw, nil
}

// stty runs stty on the terminal (golang.org/x/term is not a dependency).
func stty(tty *os.File, arg string) error {
	cmd := exec.Command("stty", arg)
	cmd.Stdin = tty
	return cmd.Run()
}
