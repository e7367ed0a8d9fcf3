package llm

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/llmsim"
)

// grantedBy counts reservations usable by offset d.
func grantedBy(delays []time.Duration, d time.Duration) int {
	n := 0
	for _, x := range delays {
		if x <= d {
			n++
		}
	}
	return n
}

func TestBudgetRespectsRateUnderConcurrency(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBudget(60, 60000, func() time.Time { return now }) // 1 request/s, burst 10; 1000 tokens/s, burst 10000
	const callers = 50
	delays := make([]time.Duration, callers)
	var wg sync.WaitGroup
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			delays[i] = b.reserve(100)
		}(i)
	}
	wg.Wait()
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	for _, d := range []time.Duration{0, time.Second, 10 * time.Second, 39 * time.Second} {
		if got, limit := grantedBy(delays, d), 10+int(d/time.Second); got > limit {
			t.Errorf("%d requests granted by +%v, limit %d", got, d, limit)
		}
	}
	if delays[callers-1] != 40*time.Second {
		t.Errorf("last request at +%v, want +40s (50 requests, burst 10, 1/s)", delays[callers-1])
	}

	// Tokens: 5 requests of 4000 estimated tokens against a 10000 burst at 1000/s.
	tb := newBudget(0, 60000, func() time.Time { return now })
	var td []time.Duration
	for i := 0; i < 5; i++ {
		td = append(td, tb.reserve(4000))
	}
	want := []time.Duration{0, 0, 2 * time.Second, 6 * time.Second, 10 * time.Second}
	for i := range want {
		if td[i] != want[i] {
			t.Errorf("token reservation %d at +%v, want +%v", i, td[i], want[i])
		}
	}
}

func TestBudgetSettleAndRefund(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBudget(0, 6000, func() time.Time { return now }) // 100 tokens/s, burst 1000
	if d := b.reserve(1000); d != 0 {
		t.Fatalf("first reservation waits %v", d)
	}
	b.settle(1000, 400) // used less than estimated: 600 back
	if d := b.reserve(600); d != 0 {
		t.Errorf("after a refund of 600, a 600 reservation waits %v", d)
	}
	b.settle(600, 900) // used 300 more than estimated: a debt
	if d := b.reserve(100); d != 4*time.Second {
		t.Errorf("after a 300 debt, 100 tokens wait %v, want 4s", d)
	}
	// A cancelled wait gives its reservation back.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.wait(ctx, 100, sleepCtx); err == nil {
		t.Error("wait on a cancelled context succeeded")
	}
	now = now.Add(20 * time.Second) // refill completely
	if d := b.reserve(1000); d != 0 {
		t.Errorf("full bucket waits %v", d)
	}
	// Unlimited budgets never wait.
	u := newBudget(0, 0, time.Now)
	for i := 0; i < 1000; i++ {
		if d := u.reserve(1 << 20); d != 0 {
			t.Fatalf("unlimited budget waited %v", d)
		}
	}
}

func TestBudgetSharedByAllAgents(t *testing.T) {
	// 12 concurrent answers from six agents against rpm 60 (burst 10): the
	// engine's sleeps show one queue, not six.
	e, sim := startSim(t, llmsim.Options{}, func(c *Config) { c.RPM = 60 })
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.now = func() time.Time { return now }
	var sl sleeps
	e.sleep = sl.sleep
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func(spec agents.Spec) {
			defer wg.Done()
			if _, err := e.Answer(context.Background(), testRequest(t, spec, testSite())); err != nil {
				t.Error(err)
			}
		}(agents.All[i%len(agents.All)])
	}
	wg.Wait()
	d := sl.all()
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	if len(d) != 2 || d[0] != time.Second || d[1] != 2*time.Second {
		t.Errorf("budget sleeps = %v, want [1s 2s]", d)
	}
	if sim.Stats().Requests != 12 {
		t.Errorf("requests = %d", sim.Stats().Requests)
	}
}

func TestParseReset(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1s", time.Second, true},
		{"6m0s", 6 * time.Minute, true},
		{"20ms", 20 * time.Millisecond, true},
		{"1.5s", 1500 * time.Millisecond, true},
		{"2", 2 * time.Second, true},
		{" 7ms ", 7 * time.Millisecond, true},
		{"", 0, false},
		{"soon", 0, false},
		{"-1s", 0, false},
	} {
		got, ok := ParseReset(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseReset(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		h    map[string]string
		want time.Duration
	}{
		{"none", nil, 0},
		{"retry-after-ms wins", map[string]string{"retry-after-ms": "120", "Retry-After": "5"}, 120 * time.Millisecond},
		{"retry-after seconds", map[string]string{"Retry-After": "5"}, 5 * time.Second},
		{"retry-after date", map[string]string{"Retry-After": now.Add(3 * time.Second).Format(http.TimeFormat)}, 3 * time.Second},
		{"exhausted requests only", map[string]string{"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s", "x-ratelimit-remaining-tokens": "5000", "x-ratelimit-reset-tokens": "6m0s"}, time.Second},
		{"both unknown: longest", map[string]string{"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "20ms"}, time.Second},
	} {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		if got := retryHint(h, now); got != tc.want {
			t.Errorf("%s: hint %v, want %v", tc.name, got, tc.want)
		}
	}
}
