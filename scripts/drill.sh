#!/usr/bin/env bash
# Reliability drill for `kaleads serve`, against the local PostgreSQL and the
# LLM simulator (no network):
#
#   1. builds bin/kaleads, creates a scratch database, migrates it, adds the
#      example client;
#   2. starts the simulator (800 ms per call, no jitter, no faults);
#   3. starts serve (64 workers, LLM engine, 2 s poll) and waits for /readyz;
#   4. inserts 500 contacts (100 companies × 5, no website) straight into
#      contacts_to_enrich and delivers every Supabase webhook twice;
#   5. SIGKILLs serve mid-batch (~150 completed), checks contacts were left
#      enriching, restarts it with --contact-timeout 20s so the sweeper
#      returns them after 60 s;
#   6. (--pg-restart, the default) restarts PostgreSQL mid-batch (~350
#      completed) and measures the outage;
#   7. waits (6 min max) for every contact to be completed or failed and
#      checks: nothing failed, lost, stuck or duplicated, one email per
#      contact, the abandoned contacts recovered, serve stops cleanly;
#   8. measures a clean run (fresh database, no fault): contacts/s, LLM calls,
#      the bound LLM calls × 0.8 s ÷ 64, peak RSS;
#   9. prints a summary, also written to out/drill/summary.txt.
#
# Every check prints PASS or FAIL; the exit status is non-zero on any FAIL.
# Everything the drill starts (simulator, serve processes, scratch
# databases) is stopped or dropped on exit, failure and Ctrl-C included.
# Logs (JSON serve logs, simulator output, webhook answers) stay in out/drill.
#
# Usage: scripts/drill.sh [--pg-restart | --no-pg-restart]
#
#   --pg-restart     restart the whole PostgreSQL server mid-run (default).
#                    It cuts every other client of that server (a running
#                    `make test`, for instance): use --no-pg-restart then.
#
# Environment:
#   DRILL_PG              server URL without database (default postgres://postgres@127.0.0.1:5432)
#   DRILL_PG_RESTART_CMD  restart command (default: pg_ctlcluster --skip-systemctl-redirect <version> main restart)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

PG_RESTART=1
for arg in "$@"; do
	case $arg in
	--pg-restart) PG_RESTART=1 ;;
	--no-pg-restart) PG_RESTART=0 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "drill: unknown argument $arg (see --help)" >&2
		exit 2
		;;
	esac
done

