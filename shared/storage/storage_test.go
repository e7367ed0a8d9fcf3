package storage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/storage"
)

// fake follows the documented Storage endpoints: GET /object/{bucket}/{path}
// (download), POST /object/list/{bucket} ({prefix, limit, offset, sortBy}),
// POST /object/{bucket}/{path} (upload, x-upsert). Missing objects get
// Supabase's answer: HTTP 400 with statusCode "404" in the body.
type fake struct {
	key    string
	bearer bool   // whether Authorization: Bearer <key> is expected
	url    string // the server's

	mu       sync.Mutex
	objects  map[string][]byte // bucket/path -> content
	types    map[string]string // bucket/path -> content type
	lists    atomic.Int64
	problems []string
}

func newFake(t *testing.T, key string, bearer bool) (*fake, *storage.Client) {
	f := &fake{key: key, bearer: bearer, objects: map[string][]byte{}, types: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /storage/v1/object/{bucket}/{path...}", f.download)
	mux.HandleFunc("POST /storage/v1/object/list/{bucket}", f.list)
	mux.HandleFunc("POST /storage/v1/object/{bucket}/{path...}", f.upload)
	srv := httptest.NewServer(f.auth(mux))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	c, err := storage.New(srv.URL, key)
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fake) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if r.Header.Get("apikey") != f.key || (f.bearer && auth != "Bearer "+f.key) || (!f.bearer && auth != "") {
			writeJSON(w, http.StatusBadRequest, map[string]string{"statusCode": "403", "error": "Unauthorized", "message": "Invalid Compact JWS"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f *fake) download(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	b, ok := f.objects[r.PathValue("bucket")+"/"+r.PathValue("path")]
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"statusCode": "404", "error": "not_found", "message": "Object not found"})
		return
	}
	_, _ = w.Write(b)
}

func (f *fake) upload(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("bucket") + "/" + r.PathValue("path")
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, exists := f.objects[key]; exists && r.Header.Get("x-upsert") != "true" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"statusCode": "409", "error": "Duplicate", "message": "The resource already exists"})
		return
	}
	f.objects[key] = b
	f.types[key] = r.Header.Get("Content-Type")
	writeJSON(w, http.StatusOK, map[string]string{"Key": key, "Id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301"})
}

