-- What the design needs beyond the seed's tables: who may see which client,
-- the stored context files, the per-company agent answer cache, the per-agent
-- run trace, API keys, per-client automation settings and the export ledger.

create type public.member_role as enum ('owner', 'reviewer');

create type public.automation_phase as enum ('shadow', 'partial', 'full');

create type public.export_destination as enum ('smartlead', 'instantly', 'lemlist', 'csv');

create type public.export_status as enum ('pending', 'sent', 'failed');

-- ============================================================
-- client_members: a signed-in user (auth.users) sees the rows of the
-- clients they are a member of.
-- ============================================================
create table public.client_members (
  client_id uuid not null references public.clients (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role public.member_role not null default 'reviewer',
  created_at timestamptz not null default now(),
  primary key (client_id, user_id)
);

create index idx_client_members_user on public.client_members (user_id);

-- ============================================================
-- client_context_files: a client's context (pci.md, personas.md,
-- pain_points.md, competitors.json, case_studies/*.md, template.md) for
-- deployments that do not use Supabase Storage.
-- ============================================================
create table public.client_context_files (
  client_id uuid not null references public.clients (id) on delete cascade,
  name text not null check (name <> '' and name !~ '(^/|\.\.)'),
  content text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (client_id, name)
);

create trigger update_client_context_files_updated_at
  before update on public.client_context_files
  for each row execute function public.update_updated_at_column();

-- ============================================================
-- agent_cache: an agent's answer for a company, reused by the other
-- contacts of that company (key = company / agent / inputs hash).
-- ============================================================
create table public.agent_cache (
  client_id uuid not null references public.clients (id) on delete cascade,
  cache_key text not null,
  answer jsonb not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (client_id, cache_key)
);

create trigger update_agent_cache_updated_at
  before update on public.agent_cache
  for each row execute function public.update_updated_at_column();

-- ============================================================
-- agent_runs: what each agent answered for an email, and its model calls.
-- ============================================================
create table public.agent_runs (
  id uuid primary key default gen_random_uuid(),
  email_id uuid not null references public.emails_generated (id) on delete cascade,
  contact_id uuid not null references public.contacts_to_enrich (id) on delete cascade,
  client_id uuid not null references public.clients (id) on delete cascade,
  agent text not null,
  engine text,
  version text,
  answer_values jsonb not null default '{}',
  confidence integer,
  fallback_level integer,
  reasoning text,
  evidence jsonb not null default '[]',
  notes jsonb not null default '[]',
  calls jsonb not null default '[]',
  cached boolean not null default false,
  prompt_tokens integer not null default 0,
  completion_tokens integer not null default 0,
  cached_tokens integer not null default 0,
  cost_usd numeric(12, 6) not null default 0,
  latency_ms integer not null default 0,
  created_at timestamptz not null default now(),
  unique (email_id, agent)
);

create index idx_agent_runs_contact on public.agent_runs (contact_id);
create index idx_agent_runs_client_created on public.agent_runs (client_id, created_at desc);

-- ============================================================
-- api_keys: keys for the REST API, scoped to one client. Only the SHA-256
-- of the key is stored; prefix is its first characters, shown to users.
-- ============================================================
create table public.api_keys (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  name text not null,
  prefix text not null,
  key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

create index idx_api_keys_client on public.api_keys (client_id);

-- ============================================================
-- automation_settings: the seed's rollout phases per client. shadow: every
-- email is reviewed; partial: auto-approve at partial_threshold and above;
-- full: auto-approve at full_threshold and above, except a random share
-- (random_review_rate) still sent to review.
-- ============================================================
create table public.automation_settings (
  client_id uuid primary key references public.clients (id) on delete cascade,
  phase public.automation_phase not null default 'shadow',
  partial_threshold integer not null default 90 check (partial_threshold between 0 and 100),
  full_threshold integer not null default 85 check (full_threshold between 0 and 100),
  random_review_rate numeric(4, 3) not null default 0.05 check (random_review_rate between 0 and 1),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create trigger update_automation_settings_updated_at
  before update on public.automation_settings
  for each row execute function public.update_updated_at_column();

-- ============================================================
-- exports: the export ledger, one row per email and destination. An email
-- is marked sent only once the destination confirmed it (external_id).
-- ============================================================
create table public.exports (
  id uuid primary key default gen_random_uuid(),
  email_id uuid not null references public.emails_generated (id) on delete cascade,
  client_id uuid not null references public.clients (id) on delete cascade,
  destination public.export_destination not null,
  campaign_id text,
  status public.export_status not null default 'pending',
  external_id text,
  attempts integer not null default 0 check (attempts >= 0),
  last_error text,
  sent_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (email_id, destination)
);

create index idx_exports_client_status on public.exports (client_id, status);

create trigger update_exports_updated_at
  before update on public.exports
  for each row execute function public.update_updated_at_column();
