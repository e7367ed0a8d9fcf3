package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/template"
)

// Client is a customer whose campaigns we write.
type Client struct {
	ID          string
	Name        string
	Active      bool
	ContextHash string   // clientctx hash of the stored context files
	Files       []string // the stored context file names, sorted
	CreatedAt   time.Time
}

// Template is one of a client's email templates.
type Template struct {
	ID       string
	ClientID string
	Name     string
	Text     string // the template file as stored (front matter, Subject line, body)
	Version  string // short hash of the text
	Language string
	Strategy string // cold_email, linkedin, follow_up, break_up
	Active   bool
}

// maxContextFile bounds one stored context file.
const maxContextFile = 1 << 20

// AddClient creates the client called name, or updates it, with the context
// files of src: they are first loaded and checked with clientctx.Load (the
// required files must be there and valid), then stored in
// client_context_files in one transaction, replacing the client's previous
// files. Exactly the files Load reads are stored: pci.md, personas.md,
// pain_points.md, competitors.json, case_studies/*.md and template.md when
// present. The template file is stored as a context file only; AddTemplate
// makes it a template uploads can name.
func (s *Store) AddClient(ctx context.Context, name string, src clientctx.Source) (Client, error) {
	const op = "store: add client"
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0 {
		return Client{}, fmt.Errorf("%s: %w: the client name is empty or not text", op, ErrInvalid)
	}
	rec := &recorder{src: src, files: map[string][]byte{}}
	cc, err := clientctx.Load(ctx, rec)
	if err != nil {
		return Client{}, fmt.Errorf("%s %q: %w", op, name, err)
	}
	names := make([]string, 0, len(rec.files))
	for n, b := range rec.files {
		if len(b) > maxContextFile {
			return Client{}, fmt.Errorf("%s %q: %s: %w: larger than %d bytes", op, name, n, ErrInvalid, maxContextFile)
		}
		if !utf8.Valid(b) || strings.IndexByte(string(b), 0) >= 0 {
			return Client{}, fmt.Errorf("%s %q: %s: %w: not UTF-8 text", op, name, n, ErrInvalid)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	c := Client{Name: name, Active: true, ContextHash: cc.Hash(), Files: names}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `insert into public.clients (client_name, context_hash)
			values ($1, $2)
			on conflict (client_name) do update set context_hash = excluded.context_hash, active = true
			returning id::text, created_at`, name, c.ContextHash).Scan(&c.ID, &c.CreatedAt)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `delete from public.client_context_files
			where client_id = $1 and not (name = any($2::text[]))`, c.ID, names); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, n := range names {
			b.Queue(`insert into public.client_context_files (client_id, name, content) values ($1, $2, $3)
				on conflict (client_id, name) do update set content = excluded.content
				where client_context_files.content is distinct from excluded.content`, c.ID, n, string(rec.files[n]))
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return Client{}, wrap(fmt.Sprintf("%s %q", op, name), err)
	}
	return c, nil
}

// recorder is a Source that keeps what was read.
type recorder struct {
	src   clientctx.Source
	mu    sync.Mutex
	files map[string][]byte
}

func (r *recorder) ReadFile(ctx context.Context, name string) ([]byte, error) {
	b, err := r.src.ReadFile(ctx, name)
	if err == nil {
		r.mu.Lock()
		r.files[name] = b
		r.mu.Unlock()
	}
	return b, err
}

func (r *recorder) List(ctx context.Context, dir string) ([]string, error) {
	return r.src.List(ctx, dir)
}

const clientColumns = `c.id::text, c.client_name, c.active, coalesce(c.context_hash, ''), c.created_at,
	coalesce((select array_agg(f.name order by f.name collate "C") from public.client_context_files f where f.client_id = c.id), '{}')`

func scanClient(row pgx.Row) (Client, error) {
	var c Client
	err := row.Scan(&c.ID, &c.Name, &c.Active, &c.ContextHash, &c.CreatedAt, &c.Files)
	return c, err
}

// ClientByName returns the client called name (ErrNotFound if none).
func (s *Store) ClientByName(ctx context.Context, name string) (Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `select `+clientColumns+` from public.clients c where c.client_name = $1`, strings.TrimSpace(name)))
	return c, wrap(fmt.Sprintf("store: client %q", name), err)
}

// ClientByID returns a client (ErrNotFound if none).
func (s *Store) ClientByID(ctx context.Context, id string) (Client, error) {
	if err := checkID("client id", id); err != nil {
		return Client{}, fmt.Errorf("store: client: %w", err)
	}
	c, err := scanClient(s.pool.QueryRow(ctx, `select `+clientColumns+` from public.clients c where c.id = $1`, id))
	return c, wrap("store: client "+id, err)
}

