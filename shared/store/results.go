package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kaleads/kaleads/shared/email"
)

// BatchInfo names an upload batch's client and template.
type BatchInfo struct {
	ClientName, TemplateName string
}

// BatchResults rebuilds the results of an upload batch from the database,
// in CSV line order, as `kaleads generate` wrote them: every contact, with
// its email (the reviewer's edited subject and body when there is one) or
// why it failed; pending contacts are left out. A batch without contacts is
// ErrNotFound.
func (s *Store) BatchResults(ctx context.Context, batchID string) ([]email.Result, BatchInfo, error) {
	const op = "store: batch results"
	var info BatchInfo
	if err := checkID("batch id", batchID); err != nil {
		return nil, info, fmt.Errorf("%s: %w", op, err)
	}
	rows, err := s.pool.Query(ctx, `select coalesce(c.line, 0), coalesce(c.first_name, ''), coalesce(c.last_name, ''),
			coalesce(c.email, ''), c.company_name, coalesce(c.website, ''), coalesce(c.linkedin_url, ''),
			coalesce(c.industry, ''), coalesce(c.job_title, ''), c.fields, c.status::text, coalesce(c.error_message, ''),
			coalesce(k.client_name, ''), coalesce(t.template_name, ''),
			e.id is not null, coalesce(nullif(e.subject_final, ''), e.subject, ''),
			coalesce(nullif(e.email_final, ''), e.email_generated, ''), coalesce(e.variables, '{}'),
			coalesce(e.quality_metrics, '{}'), coalesce(e.provenance, '{}'), coalesce(e.generation_time_ms, 0),
			coalesce(e.prompt_tokens, 0), coalesce(e.completion_tokens, 0), coalesce(e.cached_tokens, 0),
			coalesce(e.cost_usd, 0)::float8, coalesce(e.automation_outcome, ''), coalesce(e.automation_reason, '')
		from public.contacts_to_enrich c
		left join public.emails_generated e on e.contact_id = c.id
		left join public.clients k on k.id = c.client_id
		left join public.templates t on t.id = c.template_id
		where c.batch_id = $1 and c.status in ('completed', 'failed')
		order by c.line, c.id`, batchID)
	if err != nil {
		return nil, info, wrap(op, err)
	}
	var out []email.Result
	var (
		r                     email.Result
		fields, vars, qm, pv  []byte
		status, errMsg        string
		hasEmail              bool
		outcome, reason       string
		client, templateName  string
		prompt, compl, cached int
	)
	_, err = pgx.ForEachRow(rows, []any{&r.Contact.Line, &r.Contact.FirstName, &r.Contact.LastName, &r.Contact.Email,
		&r.Contact.CompanyName, &r.Contact.Website, &r.Contact.LinkedInURL, &r.Contact.Industry, &r.Contact.JobTitle,
		&fields, &status, &errMsg, &client, &templateName, &hasEmail, &r.Subject, &r.Body, &vars, &qm, &pv,
		&r.Timings.TotalMS, &prompt, &compl, &cached, &r.Usage.CostUSD, &outcome, &reason}, func() error {
		res := email.Result{Contact: r.Contact, Subject: r.Subject, Body: r.Body, Timings: email.Timings{TotalMS: r.Timings.TotalMS}}
		info = BatchInfo{ClientName: client, TemplateName: templateName}
		res.Contact.Fields = map[string]string{}
		if err := json.Unmarshal(fields, &res.Contact.Fields); err != nil {
			return fmt.Errorf("line %d: fields: %w", r.Contact.Line, err)
		}
		if !hasEmail {
			res.Status, res.Error = email.StatusFailed, errMsg
			if res.Error == "" {
				res.Error = "failed (" + status + ")"
			}
			out = append(out, res)
			return nil
		}
		res.Status = email.StatusGenerated
		var m QualityMetrics
		if err := json.Unmarshal(vars, &res.Variables); err != nil {
			return fmt.Errorf("line %d: variables: %w", r.Contact.Line, err)
		}
		if err := json.Unmarshal(qm, &m); err != nil {
			return fmt.Errorf("line %d: quality metrics: %w", r.Contact.Line, err)
		}
		if err := json.Unmarshal(pv, &res.Provenance); err != nil {
			return fmt.Errorf("line %d: provenance: %w", r.Contact.Line, err)
		}
		res.Quality = email.Report{Score: m.OverallScore, Flags: m.Flags}
		res.Usage = email.Usage{PromptTokens: prompt, CompletionTokens: compl, CachedTokens: cached, CostUSD: r.Usage.CostUSD}
		if outcome != "" {
			res.Automation = &email.Automation{Outcome: outcome, Reason: reason}
		}
		out = append(out, res)
		return nil
	})
	if err != nil {
		return nil, info, wrap(op, err)
	}
	if len(out) == 0 {
		var n int
		if err := s.pool.QueryRow(ctx, `select count(*) from public.contacts_to_enrich where batch_id = $1`, batchID).Scan(&n); err != nil {
			return nil, info, wrap(op, err)
		}
		if n == 0 {
			return nil, info, fmt.Errorf("%s: batch %s: %w", op, batchID, ErrNotFound)
		}
	}
	return out, info, nil
}
