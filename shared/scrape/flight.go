package scrape

import (
	"context"
	"errors"
	"sync"
)

var errAborted = errors.New("scrape: fetch aborted")

// group runs fn once per key and keeps the result for the group's lifetime;
// concurrent callers for a key wait for the first one (singleflight with a
// cache). A result whose error came with the leader's context ending is not
// kept: waiters whose own context is still live run fn again.
type group[V any] struct {
	mu sync.Mutex
	m  map[string]*call[V]
}

type call[V any] struct {
	done  chan struct{}
	val   V
	err   error
	retry bool
}

// do returns fn's result for key and whether it came from another call.
func (g *group[V]) do(ctx context.Context, key string, fn func(context.Context) (V, error)) (V, bool, error) {
	for {
		g.mu.Lock()
		if g.m == nil {
			g.m = make(map[string]*call[V])
		}
		c, ok := g.m[key]
		if !ok {
			c = &call[V]{done: make(chan struct{}), err: errAborted}
			g.m[key] = c
			g.mu.Unlock()
			g.run(ctx, key, c, fn)
			return c.val, false, c.err
		}
		g.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			var zero V
			return zero, true, ctx.Err()
		}
		if !c.retry {
			return c.val, true, c.err
		}
	}
}

func (g *group[V]) run(ctx context.Context, key string, c *call[V], fn func(context.Context) (V, error)) {
	defer close(c.done)
	defer func() {
		if c.err != nil && (ctx.Err() != nil || c.err == errAborted) {
			c.retry = true
			g.mu.Lock()
			delete(g.m, key)
			g.mu.Unlock()
		}
	}()
	c.val, c.err = fn(ctx)
}
