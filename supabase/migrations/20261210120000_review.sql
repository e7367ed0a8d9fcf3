-- Review (issue 11): people sign in, approve, edit and reject generated
-- emails; every decision is recorded; the queue is read worst score first.
--
-- Users are Supabase Auth's auth.users (e-mail, bcrypt encrypted_password),
-- so one account signs in to `kaleads serve` and to a Supabase front end.
-- Who may see which client stays client_members; app_admins marks the users
-- who see every client.

-- ============================================================
-- app_admins: users who see and review every client. A table of our own
-- rather than auth.users.raw_app_meta_data: GoTrue owns that column (it
-- rewrites provider data there), a row can be granted and revoked in one
-- statement, and it cascades when the user is deleted.
-- ============================================================
create table public.app_admins (
  user_id uuid primary key references auth.users (id) on delete cascade,
  created_at timestamptz not null default now()
);

-- ============================================================
-- sessions: signed-in browsers of `kaleads serve`. Only the SHA-256 of the
-- cookie's token is stored, so a copy of the table signs nobody in.
-- ============================================================
create table public.sessions (
  token_hash text primary key check (token_hash ~ '^[0-9a-f]{64}$'),
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  check (expires_at > created_at)
);

create index idx_sessions_user on public.sessions (user_id);
create index idx_sessions_expires on public.sessions (expires_at);

-- ============================================================
-- review_decisions: one row per approve / edit / reject, by a reviewer
-- (reviewer_id) through the UI or by an API key (via = 'api:<key id>').
-- The source of the dashboard and of review_analytics; an undone decision
-- keeps its row with undone_at set. quality_score is the email's score when
-- it was decided, so the history survives a regeneration (which deletes the
-- email: email_id becomes null, contact_id stays).
-- ============================================================
create type public.review_action as enum ('approve', 'edit', 'reject');

create table public.review_decisions (
  id uuid primary key default gen_random_uuid(),
  email_id uuid references public.emails_generated (id) on delete set null,
  contact_id uuid references public.contacts_to_enrich (id) on delete cascade,
  client_id uuid not null references public.clients (id) on delete cascade,
  reviewer_id uuid references auth.users (id) on delete set null,
  via text not null check (btrim(via) <> ''),
  action public.review_action not null,
  previous_status public.review_status not null,
  new_status public.review_status not null,
  reason public.rejection_reason,
  details text,
  quality_score integer check (quality_score between 0 and 100),
  -- What an edit replaced, restored by an undo.
  previous_final text,
  previous_subject_final text,
  decided_at timestamptz not null default now(),
  time_to_decision_ms integer check (time_to_decision_ms >= 0),
  undone_at timestamptz,
  check ((action = 'reject') = (reason is not null))
);

-- Dashboard and analytics: decisions of a client (or of every client) in a
-- period, read from the index alone.
create index idx_review_decisions_client on public.review_decisions (client_id, decided_at)
  include (action, reason, time_to_decision_ms, quality_score) where undone_at is null;
create index idx_review_decisions_decided on public.review_decisions (decided_at)
  include (client_id, action, reason, time_to_decision_ms, quality_score) where undone_at is null;
-- Undo: a reviewer's latest decision.
create index idx_review_decisions_reviewer on public.review_decisions (reviewer_id, decided_at desc)
  where undone_at is null;
create index idx_review_decisions_email on public.review_decisions (email_id);
create index idx_review_decisions_contact on public.review_decisions (contact_id);

-- ============================================================
-- emails_generated: the subject a reviewer wrote (email_final holds the
-- body), and the review queue's order — worst score first, then oldest —
-- as indexes a keyset page reads in order, for every client or for one.
-- ============================================================
alter table public.emails_generated add column subject_final text;

drop index if exists public.idx_emails_client_review;
create index idx_emails_queue on public.emails_generated
  (review_status, (coalesce(quality_score, 0)), created_at, id);
create index idx_emails_client_queue on public.emails_generated
  (client_id, review_status, (coalesce(quality_score, 0)), created_at, id);
-- Dashboard and analytics: emails generated in a period, with their score.
create index idx_emails_client_created on public.emails_generated (client_id, created_at)
  include (quality_score);

-- The queue's text search (store.Emails): trigram indexes over what a
-- reviewer searches — subject, body and their edited versions; company,
-- contact name and e-mail — so a case-insensitive substring (ILIKE) is
-- found without reading every email. The expressions are the store's
-- (emailSearchText, contactSearchText) and must stay identical. pg_trgm
-- goes in the extensions schema, as Supabase installs extensions; where it
-- is already installed elsewhere, its operator class is taken from there.
create schema if not exists extensions;
create extension if not exists pg_trgm with schema extensions;

do $$
declare
  trgm text;
begin
  select n.nspname into strict trgm
    from pg_catalog.pg_extension x join pg_catalog.pg_namespace n on n.oid = x.extnamespace
   where x.extname = 'pg_trgm';
  execute format($i$create index idx_emails_search on public.emails_generated using gin (
      (coalesce(subject, '') || E'\n' || email_generated || E'\n' || coalesce(email_final, '') || E'\n' || coalesce(subject_final, ''))
      %I.gin_trgm_ops)$i$, trgm);
  execute format($i$create index idx_contacts_search on public.contacts_to_enrich using gin (
      (company_name || E'\n' || coalesce(first_name, '') || ' ' || coalesce(last_name, '') || E'\n' || coalesce(email, ''))
      %I.gin_trgm_ops)$i$, trgm);
end;
$$;

-- ============================================================
-- Row Level Security, as in 20261125120200: members read their clients'
-- decisions; a user reads their own admin row; sessions are the service's
-- only (no policy). Decisions are written by the service (the Go store).
-- ============================================================
alter table public.app_admins enable row level security;
alter table public.sessions enable row level security;
alter table public.review_decisions enable row level security;

create policy "users read their own admin row" on public.app_admins
  for select to authenticated using (user_id = (select auth.uid()));

create policy "members read review decisions" on public.review_decisions
  for select to authenticated using (private.is_client_member(client_id));

revoke all on table public.app_admins, public.sessions, public.review_decisions from anon, authenticated;

grant select on table public.app_admins, public.review_decisions to authenticated;

grant all on table public.app_admins, public.sessions, public.review_decisions to service_role;