func (f *fake) list(w http.ResponseWriter, r *http.Request) {
	f.lists.Add(1)
	var req struct {
		Prefix string `json:"prefix"`
		Limit  int    `json:"limit"`
		Offset int    `json:"offset"`
		SortBy struct {
			Column, Order string
		} `json:"sortBy"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Limit <= 0 || req.SortBy.Column != "name" {
		f.mu.Lock()
		f.problems = append(f.problems, fmt.Sprintf("bad list request %+v %v", req, err))
		f.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]string{"statusCode": "400", "error": "invalid", "message": "bad body"})
		return
	}
	bucket := r.PathValue("bucket") + "/"
	prefix := strings.Trim(req.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	seen := map[string]bool{}
	type entry struct {
		Name     string         `json:"name"`
		ID       *string        `json:"id"`
		Metadata map[string]any `json:"metadata"`
	}
	var entries []entry
	f.mu.Lock()
	for k, b := range f.objects {
		rest, ok := strings.CutPrefix(k, bucket+prefix)
		if !ok {
			continue
		}
		if dir, _, nested := strings.Cut(rest, "/"); nested {
			if !seen[dir] {
				seen[dir] = true
				entries = append(entries, entry{Name: dir})
			}
			continue
		}
		id := "id-" + rest
		entries = append(entries, entry{Name: rest, ID: &id, Metadata: map[string]any{"size": len(b)}})
	}
	f.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	from, to := min(req.Offset, len(entries)), min(req.Offset+req.Limit, len(entries))
	writeJSON(w, http.StatusOK, entries[from:to])
}

func TestSourceRoundTripLoadsContext(t *testing.T) {
	ctx := context.Background()
	_, c := newFake(t, "service-role-jwt", true)
	dir := "../store/testdata/client"
	src := c.ClientSource("6b1f0c1e-0000-4000-8000-00000000000a")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		return src.Put(ctx, filepath.ToSlash(rel), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := clientctx.Load(ctx, clientctx.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	got, err := clientctx.Load(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != want.Hash() || len(got.CaseStudies) != 1 || got.Template == nil {
		t.Errorf("context through Storage: hash %s (want %s), %d case studies, template %v", got.Hash(), want.Hash(), len(got.CaseStudies), got.Template != nil)
	}
	names, err := src.List(ctx, ".")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "competitors.json,pain_points.md,pci.md,personas.md,template.md" {
		t.Errorf("top-level files %v (the case_studies folder must not be listed as a file)", names)
	}
	if _, err := src.ReadFile(ctx, "case_studies/missing.md"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if names, err := src.List(ctx, "nothing_here"); err != nil || len(names) != 0 {
		t.Errorf("missing folder lists %v %v", names, err)
	}
}

func TestAuthHeaders(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		key    string
		bearer bool
	}{{"eyJhbGciOiJIUzI1NiJ9.legacy.service_role", true}, {"sb_secret_abc123", false}} {
		f, c := newFake(t, tt.key, tt.bearer)
		f.objects["clients/a/pci.md"] = []byte("PCI")
		if b, err := c.Download(ctx, "clients", "a/pci.md"); err != nil || string(b) != "PCI" {
			t.Errorf("key %s: %q %v", tt.key, b, err)
		}
	}
	// A wrong key: the error carries the status and the server's message.
	f, _ := newFake(t, "right", true)
	bad, err := storage.New(f.url, "wrong")
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Download(ctx, "clients", "a/pci.md")
	var se *storage.Error
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "Invalid Compact JWS") ||
		!strings.Contains(err.Error(), "400") || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("wrong key: %v", err)
	}
}

// goodURL returns the URL c requests for object b/x (without sending it).
func goodURL(t *testing.T, c *storage.Client) string {
	t.Helper()
	var got string
	c.HTTP = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.URL.String()
		return nil, errors.New("recorded")
	})}
	_, _ = c.Download(context.Background(), "b", "x")
	return got
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		status   int
		body     string
		notExist bool
		want     string
	}{
		{"supabase missing object", 400, `{"statusCode":"404","error":"not_found","message":"Object not found"}`, true, "Object not found"},
		{"plain 404", 404, `not here`, true, "not here"},
		{"server error", 502, `<html>Bad Gateway</html>`, false, "HTTP 502: <html>Bad Gateway</html>"},
		{"empty body", 503, ``, false, "HTTP 503: Service Unavailable"},
		{"bucket missing", 400, `{"statusCode":"404","error":"Bucket not found","message":"Bucket not found"}`, true, "Bucket not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c, _ := storage.New(srv.URL, "k")
			_, err := c.Download(ctx, "clients", "a/pci.md")
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, fs.ErrNotExist) != tt.notExist {
				t.Errorf("errors.Is(%v, fs.ErrNotExist) = %v", err, !tt.notExist)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "clients/a/pci.md") {
				t.Errorf("error %q lacks %q or the object name", err, tt.want)
			}
		})
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	c, _ := storage.New(srv.URL, "k")
	c.HTTP.Timeout = 100 * time.Millisecond
	start := time.Now()
	if _, err := c.Download(context.Background(), "clients", "a/pci.md"); err == nil {
		t.Fatal("a hung server did not time out")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %v", d)
	}

	c.HTTP.Timeout = 0
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.List(ctx, "clients", "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("list past the context deadline: %v", err)
	}
}

func TestListPages(t *testing.T) {
	ctx := context.Background()
	f, c := newFake(t, "k", true)
	for i := 0; i < 230; i++ {
		f.objects[fmt.Sprintf("clients/x/case_studies/%03d.md", i)] = []byte("x")
	}
	f.objects["clients/x/case_studies/sub/deeper.md"] = []byte("x")
	objs, err := c.List(ctx, "clients", "x/case_studies")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 231 || objs[0].Name != "000.md" || objs[0].Size != 1 || !objs[230].IsFolder() {
		t.Errorf("listed %d entries, first %+v, last %+v", len(objs), objs[0], objs[len(objs)-1])
	}
	if n := f.lists.Load(); n != 3 {
		t.Errorf("%d list requests for 231 entries, want 3 pages of 100", n)
	}
	if len(f.problems) > 0 {
		t.Error(f.problems)
	}
}

func TestUploadUpsertAndNames(t *testing.T) {
	ctx := context.Background()
	f, c := newFake(t, "k", true)
	name := "x/case_studies/étude #1 ?.md"
	if err := c.Upload(ctx, "clients", name, []byte("v1"), "", false); err != nil {
		t.Fatal(err)
	}
	err := c.Upload(ctx, "clients", name, []byte("v2"), "", false)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second upload without upsert: %v", err)
	}
	if err := c.Upload(ctx, "clients", name, []byte("v3"), "", true); err != nil {
		t.Fatal(err)
	}
	if b, err := c.Download(ctx, "clients", name); err != nil || string(b) != "v3" {
		t.Errorf("download %q: %q %v", name, b, err)
	}
	if ct := f.types["clients/"+name]; !strings.HasPrefix(ct, "text/markdown") {
		t.Errorf("content type %q", ct)
	}
	for _, bad := range []string{"../other/pci.md", "/abs.md", "a//b.md", ""} {
		if _, err := c.Download(ctx, "clients", bad); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("download %q: %v, want fs.ErrInvalid", bad, err)
		}
	}
	if _, err := c.ClientSource("x").ReadFile(ctx, "../y/pci.md"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("source read outside its folder: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	_, c := newFake(t, "k", true)
	src := c.ClientSource("c")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("f%d.md", i)
			for j := 0; j < 5; j++ {
				want := fmt.Sprintf("%d-%d", i, j)
				if err := src.Put(ctx, name, []byte(want)); err != nil {
					errs <- err
					return
				}
				b, err := src.ReadFile(ctx, name)
				if err != nil || string(b) != want {
					errs <- fmt.Errorf("%s: %q %v, want %q", name, b, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNew(t *testing.T) {
	for _, bad := range []string{"", "ref.supabase.co", "ftp://x", "https://"} {
		if _, err := storage.New(bad, "k"); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	if _, err := storage.New("https://ref.supabase.co", ""); err == nil {
		t.Error("an empty key was accepted")
	}
	for _, u := range []string{"https://ref.supabase.co", "https://ref.supabase.co/", "https://ref.supabase.co/storage/v1"} {
		c, err := storage.New(u, "k")
		if err != nil {
			t.Fatal(err)
		}
		if got := goodURL(t, c); got != "https://ref.supabase.co/storage/v1/object/b/x" {
			t.Errorf("New(%q) requests %s", u, got)
		}
	}
}
