package export

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kaleads/kaleads/shared/sequencer"
	"github.com/kaleads/kaleads/shared/sequencer/instantly"
	"github.com/kaleads/kaleads/shared/sequencer/smartlead"
	"github.com/kaleads/kaleads/shared/storage"
)

// Sequencer is a sequencer's API as the export uses it.
type Sequencer interface {
	// BatchSize is the most leads one AddLeads call takes.
	BatchSize() int
	// AddLeads adds leads (at most BatchSize) to the campaign. The
	// sequencer dedupes on the address within a campaign, so sending a lead
	// again is safe.
	AddLeads(ctx context.Context, campaignID string, leads []sequencer.Lead) (Added, error)
	// CampaignLeads lists the campaign's leads: lower-cased address → the
	// sequencer's lead id.
	CampaignLeads(ctx context.Context, campaignID string) (map[string]string, int, error)
	// CreateCampaign creates a campaign with the plan's sequence and returns
	// its id.
	CreateCampaign(ctx context.Context, name string) (string, error)
}

// campaignChecker is a Sequencer that can tell a malformed campaign id
// before any call.
type campaignChecker interface{ CheckCampaign(id string) error }

// Added is what one AddLeads call reported.
type Added struct {
	Requests int
	IDs      map[string]string // address → lead id, when the response names them
	Refused  map[string]string // address → reason, leads the sequencer named as refused
	Reasons  map[string]int    // skip reasons with counts, as reported
}

//go:embed followups.txt
var followUpsFile string

// followUps are the plan's day 4, 7 and 14 texts.
func followUps() []string {
	var out []string
	var lines []string
	for l := range strings.Lines(followUpsFile) {
		if strings.HasPrefix(l, "#") {
			continue
		}
		lines = append(lines, l)
	}
	for b := range strings.SplitSeq(strings.Join(lines, ""), "\n---\n") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, htmlText(b))
		}
	}
	return out
}

// htmlEscaper escapes what HTML text needs (quotes and apostrophes may
// stay as they are outside attributes).
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r\n", "<br>", "\n", "<br>")

// htmlText turns plain text into the HTML the sequencers send: escaped,
// line breaks as <br>.
func htmlText(s string) string { return htmlEscaper.Replace(s) }

// Smartlead adapts a Smartlead client.
type Smartlead struct{ C *smartlead.Client }

// BatchSize implements Sequencer.
func (s Smartlead) BatchSize() int { return s.C.BatchSize() }

func smartleadID(campaignID string) (int64, error) {
	id, err := strconv.ParseInt(campaignID, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: smartlead campaign id %q is not a positive number", ErrBadRequest, campaignID)
	}
	return id, nil
}

// CheckCampaign implements campaignChecker: Smartlead ids are numbers.
func (s Smartlead) CheckCampaign(id string) error {
	_, err := smartleadID(id)
	return err
}

// AddLeads implements Sequencer.
func (s Smartlead) AddLeads(ctx context.Context, campaignID string, leads []sequencer.Lead) (Added, error) {
	id, err := smartleadID(campaignID)
	if err != nil {
		return Added{}, err
	}
	res, err := s.C.AddLeads(ctx, id, leads)
	a := Added{Requests: res.Requests, Reasons: res.Reasons, Refused: map[string]string{}}
	for _, b := range res.Batches {
		r := b.Response
		for _, e := range r.InvalidEmails {
			a.Refused[strings.ToLower(string(e))] = "invalid e-mail address (smartlead)"
		}
		for _, e := range r.UnsubscribedLeads {
			a.Refused[strings.ToLower(string(e))] = "unsubscribed (smartlead)"
		}
		for _, sk := range r.SkippedLeads {
			reason := strings.ToLower(sk.Reason)
			if sk.Email == "" || strings.Contains(reason, "already") || strings.Contains(reason, "duplicate") {
				continue // in the campaign: the listing confirms it
			}
			a.Refused[strings.ToLower(sk.Email)] = "skipped by smartlead: " + sk.Reason
		}
	}
	return a, err
}

// CampaignLeads implements Sequencer.
func (s Smartlead) CampaignLeads(ctx context.Context, campaignID string) (map[string]string, int, error) {
	id, err := smartleadID(campaignID)
	if err != nil {
		return nil, 0, err
	}
	return s.C.CampaignLeads(ctx, id)
}