// AddTemplate creates or replaces the client's template called name. The
// text is checked with template.Parse; its version and language are stored
// with it.
func (s *Store) AddTemplate(ctx context.Context, clientID, name string, data []byte) (Template, error) {
	op := fmt.Sprintf("store: add template %q", name)
	if err := checkID("client id", clientID); err != nil {
		return Template{}, fmt.Errorf("%s: %w", op, err)
	}
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0 {
		return Template{}, fmt.Errorf("%s: %w: the template name is empty or not text", op, ErrInvalid)
	}
	if strings.IndexByte(string(data), 0) >= 0 {
		return Template{}, fmt.Errorf("%s: %w: the template contains a NUL byte", op, ErrInvalid)
	}
	t, err := template.Parse(name, data)
	if err != nil {
		return Template{}, fmt.Errorf("%s: %w", op, err)
	}
	tp := Template{ClientID: clientID, Name: name, Text: string(data), Version: t.Version, Language: t.Language, Strategy: "cold_email", Active: true}
	err = s.pool.QueryRow(ctx, `insert into public.templates (client_id, template_name, body, version, language)
		values ($1, $2, $3, $4, $5)
		on conflict (client_id, template_name) do update
		   set body = excluded.body, version = excluded.version, language = excluded.language, active = true
		returning id::text, strategy_type::text`, clientID, name, tp.Text, tp.Version, tp.Language).Scan(&tp.ID, &tp.Strategy)
	if err != nil {
		return Template{}, wrap(op, err)
	}
	return tp, nil
}

const templateColumns = `t.id::text, t.client_id::text, t.template_name, coalesce(t.body, ''), coalesce(t.version, ''),
	coalesce(t.language, ''), t.strategy_type::text, t.active`

func scanTemplate(row pgx.Row) (Template, error) {
	var t Template
	err := row.Scan(&t.ID, &t.ClientID, &t.Name, &t.Text, &t.Version, &t.Language, &t.Strategy, &t.Active)
	return t, err
}

// TemplateByName returns the client's template called name (ErrNotFound if
// none).
func (s *Store) TemplateByName(ctx context.Context, clientID, name string) (Template, error) {
	op := fmt.Sprintf("store: template %q", name)
	if err := checkID("client id", clientID); err != nil {
		return Template{}, fmt.Errorf("%s: %w", op, err)
	}
	t, err := scanTemplate(s.pool.QueryRow(ctx, `select `+templateColumns+` from public.templates t
		where t.client_id = $1 and t.template_name = $2`, clientID, strings.TrimSpace(name)))
	return t, wrap(op, err)
}

// TemplateByID returns a template (ErrNotFound if none).
func (s *Store) TemplateByID(ctx context.Context, id string) (Template, error) {
	if err := checkID("template id", id); err != nil {
		return Template{}, fmt.Errorf("store: template: %w", err)
	}
	t, err := scanTemplate(s.pool.QueryRow(ctx, `select `+templateColumns+` from public.templates t where t.id = $1`, id))
	return t, wrap("store: template "+id, err)
}

// ContextSource returns a clientctx.Source over the client's files stored by
// AddClient.
func (s *Store) ContextSource(clientID string) clientctx.Source {
	return &dbSource{s: s, clientID: clientID}
}

type dbSource struct {
	s        *Store
	clientID string
}

// ReadFile implements clientctx.Source; a missing file is fs.ErrNotExist.
func (d *dbSource) ReadFile(ctx context.Context, name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	if err := checkID("client id", d.clientID); err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	var content string
	err := d.s.pool.QueryRow(ctx, `select content from public.client_context_files where client_id = $1 and name = $2`,
		d.clientID, name).Scan(&content)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: wrap("store", err)}
	}
	return []byte(content), nil
}

// List implements clientctx.Source: the files directly under dir.
func (d *dbSource) List(ctx context.Context, dir string) ([]string, error) {
	if !fs.ValidPath(dir) {
		return nil, &fs.PathError{Op: "list", Path: dir, Err: fs.ErrInvalid}
	}
	if err := checkID("client id", d.clientID); err != nil {
		return nil, &fs.PathError{Op: "list", Path: dir, Err: err}
	}
	prefix := dir + "/"
	if dir == "." {
		prefix = ""
	}
	rows, err := d.s.pool.Query(ctx, `select name from public.client_context_files
		where client_id = $1 and starts_with(name, $2::text) and strpos(substr(name, length($2::text) + 1), '/') = 0
		order by name collate "C"`, d.clientID, prefix)
	if err != nil {
		return nil, &fs.PathError{Op: "list", Path: dir, Err: wrap("store", err)}
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, &fs.PathError{Op: "list", Path: dir, Err: wrap("store", err)}
	}
	return names, nil
}
