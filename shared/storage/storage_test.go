package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/storage"
	"github.com/kaleads/kaleads/shared/storage/storagetest"
)

func TestSourceRoundTripLoadsContext(t *testing.T) {
	ctx := context.Background()
	_, c := storagetest.New(t, "service-role-jwt", true)
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
		f, c := storagetest.New(t, tt.key, tt.bearer)
		f.Put("clients/a/pci.md", []byte("PCI"))
		if b, err := c.Download(ctx, "clients", "a/pci.md"); err != nil || string(b) != "PCI" {
			t.Errorf("key %s: %q %v", tt.key, b, err)
		}
	}
	// A wrong key: the error carries the status and the server's message.
	f, _ := storagetest.New(t, "right", true)
	bad, err := storage.New(f.URL, "wrong")
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
	f, c := storagetest.New(t, "k", true)
	for i := 0; i < 230; i++ {
		f.Put(fmt.Sprintf("clients/x/case_studies/%03d.md", i), []byte("x"))
	}
	f.Put("clients/x/case_studies/sub/deeper.md", []byte("x"))
	objs, err := c.List(ctx, "clients", "x/case_studies")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 231 || objs[0].Name != "000.md" || objs[0].Size != 1 || !objs[230].IsFolder() {
		t.Errorf("listed %d entries, first %+v, last %+v", len(objs), objs[0], objs[len(objs)-1])
	}
	if n := f.Lists(); n != 3 {
		t.Errorf("%d list requests for 231 entries, want 3 pages of 100", n)
	}
	if p := f.Problems(); len(p) > 0 {
		t.Error(p)
	}
}

func TestUploadUpsertAndNames(t *testing.T) {
	ctx := context.Background()
	f, c := storagetest.New(t, "k", true)
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
	if ct := f.ContentType("clients/" + name); !strings.HasPrefix(ct, "text/markdown") {
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
	_, c := storagetest.New(t, "k", true)
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