// CreateCampaign implements Sequencer.
func (s Smartlead) CreateCampaign(ctx context.Context, name string) (string, error) {
	c, err := s.C.CreateCampaign(ctx, name, sequencer.PlanSequence(followUps()...))
	if c.ID != 0 {
		return strconv.FormatInt(c.ID, 10), err
	}
	return "", err
}

// Instantly adapts an Instantly client; Schedule is the sending window of
// the campaigns it creates.
type Instantly struct {
	C        *instantly.Client
	Schedule instantly.Schedule
}

// BatchSize implements Sequencer.
func (s Instantly) BatchSize() int { return s.C.BatchSize() }

// AddLeads implements Sequencer.
func (s Instantly) AddLeads(ctx context.Context, campaignID string, leads []sequencer.Lead) (Added, error) {
	res, err := s.C.AddLeads(ctx, campaignID, leads)
	a := Added{Requests: res.Requests, IDs: map[string]string{}, Reasons: map[string]int{}}
	for _, c := range res.Created {
		if c.Index >= 0 && c.Index < len(leads) {
			a.IDs[strings.ToLower(leads[c.Index].Email)] = c.ID
		}
	}
	for _, b := range res.Batches {
		r := b.Response
		for k, v := range map[string]int{"in_blocklist": r.InBlocklist, "skipped": r.SkippedCount,
			"invalid_email": r.InvalidEmailCount, "incomplete": r.IncompleteCount, "duplicate_email": r.DuplicateEmailCount} {
			if v > 0 {
				a.Reasons[k] += v
			}
		}
	}
	return a, err
}

// CampaignLeads implements Sequencer.
func (s Instantly) CampaignLeads(ctx context.Context, campaignID string) (map[string]string, int, error) {
	return s.C.CampaignLeads(ctx, campaignID)
}

// CreateCampaign implements Sequencer.
func (s Instantly) CreateCampaign(ctx context.Context, name string) (string, error) {
	sch := s.Schedule
	if sch.Timezone == "" {
		sch.Timezone = "Europe/Paris"
	}
	c, err := s.C.CreateCampaign(ctx, instantly.CampaignSpec{Name: name, Schedule: sch, Steps: sequencer.PlanSequence(followUps()...)})
	return c.ID, err
}

// Sink stores export files: a directory, or a storage bucket.
type Sink interface {
	// Location is where Put stores name: known before the write, so the
	// ledger can record it first.
	Location(name string) string
	// Put stores data under name, atomically (a reader sees the whole file
	// or nothing).
	Put(ctx context.Context, name string, data []byte) error
	// Exists reports whether a Location holds a file.
	Exists(ctx context.Context, location string) (bool, error)
}

// Dir is a Sink writing into a local directory.
type Dir string

// Put implements Sink: a temporary file in the directory, synced, then
// renamed.
func (d Dir) Put(_ context.Context, name string, data []byte) error {
	dst := d.Location(name)
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".export-*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// Location implements Sink: an absolute path in the directory.
func (d Dir) Location(name string) string {
	p := filepath.Join(string(d), filepath.Base(name))
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// Exists implements Sink.
func (Dir) Exists(_ context.Context, location string) (bool, error) {
	_, err := os.Stat(location)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Storage is a Sink writing into a Supabase Storage bucket (the Lambda's
// csv exports): objects under the bucket, never overwritten.
type Storage struct {
	C      *storage.Client
	Bucket string // default "exports"
}

func (s Storage) bucket() string { return cmp.Or(s.Bucket, "exports") }

// Location implements Sink: bucket/name.
func (s Storage) Location(name string) string { return s.bucket() + "/" + name }

// Put implements Sink. A Storage upload is atomic: the object appears
// whole or not at all.
func (s Storage) Put(ctx context.Context, name string, data []byte) error {
	return s.C.Upload(ctx, s.bucket(), name, data, "text/csv; charset=utf-8", false)
}

// Exists implements Sink.
func (s Storage) Exists(ctx context.Context, location string) (bool, error) {
	name, ok := strings.CutPrefix(location, s.bucket()+"/")
	if !ok {
		return false, nil
	}
	dir, base := path.Split(name)
	objs, err := s.C.List(ctx, s.bucket(), strings.TrimSuffix(dir, "/"))
	if err != nil {
		return false, err
	}
	for _, o := range objs {
		if o.Name == base && !o.IsFolder() {
			return true, nil
		}
	}
	return false, nil
}
