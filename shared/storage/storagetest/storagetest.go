// Package storagetest is a fake Supabase Storage API for tests, following
// the documented endpoints and error answers.
package storagetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kaleads/kaleads/shared/storage"
)

// Server follows the documented Storage endpoints: GET /object/{bucket}/{path}
// (download), POST /object/list/{bucket} ({prefix, limit, offset, sortBy}),
// POST /object/{bucket}/{path} (upload, x-upsert). Missing objects get
// Supabase's answer: HTTP 400 with statusCode "404" in the body.
type Server struct {
	key    string
	bearer bool // whether Authorization: Bearer <key> is expected
	// URL is the project URL to give storage.New.
	URL string

	mu       sync.Mutex
	objects  map[string][]byte // bucket/path -> content
	types    map[string]string // bucket/path -> content type
	lists    atomic.Int64
	problems []string
}

// New starts a fake Storage API accepting key (and, when bearer is set,
// requiring it as the bearer token too), closed when t ends, and a client
// for it.
func New(t testing.TB, key string, bearer bool) (*Server, *storage.Client) {
	f := &Server{key: key, bearer: bearer, objects: map[string][]byte{}, types: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /storage/v1/object/{bucket}/{path...}", f.download)
	mux.HandleFunc("POST /storage/v1/object/list/{bucket}", f.list)
	mux.HandleFunc("POST /storage/v1/object/{bucket}/{path...}", f.upload)
	srv := httptest.NewServer(f.auth(mux))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
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

func (f *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if r.Header.Get("apikey") != f.key || (f.bearer && auth != "Bearer "+f.key) || (!f.bearer && auth != "") {
			writeJSON(w, http.StatusBadRequest, map[string]string{"statusCode": "403", "error": "Unauthorized", "message": "Invalid Compact JWS"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f *Server) download(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	b, ok := f.objects[r.PathValue("bucket")+"/"+r.PathValue("path")]
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"statusCode": "404", "error": "not_found", "message": "Object not found"})
		return
	}
	_, _ = w.Write(b)
}

func (f *Server) upload(w http.ResponseWriter, r *http.Request) {
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

func (f *Server) list(w http.ResponseWriter, r *http.Request) {
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

// Object returns a stored object ("bucket/path").
func (f *Server) Object(key string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[key]
	return b, ok
}

// ContentType returns the content type an object was uploaded with.
func (f *Server) ContentType(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.types[key]
}

// Put stores an object ("bucket/path") directly.
func (f *Server) Put(key string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[key] = data
}

// Lists counts the list requests served.
func (f *Server) Lists() int64 { return f.lists.Load() }

// Problems lists malformed requests the server received.
func (f *Server) Problems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.problems...)
}
