package sequencertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Instantly is an httptest handler following Instantly API v2's documented
// contract for what the exporter uses: bearer key; POST /api/v2/campaigns
// (name and a campaign_schedule with at least one schedule required); POST
// /api/v2/leads/add (campaign_id, 1..1000 leads, flat custom_variables,
// skip_if_in_campaign; created_leads with id, email and index); POST
// /api/v2/leads/list (campaign filter, limit ≤ 100, starting_after cursor,
// items and next_starting_after). Every request is recorded.
type Instantly struct {
	Key   string
	Fault func(n int, r *http.Request) Fault

	state
	nextID int
}

func leadUUID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// ServeHTTP implements http.Handler.
func (s *Instantly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	n := s.record(Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body})
	status, out, apply := 0, "", true
	var hdr map[string]string
	if r.Header.Get("Authorization") != "Bearer "+s.Key {
		status, out, apply = 401, `{"message":"Unauthorized"}`, false
	} else if s.Fault != nil {
		if f := s.Fault(n, r); f.Status != 0 {
			status, hdr, out, apply = f.Status, f.Header, f.Body, f.Apply
		}
	}
	var res any
	code := 0
	if apply {
		res, code = s.apply(r.URL.Path, body)
	}
	s.reply(w, n, status, hdr, out, code, res)
}

func (s *Instantly) apply(path string, body map[string]any) (any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch path {
	case "/api/v2/campaigns":
		name, _ := body["name"].(string)
		sch, _ := body["campaign_schedule"].(map[string]any)
		list, _ := sch["schedules"].([]any)
		if name == "" || len(list) == 0 {
			return map[string]any{"message": "body must have name and campaign_schedule.schedules"}, 400
		}
		s.nextID++
		id := fmt.Sprintf("c0000000-0000-4000-8000-%012d", s.nextID)
		s.campaign(id)
		return map[string]any{"id": id, "name": name, "status": 0}, 200
	case "/api/v2/leads/add":
		id, _ := body["campaign_id"].(string)
		c := s.campaigns[id]
		if c == nil {
			return map[string]any{"message": "campaign not found"}, 404
		}
		leads, _ := body["leads"].([]any)
		if len(leads) == 0 || len(leads) > 1000 {
			return map[string]any{"message": "leads must hold 1 to 1000 items"}, 400
		}
		skip, _ := body["skip_if_in_campaign"].(bool)
		created := []any{}
		uploaded, skipped, invalid := 0, 0, 0
		for i, l := range leads {
			m, _ := l.(map[string]any)
			e, _ := m["email"].(string)
			e = strings.ToLower(e)
			cv, _ := m["custom_variables"].(map[string]any)
			for _, v := range cv {
				switch v.(type) {
				case string, float64, bool, nil:
				default:
					return map[string]any{"message": "custom_variables values must be string, number, boolean or null"}, 400
				}
			}
			if !strings.Contains(e, "@") || strings.HasSuffix(e, ".invalid") {
				invalid++
				continue
			}
			c.submits[e]++
			if c.inserted[e] > 0 && skip {
				skipped++
				continue
			}
			c.inserted[e]++
			if c.inserted[e] == 1 {
				c.order = append(c.order, e)
			}
			s.nextID++
			c.ids[e] = s.nextID
			uploaded++
			created = append(created, map[string]any{"id": leadUUID(s.nextID), "email": e, "index": i})
		}
		return map[string]any{"status": "success", "total_sent": len(leads), "leads_uploaded": uploaded, "in_blocklist": 0,
			"skipped_count": skipped, "invalid_email_count": invalid, "incomplete_count": 0, "duplicate_email_count": 0,
			"remaining_in_plan": 100000, "created_leads": created}, 200
	case "/api/v2/leads/list":
		id, _ := body["campaign"].(string)
		c := s.campaigns[id]
		if c == nil {
			return map[string]any{"items": []any{}}, 200
		}
		limit := 100
		if f, ok := body["limit"].(float64); ok {
			limit = int(f)
		}
		if limit < 1 || limit > 100 {
			return map[string]any{"message": "limit must be 1 to 100"}, 400
		}
		start := 0
		if cur, _ := body["starting_after"].(string); cur != "" {
			k, err := strconv.Atoi(strings.TrimPrefix(cur, "cursor-"))
			if err != nil {
				return map[string]any{"message": "bad cursor"}, 400
			}
			start = k
		}
		items := []any{}
		for i := start; i < len(c.order) && i < start+limit; i++ {
			e := c.order[i]
			items = append(items, map[string]any{"id": leadUUID(c.ids[e]), "email": e, "campaign": id})
		}
		next := ""
		if start+limit < len(c.order) {
			next = "cursor-" + strconv.Itoa(start+limit)
		}
		return map[string]any{"items": items, "next_starting_after": next}, 200
	}
	return map[string]any{"message": "not found"}, 404
}
