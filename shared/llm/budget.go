package llm

import (
	"context"
	"sync"
	"time"
)

// budget is the requests-per-minute and tokens-per-minute allowance shared
// by every call of an engine. Each call reserves one request and its
// estimated tokens before it is sent (waiting when the allowance is spent),
// and settles the estimate against the reported usage afterwards. A 429
// with a server hint pauses every caller until the hint has passed.
type budget struct {
	mu     sync.Mutex
	now    func() time.Time
	req    bucket
	tok    bucket
	paused time.Time
}

// bucket is a token bucket refilled continuously at perSec up to burst.
// Its level may go negative: reservations queue up behind each other.
type bucket struct {
	on     bool
	perSec float64
	burst  float64
	level  float64
	last   time.Time
}

// newBudget makes a budget of rpm requests and tpm tokens per minute (0:
// unlimited); each may be spent in bursts of a sixth of a minute's worth.
func newBudget(rpm, tpm int, now func() time.Time) *budget {
	mk := func(perMin int) bucket {
		if perMin <= 0 {
			return bucket{}
		}
		burst := max(float64(perMin)/6, 1)
		return bucket{on: true, perSec: float64(perMin) / 60, burst: burst, level: burst, last: now()}
	}
	return &budget{now: now, req: mk(rpm), tok: mk(tpm)}
}

func (b *bucket) advance(now time.Time) {
	if !b.on {
		return
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.level = min(b.burst, b.level+dt*b.perSec)
		b.last = now
	}
}

// take removes n (at most one burst) and returns how long until the level
// is back to zero, that is until this reservation may be used.
func (b *bucket) take(now time.Time, n float64) time.Duration {
	if !b.on {
		return 0
	}
	b.advance(now)
	b.level -= min(n, b.burst)
	if b.level >= 0 {
		return 0
	}
	return time.Duration(-b.level / b.perSec * float64(time.Second))
}

func (b *bucket) give(now time.Time, n float64) {
	if !b.on {
		return
	}
	b.advance(now)
	b.level = min(b.burst, b.level+n)
}

// reserve books one request of tokens tokens and returns the delay before
// it may be sent.
func (b *budget) reserve(tokens int) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	d := max(b.req.take(now, 1), b.tok.take(now, float64(tokens)))
	return max(d, b.paused.Sub(now))
}

// wait reserves and sleeps until the reservation is due; when ctx ends
// first the reservation is given back.
func (b *budget) wait(ctx context.Context, tokens int, sleep func(context.Context, time.Duration) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := b.reserve(tokens)
	if d <= 0 {
		return nil
	}
	if err := sleep(ctx, d); err != nil {
		b.mu.Lock()
		now := b.now()
		b.req.give(now, 1)
		b.tok.give(now, float64(tokens))
		b.mu.Unlock()
		return err
	}
	return nil
}

// settle corrects a token estimate with the usage the API reported.
func (b *budget) settle(estimate, actual int) {
	if actual <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if actual > estimate {
		b.tok.take(now, float64(actual-estimate))
	} else {
		b.tok.give(now, float64(estimate-actual))
	}
}

// pause holds every reservation until t.
func (b *budget) pause(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.After(b.paused) {
		b.paused = t
	}
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
