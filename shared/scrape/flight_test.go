package scrape

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// A long-running process must not keep every domain it ever scraped: the
// group keeps at most its size of finished results, most recent first.
func TestGroupIsBounded(t *testing.T) {
	g := newGroup[int](3, time.Hour)
	ctx := context.Background()
	runs := 0
	get := func(key string) (int, bool) {
		v, shared, err := g.do(ctx, key, func(context.Context) (int, error) { runs++; return len(key), nil })
		if err != nil {
			t.Fatal(err)
		}
		return v, shared
	}
	for i := range 10 {
		get(fmt.Sprintf("site-%d.example", i))
	}
	if n := g.len(); n != 3 {
		t.Fatalf("%d results kept, want 3", n)
	}
	if _, shared := get("site-9.example"); !shared {
		t.Error("the most recent site was scraped again")
	}
	if _, shared := get("site-0.example"); shared {
		t.Error("the oldest site was still cached")
	}
	if runs != 11 {
		t.Errorf("%d runs, want 11", runs)
	}
}

// A fetch cut short by its caller's context is not kept.
func TestGroupDoesNotKeepAborted(t *testing.T) {
	g := newGroup[int](3, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := g.do(ctx, "a", func(ctx context.Context) (int, error) { return 0, ctx.Err() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if g.len() != 0 {
		t.Fatal("an aborted fetch was cached")
	}
	v, shared, err := g.do(context.Background(), "a", func(context.Context) (int, error) { return 7, nil })
	if v != 7 || shared || err != nil {
		t.Fatalf("retry = %d %v %v", v, shared, err)
	}
}

// The pacer forgets hosts whose slot has passed once it tracks many.
func TestPacerForgetsPastHosts(t *testing.T) {
	p := &pacer{gap: time.Millisecond, next: map[string]time.Time{}}
	past := time.Now().Add(-time.Minute)
	for i := range pruneAbove {
		p.next[fmt.Sprintf("h%d.example", i)] = past
	}
	undo, err := p.wait(context.Background(), "new.example")
	if err != nil {
		t.Fatal(err)
	}
	undo()
	if n := len(p.next); n > 1 {
		t.Fatalf("pacer still tracks %d hosts", n)
	}
}
