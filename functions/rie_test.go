package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// rieModule is the Runtime Interface Emulator, built from the Go module
// proxy (tag v1.23.0 is not served; this pseudo-version is its commit).
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

var (
	rieOnce sync.Once
	riePath string
	rieErr  error
	rieDir  string
)

// rie returns the path of the aws-lambda-rie binary, built once per test
// binary with `go install` into a temporary folder.
func rie(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the Runtime Interface Emulator smoke tests build binaries and are skipped")
	}
	rieOnce.Do(func() {
		rieDir, rieErr = os.MkdirTemp("", "kaleads-rie-")
		if rieErr != nil {
			return
		}
		cmd := exec.Command(goTool(), "install", rieModule)
		cmd.Env = append(os.Environ(), "GOBIN="+rieDir, "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			rieErr = fmt.Errorf("go install %s: %v\n%s", rieModule, err, out)
			return
		}
		riePath = filepath.Join(rieDir, "aws-lambda-rie")
	})
	if rieErr != nil {
		t.Fatal(rieErr)
	}
	return riePath
}

func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// buildFunction builds functions/<name> for this machine (the smoke test
// runs here) with the Lambda build tags and returns the bootstrap path.
func buildFunction(t *testing.T, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command(goTool(), "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, "./"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build functions/%s: %v\n%s", name, err, b)
	}
	return out
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// emulator is a function binary running under aws-lambda-rie.
type emulator struct {
	url     string
	out     *lockedBuffer
	started time.Time
}

// startEmulator runs bootstrap under the emulator on a free loopback port,
// with env as the whole environment (plus what the emulator adds).
func startEmulator(t *testing.T, bootstrap string, env map[string]string) *emulator {
	t.Helper()
	bin := rie(t)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr := freeAddr(t)
		out := &lockedBuffer{}
		// Both of the emulator's ports on free loopback ports: the Runtime
		// API defaults to 127.0.0.1:9001, which parallel tests would share.
		cmd := exec.Command(bin, "--runtime-interface-emulator-address", addr, "--runtime-api-address", freeAddr(t),
			"--log-level", "error", bootstrap)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024", "AWS_EC2_METADATA_DISABLED=true"}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdout, cmd.Stderr = out, out
		started := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
			if t.Failed() {
				t.Logf("emulator output:\n%s", out.String())
			}
		})
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case err := <-exited:
				exited <- err
				lastErr = fmt.Errorf("the emulator exited: %v\n%s", err, out.String())
			default:
				c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
				if err == nil {
					c.Close()
					return &emulator{url: "http://" + addr + "/2015-03-31/functions/function/invocations", out: out, started: started}
				}
				time.Sleep(20 * time.Millisecond)
				continue
			}
			break
		}
		if lastErr == nil {
			lastErr = fmt.Errorf("the emulator did not listen on %s", addr)
		}
	}
	t.Fatal(lastErr)
	return nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// invoke sends one event, as Lambda's Invoke API would, and decodes the
// function's answer into out.
func (e *emulator) invoke(t *testing.T, event, out any) {
	t.Helper()
	status, body := e.call(t, event)
	if status != 200 {
		t.Fatalf("invoke: HTTP %d: %s", status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("invoke: answer %s: %v", body, err)
	}
	var fnErr fnError
	if json.Unmarshal(body, &fnErr) == nil && fnErr.ErrorType != "" {
		t.Fatalf("the function failed: %s", body)
	}
}

// fnError is the answer of a function that returned an error.
type fnError struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

// call sends one event and returns the emulator's raw answer.
func (e *emulator) call(t *testing.T, event any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

var initRE = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)

// initDuration returns the init duration the emulator reported for the
// first invoke.
func (e *emulator) initDuration(t *testing.T) time.Duration {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := initRE.FindStringSubmatch(e.out.String()); m != nil {
			ms, _ := strconv.ParseFloat(m[1], 64)
			return time.Duration(ms * float64(time.Millisecond))
		}
		if time.Now().After(deadline) {
			t.Errorf("no Init Duration in the emulator's output:\n%s", e.out.String())
			return 0
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logLines returns the function's JSON log lines with the given message.
func (e *emulator) logLines(msg string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(e.out.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(strings.TrimSpace(l)), &m) == nil && m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// exampleDB opens a scratch database with the example client and its
// template, for the emulator smoke tests; ctx bounds the test.
func exampleDB(t *testing.T) (ctx context.Context, dbURL string, st *store.Store, client store.Client, tp store.Template) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the Runtime Interface Emulator smoke tests build binaries and are skipped")
	}
	dbURL = storetest.URL(t)
	// Long enough for the binaries the test builds on a busy machine: the
	// context is used after the build too.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if client, err = st.AddClient(ctx, "Prospectia", clientctx.Dir("../examples/prospectia")); err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile("../examples/prospectia/template.md")
	if err != nil {
		t.Fatal(err)
	}
	if tp, err = st.AddTemplate(ctx, client.ID, "Cold Email V1", tmpl); err != nil {
		t.Fatal(err)
	}
	return ctx, dbURL, st, client, tp
}
