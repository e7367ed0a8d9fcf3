package worker_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
	"github.com/kaleads/kaleads/shared/worker"
)

// pgProxy forwards TCP connections to PostgreSQL. cut drops every open
// connection and refuses the next refuse connections, as a server restart
// does to its clients.
type pgProxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	conns   []net.Conn
	refuse  atomic.Int64
	refused atomic.Int64
}

func newProxy(t *testing.T, target string) *pgProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut(0) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.refuse.Add(-1) >= 0 {
				p.refused.Add(1)
				c.Close()
				continue
			}
			p.refuse.Store(0)
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *pgProxy) cut(refuse int64) {
	p.refuse.Store(refuse)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// PostgreSQL "restarts" mid-run: connections drop and new ones are refused
// for a while. The run carries on by itself and ends with every contact
// completed, none failed or stuck.
func TestDatabaseRestartMidRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u, err := url.Parse(storetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	st, err := store.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := setupOn(t, st)
	up := f.upload(t, example+"/contacts.csv")
	w := f.worker(t, nil, nil)

	var n atomic.Int64
	res, err := w.Run(ctx, worker.RunOptions{Workers: 4, BatchID: up.BatchID, UntilDone: true, OnDone: func(worker.Outcome) {
		if n.Add(1) == 5 {
			proxy.cut(6)
		}
	}})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if proxy.refused.Load() == 0 {
		t.Fatal("the outage did not happen")
	}
	if res.Completed+res.Existing != up.Imported {
		t.Errorf("stats %+v for %d contacts", res, up.Imported)
	}
	var completed, emails int
	st.Pool().QueryRow(ctx, `select count(*) filter (where status = 'completed'), (select count(*) from emails_generated)
		from contacts_to_enrich where batch_id = $1`, up.BatchID).Scan(&completed, &emails)
	if completed != up.Imported || emails != up.Imported {
		t.Errorf("%d completed, %d emails, for %d contacts", completed, emails, up.Imported)
	}
}
