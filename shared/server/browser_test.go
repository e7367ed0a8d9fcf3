package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kaleads/kaleads/shared/agents/offline"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/scrape"
	"github.com/kaleads/kaleads/shared/server"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
	"github.com/kaleads/kaleads/shared/worker"
)

// screenshotsEnv names the directory the browser test writes its
// screenshots to (default: a temporary directory). Give an absolute path:
// go test runs in the package's directory. The README's pictures come from
//
//	KALEADS_SCREENSHOTS=$PWD/docs/screenshots go test -run TestBrowserReview ./shared/server
const screenshotsEnv = "KALEADS_SCREENSHOTS"

// chromium returns the path of a Chromium (or Chrome) binary, or skips the
// test when there is none (.ci/run installs Debian's chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium binary on PATH (chromium, chromium-browser, google-chrome[-stable], headless-shell): " +
		"the browser test needs one; on Debian: apt-get install chromium")
	return ""
}

// browserClient adds a client with the example's context and template,
// uploads the given lines of the example's contacts.csv and generates
// their emails with the offline engine. It returns the client.
func browserClient(t *testing.T, st *store.Store, w *worker.Worker, name string, lines ...int) store.Client {
	t.Helper()
	ctx := context.Background()
	c, err := st.AddClient(ctx, name, clientctx.Dir(example))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(example + "/template.md")
	if err != nil {
		t.Fatal(err)
	}
	tp, err := st.AddTemplate(ctx, c.ID, "Cold Email V1", data)
	if err != nil {
		t.Fatal(err)
	}
	all, err := os.ReadFile(example + "/contacts.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimRight(string(all), "\n"), "\n")
	csv := []string{rows[0]}
	for _, n := range lines {
		csv = append(csv, rows[n-1])
	}
	up, err := st.Upload(ctx, c.ID, tp.ID, strings.NewReader(strings.Join(csv, "\n")+"\n"))
	if err != nil || up.Imported != len(lines) {
		t.Fatalf("upload for %s: %+v %v", name, up, err)
	}
	stats, err := w.Run(ctx, worker.RunOptions{Workers: 4, BatchID: up.BatchID, UntilDone: true})
	if err != nil || stats.Completed != len(lines) {
		t.Fatalf("generate for %s: %+v %v", name, stats, err)
	}
	return c
}

// requestLog records requests: what the browser sent (network events)
// and what the server received.
type requestLog struct {
	mu      sync.Mutex
	browser []string
	server  []string
}

func (l *requestLog) sent(s string)     { l.mu.Lock(); l.browser = append(l.browser, s); l.mu.Unlock() }
func (l *requestLog) received(s string) { l.mu.Lock(); l.server = append(l.server, s); l.mu.Unlock() }

func (l *requestLog) reset() {
	l.mu.Lock()
	l.browser, l.server = nil, nil
	l.mu.Unlock()
}

func (l *requestLog) take() (browser, server []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	browser, server = l.browser, l.server
	l.browser, l.server = nil, nil
	return browser, server
}

// The review UI in headless Chromium (issue 11): a reviewer signs in,
// moves with j/k, approves three emails with one key and one round-trip
// each, edits one, rejects one with a reason, undoes the rejection, and
// sees the dashboard's numbers change; the database agrees. A reviewer of
// another client, in a fresh browser context, sees none of it: only their
// client's emails, 404 for the other's. Screenshots of the queue, a card
// and the dashboard go to $KALEADS_SCREENSHOTS (default: a temporary
// directory).
func TestBrowserReview(t *testing.T) {
	chromePath := chromium(t)
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	st.PasswordCost = 4

	// Two clients: A with six emails, B with two.
	sites, stopSites, err := scrape.NewForSites(example+"/sites", scrape.Options{PerHostDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSites)
	off, err := offline.New()
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(worker.Config{Store: st, Engine: off, Scraper: sites})
	if err != nil {
		t.Fatal(err)
	}
	clientA := browserClient(t, st, w, "Prospectia", 2, 5, 8, 10, 12, 13)
	clientB := browserClient(t, st, w, "Batiplus", 15, 17)
	const password = "correct horse battery"
	users := map[string]store.Client{"ana@agency.example": clientA, "bruno@agency.example": clientB}
	reviewer := map[string]string{}
	for addr, c := range users {
		u, err := st.CreateUser(ctx, addr, password, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddMember(ctx, u.ID, c.ID, store.RoleReviewer); err != nil {
			t.Fatal(err)
		}
		reviewer[addr] = u.ID
	}
	emailIDs := func(c store.Client) []string {
		rows, err := st.Pool().Query(ctx, `select id::text from emails_generated where client_id = $1 order by id`, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}
	contactsOf := func(c store.Client) []string {
		rows, err := st.Pool().Query(ctx, `select email from contacts_to_enrich where client_id = $1`, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
		return out
	}
	idsA, idsB := emailIDs(clientA), emailIDs(clientB)
	if len(idsA) != 6 || len(idsB) != 2 {
		t.Fatalf("%d emails for A, %d for B", len(idsA), len(idsB))
	}

	// The real handler, as `kaleads serve` mounts it, behind a recorder of
	// the requests it receives.
	h, err := server.Handler(st, "", nil, nil, server.HandlerOptions{InsecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	var reqs requestLog
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.received(r.Method + " " + r.URL.Path)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)

	shots := os.Getenv(screenshotsEnv)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// One headless browser (a fresh profile): A in its default browser
	// context, B in a new one (no shared cookies).
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromePath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-quic", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser, with no deadline
		t.Fatalf("start chromium: %v", err)
	}
	// Every browser action from here on ends within the minute.
	tabA, cancelTab := context.WithTimeout(browserCtx, time.Minute)
	defer cancelTab()
	if err := chromedp.Listen(tabA, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && !strings.HasPrefix(e.Request.URL, "data:") {
			reqs.sent(e.Request.Method + " " + strings.TrimPrefix(e.Request.URL, ts.URL))
		}
	}); err != nil {
		t.Fatal(err)
	}

	do := func(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// until waits for a JavaScript condition (DOM state), for 15 s at most.
	until := func(ctx context.Context, what, cond string) {
		t.Helper()
		do(ctx, "wait for "+what, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(15*time.Second)))
	}
	eval := func(ctx context.Context, expr string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return s
	}
	shot := func(ctx context.Context, name string, a chromedp.Action[[]byte]) {
		t.Helper()
		png, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(ctx context.Context, addr string) {
		t.Helper()
		do(ctx, "sign in as "+addr,
			chromedp.EmulateViewport(1280, 800),
			chromedp.Navigate(ts.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS("#login")), // a fresh context has no session
			chromedp.SendKeys(chromedp.CSS("#email"), addr),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#login-submit")),
			chromedp.WaitVisible(chromedp.CSS("#queue")))
		if got := eval(ctx, `document.getElementById('user-email').textContent.trim()`); got != addr {
			t.Fatalf("signed in as %q, want %q", got, addr)
		}
	}
	dashboard := func(ctx context.Context) map[string]string {
		t.Helper()
		do(ctx, "open the dashboard", chromedp.Navigate(ts.URL+"/dashboard"), chromedp.WaitVisible(chromedp.CSS("#dashboard")))
		d, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`(() => {
			const d = Object.assign({}, document.getElementById('dashboard').dataset);
			for (const s of document.querySelectorAll('[data-stat]')) d['stat-' + s.dataset.stat] = s.querySelector('dd').textContent.trim();
			return d;
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	checkDash := func(d map[string]string, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if d[k] != v {
				t.Errorf("dashboard %s = %q, want %q (all: %v)", k, d[k], v, d)
			}
		}
	}

	// --- Reviewer of client A.
	signIn(tabA, "ana@agency.example")
	checkDash(dashboard(tabA), map[string]string{"generated": "6", "approved": "0", "edited": "0", "rejected": "0", "stat-approved": "0"})
	do(tabA, "back to the queue", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#card[data-email-id]")))
	until(tabA, "the first row marked current", `document.querySelector('#queue-list li.current') !== null`)
	var rows []string
	if raw := eval(tabA, `[...document.querySelectorAll('#queue-list li[data-email-id]')].map(li => li.dataset.emailId).join(' ')`); raw != "" {
		rows = strings.Fields(raw)
	}
	if got, want := slices.Sorted(slices.Values(rows)), idsA; !slices.Equal(got, want) {
		t.Fatalf("queue of A shows %v, want A's emails %v", got, want)
	}
	if card := eval(tabA, `document.getElementById('card').dataset.emailId`); card != rows[0] {
		t.Fatalf("the card shows %s, want the queue's first %s", card, rows[0])
	}
	shot(tabA, "review-queue.png", chromedp.CaptureScreenshot())

	// key presses key (with modifiers) and waits until the card shows
	// email want, settled (htmx done, its row marked current), and
	// returns the requests sent and received meanwhile.
	settled := func(id string) string {
		return fmt.Sprintf(`(() => {
			const c = document.getElementById('card');
			const cur = document.querySelector('#queue-list li.current');
			return c !== null && c.dataset.emailId === %[1]q && cur !== null && cur.dataset.emailId === %[1]q &&
				document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added') === null;
		})()`, id)
	}
	key := func(what, k, want string, mods ...chromedp.Modifier) (browser, srv []string) {
		t.Helper()
		reqs.reset()
		var o []chromedp.KeyOption
		if len(mods) > 0 {
			o = append(o, chromedp.KeyModifiers(mods...))
		}
		do(tabA, what, chromedp.KeyEvent(k, o...))
		until(tabA, what+": the card of "+want, settled(want))
		return reqs.take()
	}
	oneRequest := func(what, method, path string, browser, srv []string) {
		t.Helper()
		want := []string{method + " " + path}
		if !slices.Equal(browser, want) || !slices.Equal(srv, want) {
			t.Errorf("%s: the browser sent %q and the server received %q; want exactly %q", what, browser, srv, want)
		}
	}
	gone := func(id string) {
		t.Helper()
		until(tabA, "row "+id+" out of the queue", fmt.Sprintf(`document.querySelector('#queue-list li[data-email-id=%q]') === null`, id))
	}

	// j / k: one GET of the next / previous card each.
	b, s := key("j", "j", rows[1])
	oneRequest("j", "GET", "/emails/"+rows[1], b, s)
	b, s = key("k", "k", rows[0])
	oneRequest("k", "GET", "/emails/"+rows[0], b, s)

	// a: one key, one round-trip (the POST answers with the next card).
	approved := []string{rows[0], rows[1], rows[3]}
	b, s = key("approve 1", "a", rows[1])
	oneRequest("approve 1", "POST", "/emails/"+rows[0]+"/approve", b, s)
	gone(rows[0])
	b, s = key("approve 2", "a", rows[2])
	oneRequest("approve 2", "POST", "/emails/"+rows[1]+"/approve", b, s)
	gone(rows[1])
	b, s = key("j to the fourth", "j", rows[3])
	oneRequest("j to the fourth", "GET", "/emails/"+rows[3], b, s)
	b, s = key("approve 3", "a", rows[4])
	oneRequest("approve 3", "POST", "/emails/"+rows[3]+"/approve", b, s)
	gone(rows[3])
	if n := eval(tabA, `document.getElementById('notice').className + ' ' + document.getElementById('notice').textContent`); !strings.Contains(n, "notice-ok") || !strings.Contains(n, "Approved") {
		t.Errorf("notice after an approval: %q", n)
	}

	// e: the edit panel opens with the body focused; typing appends, and
	// Ctrl+Enter saves (approved_edited) in one round-trip.
	const added = "PS: edited in the browser test."
	reqs.reset()
	do(tabA, "e", chromedp.KeyEvent("e"))
	until(tabA, "the edit panel", `document.getElementById('edit-panel').open && document.activeElement === document.getElementById('edit-body')`)
	do(tabA, "type in the body", chromedp.KeyEvent("\n"+added))
	if body := eval(tabA, `document.getElementById('edit-body').value`); !strings.HasSuffix(body, "\n"+added) {
		t.Fatalf("the edited body ends %q", body[max(0, len(body)-80):])
	}
	if b, s := reqs.take(); len(b)+len(s) != 0 {
		t.Errorf("opening the edit panel and typing sent requests: %q %q", b, s)
	}
	b, s = key("save the edit", kb.Enter, rows[5], chromedp.ModifierCtrl)
	oneRequest("e, type, Ctrl+Enter", "POST", "/emails/"+rows[4]+"/edit", b, s)
	gone(rows[4])

	// r: the reject panel opens with the reason focused; four arrows down
	// pick "Tone too corporate", Tab goes to the details, Ctrl+Enter
	// rejects.
	const details = "Too stiff for a founder."
	reqs.reset()
	do(tabA, "r", chromedp.KeyEvent("r"))
	until(tabA, "the reject panel", `document.getElementById('reject-panel').open && document.activeElement === document.getElementById('reject-reason')`)
	do(tabA, "pick a reason and type the details", chromedp.KeyEvent(strings.Repeat(kb.ArrowDown, 4)), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(details))
	if got := eval(tabA, `document.getElementById('reject-reason').value + '|' + document.getElementById('reject-details').value`); got != "tone_too_corporate|"+details {
		t.Fatalf("reject form: %q", got)
	}
	if b, s := reqs.take(); len(b)+len(s) != 0 {
		t.Errorf("opening the reject panel and filling it sent requests: %q %q", b, s)
	}
	// The card's picture: the viewport scrolled to the open reject panel.
	do(tabA, "scroll to the reject panel", chromedp.Evaluate[chromedp.Void](`document.getElementById('reject-panel').scrollIntoView({block: 'center'})`))
	shot(tabA, "review-card.png", chromedp.CaptureScreenshot())
	b, s = key("confirm the rejection", kb.Enter, rows[2], chromedp.ModifierCtrl)
	oneRequest("r, reason, details, Ctrl+Enter", "POST", "/emails/"+rows[5]+"/reject", b, s)
	gone(rows[5])

	// u: the rejection is undone, its email back on the card and in the list.
	b, s = key("u", "u", rows[5])
	oneRequest("u", "POST", "/undo", b, s)
	if status := eval(tabA, `document.getElementById('card').dataset.status`); status != "pending_review" {
		t.Errorf("after undo the card's status is %q", status)
	}
	if n := eval(tabA, `document.getElementById('notice').textContent`); !strings.Contains(n, "Undone") {
		t.Errorf("notice after undo: %q", n)
	}
	left := eval(tabA, `[...document.querySelectorAll('#queue-list li[data-email-id]')].map(li => li.dataset.emailId).sort().join(' ')`)
	if want := strings.Join(slices.Sorted(slices.Values([]string{rows[2], rows[5]})), " "); left != want {
		t.Errorf("queue after the decisions: %q, want %q", left, want)
	}

	// The dashboard counts 3 approved, 1 edited, no rejection (undone).
	checkDash(dashboard(tabA), map[string]string{"generated": "6", "approved": "3", "edited": "1", "rejected": "0",
		"stat-approved": "3", "stat-edited": "1", "stat-rejected": "0", "stat-approval-rate": "100.0 %"})
	do(tabA, "dashboard charts", chromedp.WaitVisible(chromedp.CSS("#readiness")),
		chromedp.WaitReady(chromedp.CSS("#chart-weekly svg")), chromedp.WaitReady(chromedp.CSS("#chart-scores svg")))
	shot(tabA, "review-dashboard.png", chromedp.CaptureScreenshot())

	// The database agrees.
	want := map[string]string{rows[2]: "pending_review", rows[4]: "approved_edited", rows[5]: "pending_review"}
	for _, id := range approved {
		want[id] = "approved"
	}
	for id, status := range want {
		var got, final string
		var by *string
		err := st.Pool().QueryRow(ctx, `select review_status::text, coalesce(email_final, ''), reviewer_id::text
			from emails_generated where id = $1`, id).Scan(&got, &final, &by)
		if err != nil {
			t.Fatal(err)
		}
		if got != status {
			t.Errorf("email %s is %s, want %s", id, got, status)
		}
		if status == "approved_edited" && !strings.HasSuffix(final, added) {
			t.Errorf("the edited email's final text ends %q", final[max(0, len(final)-60):])
		}
		if status != "pending_review" && (by == nil || *by != reviewer["ana@agency.example"]) {
			t.Errorf("email %s reviewed by %v, want A's reviewer", id, by)
		}
	}
	if n := count(t, st, `select count(*) from review_decisions where reviewer_id = $1 and action = 'reject'
		and reason = 'tone_too_corporate' and details = $2 and undone_at is not null`, reviewer["ana@agency.example"], details); n != 1 {
		t.Errorf("%d undone rejections recorded with the reason and details, want 1", n)
	}

	// --- Reviewer of client B, in a fresh browser context: none of A's.
	ctxB, cancelB := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	defer cancelB()
	tabB, cancelTabB := context.WithTimeout(ctxB, time.Minute)
	defer cancelTabB()
	signIn(tabB, "bruno@agency.example")
	shown := strings.Fields(eval(tabB, `[...document.querySelectorAll('#queue-list li[data-email-id]')].map(li => li.dataset.emailId).sort().join(' ')`))
	if !slices.Equal(shown, idsB) {
		t.Errorf("B's queue shows %v, want only B's emails %v", shown, idsB)
	}
	html := eval(tabB, `document.body.innerHTML`)
	for _, a := range append(contactsOf(clientA), idsA...) {
		if strings.Contains(html, a) {
			t.Errorf("B's queue page shows %s, of client A", a)
		}
	}
	for _, id := range []string{rows[0], rows[2]} { // one decided, one pending
		resp, err := chromedp.Run(tabB, chromedp.NavigateResponse(ts.URL+"/emails/"+id))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != http.StatusNotFound {
			t.Errorf("B opening A's email %s: %d, want 404", id, resp.Status)
		}
		if got := eval(tabB, `(document.getElementById('error') || {dataset: {}}).dataset.status || ''`); got != "404" {
			t.Errorf("B opening A's email %s: the page is not the 404 page (%q)", id, got)
		}
	}
	checkDash(dashboard(tabB), map[string]string{"generated": "2", "approved": "0", "edited": "0", "rejected": "0"})
}
