package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/template"
)

// MaxUploadBytes bounds the CSV file Upload reads.
const MaxUploadBytes = 64 << 20

// UploadReport is the outcome of Upload.
type UploadReport struct {
	// BatchID identifies the imported contacts (generate --batch); "" when
	// nothing was imported.
	BatchID string
	// Read counts the data rows read: imported, rejected and duplicates.
	Read     int
	Imported int
	// RowErrors are the rows the CSV rules rejected, with line and reason
	// (duplicates inside the file included).
	RowErrors []contacts.RowError
	// Duplicates are valid rows whose email the client already has.
	Duplicates []Duplicate
}

// Duplicate is a row not imported because the client already has a contact
// with the same email (ignoring case).
type Duplicate struct {
	Line      int    // line in the uploaded file
	Email     string // as in the file
	ContactID string // the existing contact
	BatchID   string // its batch ("" when it was not uploaded)
}

// Upload reads a CSV of contacts with contacts.Read (encoding, delimiter,
// header aliases, validation, duplicates inside the file) and imports the
// valid rows for the client and template with one COPY in one transaction.
// Rows whose email the client already has are reported as Duplicates, not
// imported. A fatal problem with the file (or a database error) imports
// nothing and is returned as the error; row problems are listed in the
// report while the other rows are imported. templateID may be "" (the
// client's latest active template is used).
func (s *Store) Upload(ctx context.Context, clientID, templateID string, r io.Reader) (UploadReport, error) {
	const op = "store: upload"
	var rep UploadReport
	if err := checkID("client id", clientID); err != nil {
		return rep, fmt.Errorf("%s: %w", op, err)
	}
	if templateID != "" {
		if err := checkID("template id", templateID); err != nil {
			return rep, fmt.Errorf("%s: %w", op, err)
		}
	}
	f, err := contacts.Read(&limitedReader{r: r, n: MaxUploadBytes})
	if err != nil {
		return rep, fmt.Errorf("%s: %w", op, err)
	}
	rep.RowErrors = f.Errors
	rep.Read = len(f.Contacts) + len(f.Errors)

	batchID := newUUID()
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// Serialise uploads for one client so the duplicate check holds
		// (NO KEY UPDATE does not block workers inserting emails).
		var tmpl, tmplName, tmplText *string
		err := tx.QueryRow(ctx, `select t.id::text, t.template_name, t.body
			from public.clients c
			left join lateral (select t.id, t.template_name, t.body from public.templates t
				where t.client_id = c.id and ($2::uuid is null or t.id = $2::uuid)
				order by t.active desc, t.updated_at desc limit 1) t on true
			where c.id = $1 for no key update of c`, clientID, nullID(templateID)).Scan(&tmpl, &tmplName, &tmplText)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("client %s: %w", clientID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if templateID != "" && tmpl == nil {
			return fmt.Errorf("template %s of client %s: %w", templateID, clientID, ErrNotFound)
		}
		if tmpl == nil {
			return fmt.Errorf("%w: the client has no template: add one (kaleads client add DIR with a template.md) before uploading contacts", ErrInvalid)
		}
		if tmplText == nil {
			return fmt.Errorf("%w: template %q has no text", ErrInvalid, *tmplName)
		}
		if _, err := template.Parse(*tmplName, []byte(*tmplText)); err != nil {
			return fmt.Errorf("%w: template %q is invalid, fix it before uploading contacts: %w", ErrInvalid, *tmplName, err)
		}
		templateID = *tmpl

		emails := make([]string, len(f.Contacts))
		for i, c := range f.Contacts {
			emails[i] = strings.ToLower(c.Email)
		}
		rows, err := tx.Query(ctx, `select lower(email), id::text, coalesce(batch_id::text, '')
			from public.contacts_to_enrich
			where client_id = $1 and email is not null and email <> '' and lower(email) = any($2::text[])`, clientID, emails)
		if err != nil {
			return err
		}
		existing := map[string]Duplicate{}
		var key string
		var d Duplicate
		_, err = pgx.ForEachRow(rows, []any{&key, &d.ContactID, &d.BatchID}, func() error {
			existing[key] = d
			return nil
		})
		if err != nil {
			return err
		}

		var todo [][]any
		for _, c := range f.Contacts {
			if d, dup := existing[strings.ToLower(c.Email)]; dup {
				d.Line, d.Email = c.Line, c.Email
				rep.Duplicates = append(rep.Duplicates, d)
				continue
			}
			fields, err := json.Marshal(c.Fields)
			if err != nil {
				return err
			}
			todo = append(todo, []any{
				clientID, tmpl, batchID, c.Line,
				nullText(c.FirstName), nullText(c.LastName), nullText(c.Email), text(c.CompanyName),
				nullText(c.Website), nullText(c.LinkedInURL), nullText(c.Industry), nullText(c.JobTitle),
				jsonb(fields),
			})
		}
		if len(todo) == 0 {
			return nil
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"public", "contacts_to_enrich"},
			[]string{"client_id", "template_id", "batch_id", "line", "first_name", "last_name", "email",
				"company_name", "website", "linkedin_url", "industry", "job_title", "fields"},
			pgx.CopyFromRows(todo))
		rep.Imported = int(n)
		return err
	})
	if err != nil {
		rep.Imported = 0
		return rep, wrap(op, err)
	}
	if rep.Imported > 0 {
		rep.BatchID = batchID
	}
	return rep, nil
}

// nullText turns "" into SQL NULL and makes other strings storable.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return text(s)
}

// limitedReader fails, instead of stopping silently, past n bytes.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		k, err := l.r.Read(one[:])
		if k > 0 {
			return 0, fmt.Errorf("%w: the file is larger than %d MiB", ErrInvalid, MaxUploadBytes>>20)
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}
