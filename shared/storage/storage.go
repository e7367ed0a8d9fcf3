// Package storage is a small client of the Supabase Storage REST API
// (download, list, upload) and a clientctx.Source over a client's folder of
// the "clients" bucket ({client_id}/pci.md, {client_id}/case_studies/x.md).
//
// It is written on net/http rather than storage-go, which has no context or
// timeout, shares its header map between concurrent uploads (a data race)
// and loses the HTTP status of errors.
package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// Bucket is the bucket holding the clients' context files.
const Bucket = "clients"

// DefaultTimeout bounds one request made with the client New returns.
const DefaultTimeout = 30 * time.Second

// MaxObjectSize bounds a downloaded object.
const MaxObjectSize = 32 << 20

// listPage is how many entries one list request asks for.
const listPage = 100

// Client calls the Storage API of one Supabase project. It is safe for
// concurrent use.
type Client struct {
	base string // .../storage/v1
	key  string
	// HTTP sends the requests; New sets one with DefaultTimeout.
	HTTP *http.Client
}

// New returns a client for the project at projectURL
// (https://<ref>.supabase.co, or the Storage URL ending in /storage/v1)
// with a server key: a legacy service_role key (a JWT, sent as apikey and as
// the bearer token) or a secret key sb_secret_… (sent as apikey only: it is
// not a JWT, the gateway turns it into one).
func New(projectURL, key string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(projectURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("storage: project URL %q: want https://<ref>.supabase.co", projectURL)
	}
	if key == "" {
		return nil, errors.New("storage: the API key is empty")
	}
	base := u.String()
	if !strings.HasSuffix(base, "/storage/v1") {
		base += "/storage/v1"
	}
	return &Client{base: base, key: key, HTTP: &http.Client{Timeout: DefaultTimeout}}, nil
}

// Error is an error answer of the Storage API.
type Error struct {
	Method, Object string // the request: "GET", "clients/1234/pci.md"
	Status         int    // HTTP status
	Code           string // the body's "error" ("not_found"...)
	Message        string // the body's "message", or the start of the body
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Code != "" {
		msg = e.Code + ": " + msg
	}
	return fmt.Sprintf("storage: %s %s: HTTP %d: %s", e.Method, e.Object, e.Status, msg)
}

// Is makes a missing object match fs.ErrNotExist. Storage answers a missing
// object with 404, or with 400 and statusCode "404" in the body.
func (e *Error) Is(target error) bool {
	return target == fs.ErrNotExist && (e.Status == http.StatusNotFound || e.Code == "not_found")
}

// Object is one entry of a listing.
type Object struct {
	Name      string // relative to the listed prefix
	ID        string // "" for a folder
	UpdatedAt time.Time
	Size      int64
}

// IsFolder reports whether the entry is a folder.
func (o Object) IsFolder() bool { return o.ID == "" }

// Download returns the object's content.
func (c *Client) Download(ctx context.Context, bucket, name string) ([]byte, error) {
	obj := bucket + "/" + name
	if err := checkName(bucket, name); err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, http.MethodGet, "/object/"+escape(bucket)+"/"+escape(name), obj, nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxObjectSize+1))
	if err != nil {
		return nil, fmt.Errorf("storage: GET %s: %w", obj, err)
	}
	if len(b) > MaxObjectSize {
		return nil, fmt.Errorf("storage: GET %s: larger than %d MiB", obj, MaxObjectSize>>20)
	}
	return b, nil
}

// List returns the entries directly under prefix (a folder path, no
// trailing slash), files and folders, in name order, reading every page.
func (c *Client) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	prefix = strings.Trim(prefix, "/")
	obj := bucket + "/" + prefix
	check := "x"
	if prefix != "" {
		check = prefix + "/x"
	}
	if err := checkName(bucket, check); err != nil {
		return nil, err
	}
	type entry struct {
		Name      string          `json:"name"`
		ID        *string         `json:"id"`
		UpdatedAt *time.Time      `json:"updated_at"`
		Metadata  json.RawMessage `json:"metadata"`
	}
	var out []Object
	for offset := 0; ; offset += listPage {
		body, _ := json.Marshal(map[string]any{
			"prefix": prefix, "limit": listPage, "offset": offset,
			"sortBy": map[string]string{"column": "name", "order": "asc"},
		})
		resp, err := c.do(ctx, http.MethodPost, "/object/list/"+escape(bucket), obj, body,
			http.Header{"Content-Type": {"application/json"}})
		if err != nil {
			return nil, err
		}
		var page []entry
		err = json.NewDecoder(io.LimitReader(resp.Body, MaxObjectSize)).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("storage: list %s: unexpected answer: %w", obj, err)
		}
		for _, e := range page {
			o := Object{Name: e.Name}
			if e.ID != nil {
				o.ID = *e.ID
			}
			if e.UpdatedAt != nil {
				o.UpdatedAt = *e.UpdatedAt
			}
			var meta struct {
				Size int64 `json:"size"`
			}
			if json.Unmarshal(e.Metadata, &meta) == nil {
				o.Size = meta.Size
			}
			out = append(out, o)
		}
		if len(page) < listPage {
			return out, nil
		}
	}
}

