package api

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
)

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPI checks the document against the real router: every route is
// documented with its method, every documented operation is routed, and
// every $ref resolves.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %v, want 3.1.x", doc["openapi"])
	}
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("no paths")
	}

	h := newHandler(Config{Store: newFake()})
	routed := map[string]bool{}
	for _, rt := range h.routes() {
		op := strings.ToLower(rt.method) + " " + rt.path
		routed[op] = true
		item, _ := paths[rt.path].(map[string]any)
		o, ok := item[strings.ToLower(rt.method)].(map[string]any)
		if !ok {
			t.Errorf("route %s %s is not documented", rt.method, rt.path)
			continue
		}
		// Authenticated routes use the default security; public ones say
		// security: [].
		sec, has := o["security"]
		if rt.auth && has {
			t.Errorf("%s: authenticated route overrides security: %v", op, sec)
		}
		if !rt.auth && (!has || len(sec.([]any)) != 0) {
			t.Errorf("%s: public route without security: []", op)
		}
		resp, _ := o["responses"].(map[string]any)
		if rt.auth && (resp["401"] == nil || resp["429"] == nil) {
			t.Errorf("%s: 401 or 429 not documented", op)
		}
		if rt.body > 0 && rt.path != "/api/openapi.json" && resp["413"] == nil {
			t.Errorf("%s reads a body: 413 not documented", op)
		}
		if strings.Contains(rt.path, "{id}") && resp["404"] == nil {
			t.Errorf("%s: 404 not documented", op)
		}
	}

	// Every documented operation reaches a route of the mux, and the
	// wildcards are named as in the document.
	var documented []string
	for p, item := range paths {
		for m := range item.(map[string]any) {
			if !slices.Contains(httpMethods, m) {
				continue
			}
			documented = append(documented, m+" "+p)
			if !routed[m+" "+p] {
				t.Errorf("documented %s %s is not a route", strings.ToUpper(m), p)
			}
			req := httptest.NewRequest(strings.ToUpper(m), strings.ReplaceAll(p, "{id}", noSuchID), nil)
			if _, pattern := h.mux.Handler(req); pattern != strings.ToUpper(m)+" "+p {
				t.Errorf("%s %s is routed to %q", strings.ToUpper(m), p, pattern)
			}
			for _, prm := range asList(item.(map[string]any)[m].(map[string]any)["parameters"]) {
				pm := prm.(map[string]any)
				if pm["in"] == "path" && !strings.Contains(p, "{"+pm["name"].(string)+"}") {
					t.Errorf("%s %s: path parameter %v is not in the path", m, p, pm["name"])
				}
			}
		}
	}
	sort.Strings(documented)
	if len(documented) != len(routed) {
		t.Errorf("%d documented operations, %d routes", len(documented), len(routed))
	}

	// Every $ref resolves, and every error code the handler writes is in
	// the Error schema's enum.
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if resolve(doc, r) == nil {
					t.Errorf("$ref %s resolves to nothing", r)
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	codes := asList(resolve(doc, "#/components/schemas/Error/properties/error/properties/code/enum"))
	for _, c := range []string{codeInvalidRequest, codeUnauthorized, codeNotFound, codeMethodNotAllowed, codeConflict, codeTooLarge,
		codeUnsupportedMedia, codeUnprocessable, codeRateLimited, codeInternal, codeUnavailable} {
		if !slices.Contains(codes, any(c)) {
			t.Errorf("error code %s is not in the Error schema", c)
		}
	}
	reasons := asList(resolve(doc, "#/components/schemas/RejectRequest/properties/reason/enum"))
	if len(reasons) != len(RejectionReasons) {
		t.Errorf("reasons %v, want %v", reasons, RejectionReasons)
	}

	// And it is what the handler serves.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/openapi.json", nil))
	if w.Code != 200 || w.Body.String() != string(OpenAPI) || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Errorf("GET /api/openapi.json: %d %s", w.Code, w.Header())
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// resolve follows a local JSON pointer.
func resolve(doc map[string]any, ref string) any {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}
