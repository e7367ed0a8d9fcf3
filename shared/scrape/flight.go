package scrape

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

var errAborted = errors.New("scrape: fetch aborted")

// group runs fn once per key and keeps the result for a while; concurrent
// callers for a key wait for the first one (singleflight with a cache).
// Finished results live in a size- and age-bounded LRU, so a long-running
// process does not grow with every domain it ever scraped. A result whose
// error came with the leader's context ending is not kept: waiters whose own
// context is still live run fn again.
type group[V any] struct {
	mu       sync.Mutex
	inflight map[string]*call[V]
	done     *expirable.LRU[string, *call[V]]
}

type call[V any] struct {
	done  chan struct{}
	val   V
	err   error
	retry bool
}

// newGroup keeps up to size finished results, each for at most ttl.
func newGroup[V any](size int, ttl time.Duration) *group[V] {
	return &group[V]{inflight: map[string]*call[V]{}, done: expirable.NewLRU[string, *call[V]](size, nil, ttl)}
}

// do returns fn's result for key and whether it came from another call.
func (g *group[V]) do(ctx context.Context, key string, fn func(context.Context) (V, error)) (V, bool, error) {
	for {
		if c, ok := g.done.Get(key); ok {
			return c.val, true, c.err
		}
		g.mu.Lock()
		c, ok := g.inflight[key]
		if !ok {
			if c, ok := g.done.Get(key); ok { // finished while we took the lock
				g.mu.Unlock()
				return c.val, true, c.err
			}
			c = &call[V]{done: make(chan struct{}), err: errAborted}
			g.inflight[key] = c
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
		c.retry = c.err != nil && (ctx.Err() != nil || c.err == errAborted)
		g.mu.Lock()
		if !c.retry {
			g.done.Add(key, c)
		}
		delete(g.inflight, key)
		g.mu.Unlock()
	}()
	c.val, c.err = fn(ctx)
}

// len returns the number of results kept.
func (g *group[V]) len() int { return g.done.Len() }