// Upload stores data as the object, replacing it when upsert is set (else
// an existing object is an error). contentType "" is guessed from the name.
func (c *Client) Upload(ctx context.Context, bucket, name string, data []byte, contentType string, upsert bool) error {
	obj := bucket + "/" + name
	if err := checkName(bucket, name); err != nil {
		return err
	}
	if contentType == "" {
		contentType = mime.TypeByExtension(path.Ext(name))
		switch {
		case strings.HasSuffix(name, ".md"):
			contentType = "text/markdown; charset=utf-8"
		case contentType == "":
			contentType = "application/octet-stream"
		}
	}
	h := http.Header{
		"Content-Type":  {contentType},
		"Cache-Control": {"max-age=3600"},
		"X-Upsert":      {fmt.Sprint(upsert)},
	}
	resp, err := c.do(ctx, http.MethodPost, "/object/"+escape(bucket)+"/"+escape(name), obj, data, h)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// do sends one request and turns a non-2xx answer into an *Error. The
// caller closes the body of a successful response.
func (c *Client) do(ctx context.Context, method, p, obj string, body []byte, h http.Header) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+p, rd)
	if err != nil {
		return nil, fmt.Errorf("storage: %s %s: %w", method, obj, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("apikey", c.key)
	if !strings.HasPrefix(c.key, "sb_") {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("storage: %s %s: %w", method, obj, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Method: method, Object: obj, Status: resp.StatusCode}
	var body2 struct {
		StatusCode any    `json:"statusCode"`
		Error      string `json:"error"`
		Message    string `json:"message"`
	}
	if json.Unmarshal(raw, &body2) == nil && (body2.Message != "" || body2.Error != "") {
		e.Code, e.Message = body2.Error, body2.Message
		if fmt.Sprint(body2.StatusCode) == "404" {
			e.Code = "not_found"
		}
	} else {
		e.Message = strings.TrimSpace(string(raw))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300] + "…"
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return nil, e
}

// escape escapes each segment of a slash-separated path.
func escape(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// checkName refuses names that would address another object than meant.
func checkName(bucket, name string) error {
	if bucket == "" || strings.Contains(bucket, "/") || !fs.ValidPath(name) || name == "." {
		return &fs.PathError{Op: "storage", Path: bucket + "/" + name, Err: fs.ErrInvalid}
	}
	return nil
}

// Source is a clientctx.Source over one folder of a bucket.
type Source struct {
	c              *Client
	bucket, folder string
}

// Source returns a clientctx.Source over folder of bucket.
func (c *Client) Source(bucket, folder string) *Source {
	return &Source{c: c, bucket: bucket, folder: strings.Trim(folder, "/")}
}

// ClientSource returns the Source over a client's context files:
// bucket "clients", folder {clientID}.
func (c *Client) ClientSource(clientID string) *Source { return c.Source(Bucket, clientID) }

// key returns the object key of name; "." (the folder itself) only when
// dir is set.
func (s *Source) key(name string, dir bool) (string, error) {
	if !fs.ValidPath(name) || (name == "." && !dir) {
		return "", &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	switch {
	case name == ".":
		return s.folder, nil
	case s.folder == "":
		return name, nil
	}
	return s.folder + "/" + name, nil
}

// ReadFile implements clientctx.Source; a missing file matches
// fs.ErrNotExist.
func (s *Source) ReadFile(ctx context.Context, name string) ([]byte, error) {
	k, err := s.key(name, false)
	if err != nil {
		return nil, err
	}
	return s.c.Download(ctx, s.bucket, k)
}

// List implements clientctx.Source: the files (not folders) directly under
// dir, as dir/name. A missing folder lists nothing.
func (s *Source) List(ctx context.Context, dir string) ([]string, error) {
	k, err := s.key(dir, true)
	if err != nil {
		return nil, err
	}
	objs, err := s.c.List(ctx, s.bucket, k)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range objs {
		if !o.IsFolder() && o.Name != ".emptyFolderPlaceholder" {
			out = append(out, path.Join(dir, o.Name))
		}
	}
	return out, nil
}

// Put uploads a file into the folder, replacing it.
func (s *Source) Put(ctx context.Context, name string, data []byte) error {
	k, err := s.key(name, false)
	if err != nil {
		return err
	}
	return s.c.Upload(ctx, s.bucket, k, data, "", true)
}