# ---------------------------------------------------------------- settings
CONTACTS=500
COMPANIES=100
WORKERS=64
LATENCY_S=0.8
KILL_AT=150
PG_RESTART_AT=350
WAIT_LIMIT=360 # step 7, seconds
SECRET=drill
PG=${DRILL_PG:-postgres://postgres@127.0.0.1:5432}
OUT=out/drill
SUFFIX=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
DB=kaleads_drill_$SUFFIX
DB_TP=kaleads_drill_${SUFFIX}_tp
ADMIN="$PG/postgres?sslmode=disable"

mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT"/*.txt "$OUT"/*.ids

T0=$(date +%s.%N)
FAILS=0
PASSES=0
PIDS=()      # processes this drill started
DBS=()       # databases this drill created
declare -A S # summary values

# ----------------------------------------------------------------- helpers
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.1f", b - a }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
log() { printf '[%6ss] %s\n' "$(since "$T0")" "$*"; }
step() { printf '\n[%6ss] == %s\n' "$(since "$T0")" "$*"; }
check() { # check "what" condition-command...
	local what=$1
	shift
	if "$@"; then
		PASSES=$((PASSES + 1))
		printf '[%6ss]   PASS  %s\n' "$(since "$T0")" "$what"
	else
		FAILS=$((FAILS + 1))
		printf '[%6ss]   FAIL  %s\n' "$(since "$T0")" "$what"
	fi
}
die() {
	FAILS=$((FAILS + 1))
	printf '[%6ss]   FAIL  %s (drill aborted)\n' "$(since "$T0")" "$*"
	exit 1
}
dburl() { echo "$PG/$1?sslmode=disable"; }
q() { # q DB SQL: unaligned, tuples only, one attempt
	psql -X -q -At -v ON_ERROR_STOP=1 "$(dburl "$1")" -c "$2"
}
qr() { # q, retried for up to 60 s (PostgreSQL may be restarting)
	local i
	for i in $(seq 1 120); do
		if q "$@" 2>/dev/null; then return 0; fi
		sleep 0.5
	done
	q "$@"
}
counts() { # counts DB: sets p e c f (pending enriching completed failed)
	local r
	r=$(qr "$1" "select count(*) filter (where status = 'pending'), count(*) filter (where status = 'enriching'),
		count(*) filter (where status = 'completed'), count(*) filter (where status = 'failed')
		from public.contacts_to_enrich") || die "cannot count the contacts of $1"
	IFS='|' read -r p e c f <<<"$r"
}
free_port() {
	local p i
	for i in $(seq 1 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
peak_rss_mb() { # VmHWM of a live process, in MiB
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "n/a"
}
alive() { kill -0 "$1" 2>/dev/null; }
forget_pid() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
	PIDS=("${keep[@]}")
}
stop_pid() { # stop_pid PID [timeout]: SIGTERM, then SIGKILL; sets STOP_RC to its exit status
	local pid=$1 limit=${2:-40} i rc=0
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 $((limit * 10))); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || rc=$?
	forget_pid "$pid"
	STOP_RC=$rc
}

# Serve: started with the drill's environment and flags; SERVE_PID is set.
SERVE_PORT=
serve_start() { # serve_start DB LOG [extra flags...]
	local db=$1 logf=$2 i code
	shift 2
	DATABASE_URL="$(dburl "$db")&pool_max_conns=24" KALEADS_WEBHOOK_SECRET=$SECRET \
		bin/kaleads serve --addr "127.0.0.1:$SERVE_PORT" --workers "$WORKERS" --engine llm --poll 2s "$@" \
		>"$logf" 2>&1 &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	for i in $(seq 1 300); do
		alive "$SERVE_PID" || {
			tail -20 "$logf"
			die "serve exited at start (log $logf)"
		}
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$SERVE_PORT/readyz" || true)
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	die "serve not ready after 30 s (log $logf)"
}
readyz_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$SERVE_PORT/readyz" || true; }
no_panic() { ! grep -q -E '^(panic:|fatal error:)|^goroutine [0-9]+ \[' "$1"; }

insert_contacts() { # insert_contacts DB: 500 contacts, 100 companies, no website
	q "$1" "insert into public.contacts_to_enrich (first_name, last_name, email, company_name, job_title, industry)
		select 'Prenom' || i, 'Nom' || i, 'c' || i || '@company' || ((i - 1) / 5 + 1) || '.example',
		       'Company ' || ((i - 1) / 5 + 1), 'Directeur commercial', 'Logiciel B2B'
		  from generate_series(1, $CONTACTS) i" >/dev/null
}

new_database() { # new_database DB: create, migrate, add the example client
	q postgres "create database $1" >/dev/null
	DBS+=("$1")
	DATABASE_URL="$(dburl "$1")" bin/kaleads migrate >"$OUT/migrate-$1.log" 2>&1 ||
		{ cat "$OUT/migrate-$1.log"; die "kaleads migrate on $1"; }
	DATABASE_URL="$(dburl "$1")" bin/kaleads client add examples/prospectia --name Drill >"$OUT/client-$1.log" 2>&1 ||
		{ cat "$OUT/client-$1.log"; die "kaleads client add on $1"; }
}

write_summary() {
	local result=$1 f=$OUT/summary.txt
	{
		echo "================ kaleads serve reliability drill — summary ================"
		printf '%-44s %s\n' "result" "$result ($PASSES checks passed, $FAILS failed)"
		printf '%-44s %s\n' "drill wall time" "$(since "$T0") s"
		printf '%-44s %s\n' "date / commit" "$(date -u +%FT%TZ) / $(git rev-parse --short HEAD 2>/dev/null || echo n/a)$(git diff --quiet 2>/dev/null || echo ' (dirty tree)')"
		printf '%-44s %s\n' "setup" "$CONTACTS contacts, $COMPANIES companies, $WORKERS workers, sim latency ${LATENCY_S}s jitter 0, pool_max_conns=24"
		echo "--- fault run (database ${DB})"
		printf '%-44s %s\n' "webhooks posted (each contact twice)" "${S[webhooks]:-n/a}, non-2xx: ${S[webhooks_bad]:-n/a} (${S[webhooks_s]:-n/a} s)"
		printf '%-44s %s\n' "SIGKILL of serve #1 at" "${S[kill_completed]:-n/a} completed, ${S[kill_enriching]:-n/a} left enriching (+${S[kill_at]:-n/a} s after insert)"
		printf '%-44s %s\n' "serve #1 peak RSS (VmHWM)" "${S[rss1]:-n/a} MiB"
		printf '%-44s %s\n' "serve #2 ready after restart" "${S[restart_ready]:-n/a} s"
		printf '%-44s %s\n' "PostgreSQL restart" "${S[pg]:-n/a}"
		printf '%-44s %s\n' "sweeps (serve #2)" "${S[sweeps]:-n/a}"
		printf '%-44s %s\n' "abandoned contacts recovered" "${S[recovered]:-n/a}"
		printf '%-44s %s\n' "all contacts done after insert" "${S[done_after]:-n/a} s"
		printf '%-44s %s\n' "completed / failed" "${S[completed]:-n/a} / ${S[failed]:-n/a}"
		printf '%-44s %s\n' "failure reasons" "${S[reasons]:-none}"
		printf '%-44s %s\n' "stuck pending / enriching" "${S[stuck]:-n/a}"
		printf '%-44s %s\n' "emails_generated rows" "${S[emails]:-n/a}"
		printf '%-44s %s\n' "contacts with two emails" "${S[dups]:-n/a}"
		printf '%-44s %s\n' "attempts per contact (attempts:count)" "${S[attempts]:-n/a}"
		printf '%-44s %s\n' "serve #2 warnings/errors logged" "${S[warns]:-n/a}"
		printf '%-44s %s\n' "serve #2 peak RSS (VmHWM)" "${S[rss2]:-n/a} MiB"
		printf '%-44s %s\n' "serve #2 SIGTERM shutdown" "${S[shutdown2]:-n/a}"
		echo "--- clean run (database ${DB_TP})"
		printf '%-44s %s\n' "contacts completed / failed" "${S[tp_completed]:-n/a} / ${S[tp_failed]:-n/a}"
		printf '%-44s %s\n' "wall time (insert to all done)" "${S[tp_wall]:-n/a} s"
		printf '%-44s %s\n' "throughput" "${S[tp_rate]:-n/a} contacts/s"
		printf '%-44s %s\n' "LLM calls (HTTP requests incl. retries)" "${S[tp_calls]:-n/a} (${S[tp_http]:-n/a})"
		printf '%-44s %s\n' "agent answers from the company cache" "${S[tp_cached]:-n/a}"
		printf '%-44s %s\n' "bound: calls x ${LATENCY_S} s / $WORKERS" "${S[tp_bound]:-n/a} s (wall/bound = ${S[tp_ratio]:-n/a})"
		printf '%-44s %s\n' "email time ms p50 / p95 / max" "${S[tp_lat]:-n/a}"
		printf '%-44s %s\n' "serve #3 peak RSS (VmHWM)" "${S[rss3]:-n/a} MiB"
		echo "logs: $OUT/ (serve-1.log, serve-2.log, serve-3.log, sim.log, webhooks.txt)"
	} | tee "$f"
}

cleanup() {
	local rc=$? p d
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do
		alive "$p" && kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 1 300); do
			alive "$p" || break
			sleep 0.1
		done
		alive "$p" && kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for d in "${DBS[@]}"; do
		qr postgres "drop database if exists $d with (force)" >/dev/null 2>&1 ||
			echo "drill: could not drop database $d" >&2
	done
	if [ -z "${SUMMARY_DONE:-}" ]; then
		echo
		write_summary "ABORTED" || true
	fi
	if [ "$rc" -eq 0 ] && [ "$FAILS" -gt 0 ]; then rc=1; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo; log "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------ step 1
step "1. build, scratch database $DB, migrate, client add"
for tool in psql curl jq awk; do command -v "$tool" >/dev/null || die "$tool not found"; done
q postgres "select 1" >/dev/null || die "PostgreSQL unreachable at $PG"
if [ "$PG_RESTART" = 1 ]; then
	if [ -n "${DRILL_PG_RESTART_CMD:-}" ]; then
		PG_RESTART_CMD=$DRILL_PG_RESTART_CMD
	else
		versions=$(ls /etc/postgresql 2>/dev/null || true)
		[ "$(wc -w <<<"$versions")" = 1 ] || die "--pg-restart: expected one cluster version in /etc/postgresql, found '$versions' (set DRILL_PG_RESTART_CMD)"
		PG_RESTART_CMD="pg_ctlcluster --skip-systemctl-redirect $versions main restart"
	fi
	log "WARNING: step 6 will restart the whole PostgreSQL server ($PG_RESTART_CMD);"
	log "         every other client (a running make test) loses its connections. --no-pg-restart skips it."
fi
go build -o bin/kaleads ./cmd/kaleads || die "go build"
check "bin/kaleads builds" true
new_database "$DB"
check "scratch database migrated and client Drill added" \
	test "$(q "$DB" "select count(*) from public.clients where client_name = 'Drill'")" = 1

# ------------------------------------------------------------------ step 2
step "2. LLM simulator"
SIM_PORT=$(free_port) || die "no free port"
bin/kaleads sim --addr "127.0.0.1:$SIM_PORT" --latency 800ms --jitter 0 >"$OUT/sim.log" 2>&1 &
SIM_PID=$!
PIDS+=("$SIM_PID")
for _ in $(seq 1 100); do
	alive "$SIM_PID" || die "simulator exited: $(cat "$OUT/sim.log")"
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SIM_PORT/v1/models" || true)" = 200 ] && break
	sleep 0.1
done
check "simulator answers on 127.0.0.1:$SIM_PORT" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SIM_PORT/v1/models" || true)" = 200
export OPENAI_BASE_URL=http://127.0.0.1:$SIM_PORT/v1 OPENAI_API_KEY=sim
export KALEADS_LLM_RPM=1000000 KALEADS_LLM_TPM=1000000000

# ------------------------------------------------------------------ step 3
step "3. serve #1 (--workers $WORKERS --engine llm --poll 2s)"
SERVE_PORT=$(free_port) || die "no free port"
serve_start "$DB" "$OUT/serve-1.log"
SERVE1=$SERVE_PID
check "serve #1 (pid $SERVE1) on 127.0.0.1:$SERVE_PORT: GET /readyz = 200" true

# ------------------------------------------------------------------ step 4
step "4. insert $CONTACTS contacts ($COMPANIES companies × 5, no website), webhooks delivered twice"
insert_contacts "$DB"
T_INSERT=$(now)
ids=$(q "$DB" "select id from public.contacts_to_enrich order by email")
check "$CONTACTS contacts inserted, all with client and template (trigger)" \
	test "$(q "$DB" "select count(*) from public.contacts_to_enrich where client_id is not null and template_id is not null")" = "$CONTACTS"
# One curl process, 16 transfers at a time (a curl per request costs ~7 s
# of process start-ups on a small machine, long after the kill point). Both
# deliveries of a contact are adjacent, so duplicates arrive together.
hook_body='{\\"type\\":\\"INSERT\\",\\"table\\":\\"contacts_to_enrich\\",\\"schema\\":\\"public\\",\\"record\\":{\\"id\\":\\"%s\\"},\\"old_record\\":null}'
sep=
while read -r id; do
	for _ in 1 2; do
		printf '%s' "$sep"
		sep=$'next\n'
		printf 'url = "http://127.0.0.1:%s/webhooks/contacts"\n' "$SERVE_PORT"
		printf 'header = "Content-Type: application/json"\nheader = "X-Webhook-Secret: %s"\n' "$SECRET"
		printf "data = \"$hook_body\"\n" "$id"
		printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nmax-time = 10\n'
	done
done <<<"$ids" >"$OUT/webhooks.curl"
curl -s --no-progress-meter --parallel --parallel-max 16 -K "$OUT/webhooks.curl" >"$OUT/webhooks.txt" 2>"$OUT/webhooks.err" &
HOOKS_PID=$!
PIDS+=("$HOOKS_PID")

# ------------------------------------------------------------------ step 5
step "5. SIGKILL serve #1 once ~$KILL_AT contacts are completed (and the webhooks are delivered)"
hooks_done=
while :; do
	counts "$DB"
	if [ -z "$hooks_done" ] && ! alive "$HOOKS_PID"; then
		wait "$HOOKS_PID" 2>/dev/null || true
		forget_pid "$HOOKS_PID"
		hooks_done=$(since "$T_INSERT")
		log "webhooks delivered in ${hooks_done}s; completed so far: $c"
	fi
	if [ -n "$hooks_done" ] && [ "$c" -ge "$KILL_AT" ]; then break; fi
	alive "$SERVE1" || die "serve #1 died on its own before the kill (see $OUT/serve-1.log)"
	[ "$(since "$T_INSERT" | cut -d. -f1)" -lt 180 ] || die "$KILL_AT contacts not completed within 180 s ($c completed)"
	sleep 0.1
done
S[rss1]=$(peak_rss_mb "$SERVE1")
kill -KILL "$SERVE1"
wait "$SERVE1" 2>/dev/null || true
forget_pid "$SERVE1"
S[kill_at]=$(since "$T_INSERT")
counts "$DB"
S[kill_completed]=$c
S[kill_enriching]=$e
log "serve #1 killed: pending $p, enriching $e, completed $c, failed $f; peak RSS ${S[rss1]} MiB"
q "$DB" "select id from public.contacts_to_enrich where status = 'enriching' order by id" >"$OUT/abandoned.ids"

total=$(wc -l <"$OUT/webhooks.txt")
bad=$(grep -cv '^2[0-9][0-9]$' "$OUT/webhooks.txt" || true)
S[webhooks]=$total
S[webhooks_bad]=$bad
S[webhooks_s]=$hooks_done
[ -s "$OUT/webhooks.err" ] && log "curl: $(head -3 "$OUT/webhooks.err")"
log "webhook answers: $(sort "$OUT/webhooks.txt" | uniq -c | awk '{ printf "%s×%s ", $1, $2 }')"
check "$((2 * CONTACTS)) webhooks answered, none non-2xx ($bad non-2xx)" test "$total" = $((2 * CONTACTS)) -a "$bad" = 0
check "SIGKILL landed mid-batch: $e contacts left enriching" test "$e" -gt 0
check "serve #1 log has no panic" no_panic "$OUT/serve-1.log"

T_RESTART=$(now)
serve_start "$DB" "$OUT/serve-2.log" --contact-timeout 20s
SERVE2=$SERVE_PID
S[restart_ready]=$(since "$T_RESTART")
check "serve #2 (pid $SERVE2, --contact-timeout 20s) ready in ${S[restart_ready]} s" true

# ------------------------------------------------------------------ step 6
if [ "$PG_RESTART" = 1 ]; then
	step "6. restart PostgreSQL once ~$PG_RESTART_AT contacts are completed"
	while :; do
		counts "$DB"
		[ "$c" -ge "$PG_RESTART_AT" ] && break
		alive "$SERVE2" || die "serve #2 died (see $OUT/serve-2.log)"
		[ "$(since "$T_RESTART" | cut -d. -f1)" -lt 240 ] || die "$PG_RESTART_AT contacts not completed within 240 s of the restart ($c completed)"
		sleep 0.1
	done
	log "pending $p, enriching $e, completed $c, failed $f"
	log "WARNING: restarting the PostgreSQL server now: $PG_RESTART_CMD"
	t=$(now)
	$PG_RESTART_CMD >"$OUT/pg-restart.txt" 2>&1 || { cat "$OUT/pg-restart.txt"; die "PostgreSQL restart command failed"; }
	t_cmd=$(since "$t")
	for _ in $(seq 1 600); do
		q postgres "select 1" >/dev/null 2>&1 && break
		sleep 0.1
	done
	q postgres "select 1" >/dev/null 2>&1 || die "PostgreSQL not back 60 s after the restart"
	down=$(since "$t")
	for _ in $(seq 1 600); do
		[ "$(readyz_code)" = 200 ] && break
		sleep 0.1
	done
	ready=$(since "$t")
	S[pg]="at $c completed, $e enriching ($(wc -l <"$OUT/abandoned.ids") of them abandoned by serve #1); down ${down} s (restart command ${t_cmd} s), serve /readyz 200 again after ${ready} s"
	log "PostgreSQL back after ${down} s; serve /readyz 200 after ${ready} s"
	check "PostgreSQL back and serve #2 ready again" test "$(readyz_code)" = 200
	check "serve #2 survived the PostgreSQL restart" alive "$SERVE2"
else
	step "6. PostgreSQL restart skipped (--no-pg-restart)"
	S[pg]="skipped (--no-pg-restart)"
fi

# ------------------------------------------------------------------ step 7
step "7. wait (max ${WAIT_LIMIT}s) until every contact is completed or failed"
T_WAIT=$(now)
last=0
while :; do
	counts "$DB"
	[ $((p + e)) = 0 ] && break
	alive "$SERVE2" || die "serve #2 died (see $OUT/serve-2.log)"
	el=$(since "$T_WAIT" | cut -d. -f1)
	if [ "$el" -ge "$WAIT_LIMIT" ]; then
		log "timeout: pending $p, enriching $e, completed $c, failed $f"
		break
	fi
	if [ $((el / 15)) -gt "$last" ]; then
		last=$((el / 15))
		log "pending $p, enriching $e, completed $c, failed $f"
	fi
	sleep 0.5
done
S[done_after]=$(since "$T_INSERT")
counts "$DB"
log "done: pending $p, enriching $e, completed $c, failed $f (${S[done_after]} s after the insert)"
S[completed]=$c
S[failed]=$f
S[stuck]="$p / $e"
emails=$(q "$DB" "select count(*) from public.emails_generated")
S[emails]=$emails
dups=$(q "$DB" "select count(*) from (select contact_id from public.emails_generated group by 1 having count(*) > 1) d")
S[dups]=$dups
reasons=$(q "$DB" "select count(*) || ' × ' || coalesce(error_message, '(none)') from public.contacts_to_enrich where status = 'failed' group by error_message order by count(*) desc")
S[reasons]=$(tr '\n' ';' <<<"$reasons" | sed 's/;$//; s/;/; /g')
S[attempts]=$(q "$DB" "select attempts || ':' || count(*) from public.contacts_to_enrich group by attempts order by attempts" | tr '\n' ' ')
if [ -n "$reasons" ]; then
	echo "  failure reasons (select error_message, count(*) … group by 1):"
	sed 's/^/    /' <<<"$reasons"
fi
check "no contact stuck: $p pending, $e enriching" test "$p" = 0 -a "$e" = 0
check "all $CONTACTS contacts accounted for ($c completed + $f failed)" test $((c + f)) = "$CONTACTS"
check "no contact failed ($f failed; no fault in this drill should fail one for good)" test "$f" = 0
check "emails_generated rows ($emails) == completed contacts ($c)" test "$emails" = "$c"
check "no contact has two emails ($dups)" test "$dups" = 0
orphans=$(q "$DB" "select count(*) from public.contacts_to_enrich c where (c.status = 'completed') <> exists (select 1 from public.emails_generated e where e.contact_id = c.id)")
check "every completed contact has its email and no other contact has one ($orphans mismatches)" test "$orphans" = 0
runs_bad=$(q "$DB" "select count(*) from public.emails_generated e where not exists (select 1 from public.agent_runs r where r.email_id = e.id)")
check "every email has its agent runs ($runs_bad without)" test "$runs_bad" = 0
check "duplicate webhooks: ${S[webhooks]} deliveries for $CONTACTS contacts, still one email per contact" \
	test "$emails" = "$(q "$DB" "select count(distinct contact_id) from public.emails_generated")" -a "$dups" = 0
n_ab=$(wc -l <"$OUT/abandoned.ids")
if [ "$n_ab" -gt 0 ]; then
	ab_list=$(sed "s/.*/'&'/" "$OUT/abandoned.ids" | paste -sd,)
	ab_ok=$(q "$DB" "select count(*) from public.contacts_to_enrich where id in ($ab_list) and status = 'completed' and attempts >= 2")
else
	ab_ok=0
fi
S[recovered]="$ab_ok of $n_ab completed on a later claim"
check "the $n_ab contacts abandoned by SIGKILL were swept back and completed ($ab_ok)" test "$ab_ok" = "$n_ab"
sweeps=$(jq -r 'select(.msg == "sweep") | "\(.time[11:19]) requeued \(.requeued) failed \(.failed)"' "$OUT/serve-2.log" 2>/dev/null | paste -sd, | sed 's/,/, /g')
S[sweeps]=${sweeps:-none}
log "sweeps: ${S[sweeps]}"
S[warns]=$(jq -r 'select(.level == "WARN" or .level == "ERROR") | "\(.level) \(.msg)"' "$OUT/serve-2.log" 2>/dev/null |
	sort | uniq -c | sort -rn | awk '{ n = $1; $1 = ""; printf "%s%d×%s", sep, n, $0; sep = ";" }')
S[warns]=${S[warns]:-none}
log "serve #2 warnings/errors: ${S[warns]}"
check "serve #2 log has no panic" no_panic "$OUT/serve-2.log"
check "serve #2 still running" alive "$SERVE2"
S[rss2]=$(peak_rss_mb "$SERVE2")
t=$(now)
stop_pid "$SERVE2" 40
rc=$STOP_RC
S[shutdown2]="exit status $rc after $(since "$t") s"
check "serve #2 stops on SIGTERM with status 0 (${S[shutdown2]})" test "$rc" = 0

# ------------------------------------------------------------------ step 8
step "8. clean run: fresh database $DB_TP, serve #3, $CONTACTS contacts, no fault"
new_database "$DB_TP"
serve_start "$DB_TP" "$OUT/serve-3.log"
SERVE3=$SERVE_PID
log "serve #3 (pid $SERVE3) ready"
insert_contacts "$DB_TP"
T_TP=$(now)
while :; do
	counts "$DB_TP"
	[ $((p + e)) = 0 ] && break
	alive "$SERVE3" || die "serve #3 died (see $OUT/serve-3.log)"
	[ "$(since "$T_TP" | cut -d. -f1)" -lt "$WAIT_LIMIT" ] || break
	sleep 0.1
done
wall=$(since "$T_TP")
counts "$DB_TP"
S[tp_completed]=$c
S[tp_failed]=$f
S[tp_wall]=$wall
S[tp_rate]=$(calc "%.1f" "$c / $wall")
check "clean run: all $CONTACTS completed in ${wall} s ($c completed, $f failed, $((p + e)) left)" test "$c" = "$CONTACTS"
read -r calls http cached <<<"$(q "$DB_TP" "select count(c), coalesce(sum((c->>'attempts')::int), 0),
	(select count(*) from public.agent_runs where cached)
	from public.agent_runs r left join lateral jsonb_array_elements(r.calls) c on true where not r.cached" | tr '|' ' ')"
logcalls=$(jq -s '[.[] | select(.msg == "email stored") | .llm_calls] | add // 0' "$OUT/serve-3.log")
S[tp_calls]=$calls
S[tp_http]=$http
S[tp_cached]="$cached of $(q "$DB_TP" "select count(*) from public.agent_runs")"
S[tp_bound]=$(calc "%.1f" "$calls * $LATENCY_S / $WORKERS")
S[tp_ratio]=$(calc "%.2f" "$wall / (${S[tp_bound]} > 0 ? ${S[tp_bound]} : 1)")
S[tp_lat]=$(q "$DB_TP" "select percentile_disc(0.5) within group (order by generation_time_ms) || ' / ' ||
	percentile_disc(0.95) within group (order by generation_time_ms) || ' / ' || max(generation_time_ms) from public.emails_generated")
check "LLM calls counted in agent_runs ($calls) == llm_calls in serve's log ($logcalls)" test "$calls" = "$logcalls"
S[rss3]=$(peak_rss_mb "$SERVE3")
check "serve #3 log has no panic" no_panic "$OUT/serve-3.log"
stop_pid "$SERVE3" 40
rc=$STOP_RC
check "serve #3 stops on SIGTERM with status 0 (status $rc)" test "$rc" = 0
log "throughput ${S[tp_rate]} contacts/s; $calls LLM calls; bound ${S[tp_bound]} s; peak RSS ${S[rss3]} MiB"

# ------------------------------------------------------------------ step 9
step "9. summary"
SUMMARY_DONE=1
if [ "$FAILS" -eq 0 ]; then result=PASS; else result=FAIL; fi
write_summary "$result"
[ "$FAILS" -eq 0 ]
