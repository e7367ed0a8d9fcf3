package pipeline

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
)

// RunOptions tunes a campaign run.
type RunOptions struct {
	Concurrency int                   // contacts processed at once; default 8
	Progress    func(done, total int) // called after each contact, from one goroutine at a time
}

// Run processes contacts concurrently and calls emit once per contact, in
// input order, from one goroutine. When ctx is cancelled or a fatal error
// stops the run, the results already made are still emitted (so finished
// emails are written), and the returned error says why it stopped.
func (p *Pipeline) Run(ctx context.Context, cs []contacts.Contact, opts RunOptions, emit func(email.Result) error) (email.Summary, error) {
	start := time.Now()
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hits0, misses0 := p.CacheStats()

	type item struct {
		i int
		r email.Result
	}
	jobs := make(chan int)
	out := make(chan item, opts.Concurrency)
	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r, err := p.Process(ctx, cs[i])
				if err != nil {
					cancel(err)
					continue // a contact cut short by the stop is not emitted
				}
				out <- item{i, r}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range cs {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(out) }()

	var s email.Summary
	var durations []time.Duration
	var emitErr error
	pending := map[int]email.Result{}
	next := 0
	send := func(r email.Result) {
		if emitErr == nil {
			if err := emit(r); err != nil {
				emitErr = err
				cancel(err)
			}
		}
		s.Tally(r)
		countActivity(&s, r)
		durations = append(durations, time.Duration(r.Timings.TotalMS)*time.Millisecond)
		if opts.Progress != nil {
			opts.Progress(s.Contacts, len(cs))
		}
	}
	for it := range out {
		pending[it.i] = it.r
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			send(r)
		}
	}
	// Stopped early: what finished out of order is still written.
	rest := make([]int, 0, len(pending))
	for i := range pending {
		rest = append(rest, i)
	}
	sort.Ints(rest)
	for _, i := range rest {
		send(pending[i])
	}

	hits, misses := p.CacheStats()
	s.CacheHits, s.CacheMisses = hits-hits0, misses-misses0
	s.Wall = time.Since(start)
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	if n := len(durations); n > 0 {
		s.P50, s.P95 = durations[n/2], durations[min(n-1, n*95/100)]
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) || emitErr != nil {
		if emitErr != nil {
			err = emitErr
		}
		s.StoppedEarly = err.Error()
		return s, err
	}
	if err := ctx.Err(); err != nil && s.Contacts < len(cs) {
		s.StoppedEarly = "interrupted"
		return s, err
	}
	return s, nil
}

// countActivity adds what the engine did for one contact's answers to the
// run summary: answers computed or reused, model calls with their retries
// and times, repairs, and fallbacks by reason (with the first note for
// each reason as its example).
func countActivity(s *email.Summary, r email.Result) {
	if len(r.Answers) == 0 {
		return
	}
	if s.Agents == nil {
		s.Agents = map[string]email.AgentActivity{}
	}
	reused := map[string]bool{}
	for _, v := range r.Variables {
		if v.Agent != "" && v.Cached {
			reused[v.Agent] = true
		}
	}
	names := make([]string, 0, len(r.Answers))
	for name := range r.Answers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		a, act := r.Answers[name], s.Agents[name]
		if reused[name] {
			act.Reused++
			s.Agents[name] = act
			continue
		}
		act.Answers++
		for _, n := range a.Notes {
			if n.Code == email.NoteLLMRepaired {
				act.Repairs++
				break
			}
		}
		if reason := a.FallbackReason; reason != "" {
			if act.Fallbacks == nil {
				act.Fallbacks = map[string]int{}
			}
			act.Fallbacks[reason]++
			if _, ok := s.FallbackExamples[reason]; !ok {
				if s.FallbackExamples == nil {
					s.FallbackExamples = map[string]string{}
				}
				s.FallbackExamples[reason] = fallbackNote(a)
			}
		}
		s.Agents[name] = act
	}
	// The calls of reused answers are not in r.Calls: they were made once.
	for _, c := range r.Calls {
		act := s.Agents[c.Agent]
		act.Calls++
		act.Retries += c.Retries
		act.LatencyMS += c.LatencyMS
		act.WaitMS += c.WaitMS
		s.Agents[c.Agent] = act
	}
}

// fallbackNote is the message of an answer's fallback note, else its
// short reason.
func fallbackNote(a email.Answer) string {
	for _, n := range a.Notes {
		if n.Code == email.NoteLLMFallback {
			return n.Message
		}
	}
	return a.Agent + ": " + a.FallbackReason
}
