package sequencer

import (
	"context"
	"math"
	"sync"
	"time"
)

// Limiter is a token bucket (rate per Per, capacity Burst) driven by a Clock.
// It can also be paused until an instant (rate-limit reset headers, Retry-After).
type Limiter struct {
	mu          sync.Mutex
	clock       Clock
	perSec      float64
	burst       float64
	tokens      float64
	last        time.Time
	pausedUntil time.Time
}

// NewLimiter allows n requests per period with the given burst (>=1).
func NewLimiter(clock Clock, n int, per time.Duration, burst int) *Limiter {
	if clock == nil {
		clock = RealClock{}
	}
	if burst < 1 {
		burst = 1
	}
	return &Limiter{clock: clock, perSec: float64(n) / per.Seconds(), burst: float64(burst), tokens: float64(burst), last: clock.Now()}
}

// Wait blocks (on the clock) until a request may be sent.
func (l *Limiter) Wait(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.mu.Lock()
		now := l.clock.Now()
		if now.After(l.last) {
			l.tokens = math.Min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.perSec)
			l.last = now
		}
		var d time.Duration
		switch {
		case now.Before(l.pausedUntil):
			d = l.pausedUntil.Sub(now)
		case l.tokens >= 1-1e-9:
			l.tokens--
			l.mu.Unlock()
			return nil
		default:
			d = time.Duration(math.Ceil((1 - l.tokens) / l.perSec * 1e9))
			if d < time.Millisecond {
				d = time.Millisecond
			}
		}
		l.mu.Unlock()
		if err := l.clock.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// PauseUntil stops issuing tokens until t and empties the bucket, so
// requests resume at the steady rate after the pause.
func (l *Limiter) PauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.pausedUntil) {
		l.pausedUntil = t
		l.tokens = 0
		l.last = t
	}
}
