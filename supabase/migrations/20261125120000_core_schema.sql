-- Kaleads core schema: the seed's five tables (clients, templates,
-- contacts_to_enrich, emails_generated, review_analytics) with their status
-- and reason enums, plus the columns the Go store needs (attempts, claim
-- time, CSV row fields, provenance...).
--
-- Applied by `kaleads migrate` and by `supabase db push`; both record the
-- version in supabase_migrations.schema_migrations. Relies on what the
-- Supabase platform provides (roles anon/authenticated/service_role, the auth
-- schema); on plain PostgreSQL `kaleads migrate` loads a shim first.

create type public.contact_status as enum ('pending', 'enriching', 'completed', 'failed');

create type public.review_status as enum (
  'pending_review', 'approved', 'approved_edited', 'rejected', 'sent'
);

create type public.rejection_reason as enum (
  'wrong_persona', 'incorrect_competitor', 'grammar_issues', 'tone_too_corporate',
  'incorrect_info', 'low_quality', 'other'
);

create type public.template_strategy as enum ('cold_email', 'linkedin', 'follow_up', 'break_up');

create or replace function public.update_updated_at_column()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at = now();
  return new;
end;
$$;

-- ============================================================
-- clients
-- ============================================================
create table public.clients (
  id uuid primary key default gen_random_uuid(),
  client_name text not null unique check (btrim(client_name) <> ''),

  -- Context files in Supabase Storage (bucket "clients"); the same files
  -- are also kept in client_context_files for self-hosted deployments.
  pci_file_path text,               -- {client_id}/pci.md
  personas_file_path text,          -- {client_id}/personas.md
  pain_points_file_path text,       -- {client_id}/pain_points.md
  competitors_file_path text,       -- {client_id}/competitors.json
  case_studies_folder_path text,    -- {client_id}/case_studies/
  context_hash text,                -- hash of the stored context files

  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index idx_clients_active on public.clients (active);

create trigger update_clients_updated_at
  before update on public.clients
  for each row execute function public.update_updated_at_column();

-- ============================================================
-- templates (one client's email templates)
-- ============================================================
create table public.templates (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  template_name text not null check (btrim(template_name) <> ''),

  body text,                        -- the template text (Subject line + body)
  template_file_path text,          -- or its path in Supabase Storage
  version text,                     -- short hash of the text
  language text,                    -- "fr", "en"

  strategy_type public.template_strategy not null default 'cold_email',
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),

  unique (client_id, template_name),
  check (body is not null or template_file_path is not null)
);

create index idx_templates_active on public.templates (active);
create index idx_templates_strategy on public.templates (strategy_type);

create trigger update_templates_updated_at
  before update on public.templates
  for each row execute function public.update_updated_at_column();

-- ============================================================
-- contacts_to_enrich: the work queue. status is the state machine
-- pending -> enriching -> completed | failed.
-- ============================================================
create table public.contacts_to_enrich (
  id uuid primary key default gen_random_uuid(),

  client_id uuid references public.clients (id) on delete cascade,
  template_id uuid references public.templates (id) on delete set null,

  first_name text,
  last_name text,
  email text,
  company_name text not null,
  website text,
  linkedin_url text,
  industry text,
  job_title text,

  -- Every CSV column of the row under its canonical name.
  fields jsonb not null default '{}',
  -- Enrichment data from other sources (employee count, funding...).
  enrichment_data jsonb not null default '{}',

  status public.contact_status not null default 'pending',
  error_message text,               -- the last error
  attempts integer not null default 0 check (attempts >= 0),
  claimed_at timestamptz,

  batch_id uuid,                    -- null for rows inserted outside an upload
  line integer,                     -- line in the uploaded CSV

  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  processed_at timestamptz
);

create index idx_contacts_status on public.contacts_to_enrich (status);
create index idx_contacts_batch on public.contacts_to_enrich (batch_id);
create index idx_contacts_client on public.contacts_to_enrich (client_id);
create index idx_contacts_created_at on public.contacts_to_enrich (created_at desc);
create index idx_contacts_pending on public.contacts_to_enrich (created_at) where status = 'pending';
create index idx_contacts_enriching on public.contacts_to_enrich (claimed_at) where status = 'enriching';
-- One contact per email address and client, whatever the case.
create unique index idx_contacts_client_email on public.contacts_to_enrich (client_id, lower(email))
  where email is not null and email <> '';

create trigger update_contacts_updated_at
  before update on public.contacts_to_enrich
  for each row execute function public.update_updated_at_column();

-- Rows inserted straight into the table (Supabase dashboard CSV import) may
-- lack client and template: when exactly one active client exists it is
-- used, and the client's most recently updated active template.
create or replace function public.contacts_fill_defaults()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  only_client uuid;
begin
  if new.client_id is null then
    select min(c.id::text)::uuid into only_client
      from public.clients c
     where c.active
    having count(*) = 1;
    new.client_id := only_client;
  end if;
  if new.template_id is null and new.client_id is not null then
    select t.id into new.template_id
      from public.templates t
     where t.client_id = new.client_id and t.active
     order by t.updated_at desc, t.id
     limit 1;
  end if;
  new.company_name := btrim(new.company_name);
  new.email := nullif(btrim(new.email), '');
  return new;
end;
$$;

create trigger contacts_fill_defaults
  before insert on public.contacts_to_enrich
  for each row execute function public.contacts_fill_defaults();

-- ============================================================
-- emails_generated: one email per contact (unique contact_id).
-- ============================================================
create table public.emails_generated (
  id uuid primary key default gen_random_uuid(),

  contact_id uuid not null unique references public.contacts_to_enrich (id) on delete cascade,
  client_id uuid not null references public.clients (id) on delete cascade,
  template_id uuid references public.templates (id) on delete set null,

  -- Variables produced by the agents (the seed's columns and the agents').
  hook text,
  specific_signal_1 text,
  specific_signal_2 text,
  specific_target_1 text,
  specific_target_2 text,
  competitor_name text,
  competitor_product_category text,
  problem_specific text,
  impact_measurable text,
  target_persona text,
  product_category text,
  solve_specific_pain text,
  system_1 text,
  system_2 text,
  system_3 text,
  case_study_insight text,
  case_study_result text,
  -- Every variable with its agent, confidence, fallback level, reasoning
  -- and evidence.
  variables jsonb not null default '{}',

  subject text,
  email_generated text not null,
  email_final text,                 -- after manual editing

  quality_score integer check (quality_score between 0 and 100),
  -- {"overall_score", "confidence_scores": {var: 1-5},
  --  "fallback_levels": {var: 1-4}, "flags": [{code, points, message, gate}]}
  quality_metrics jsonb not null default '{}',

  review_status public.review_status not null default 'pending_review',
  reviewer_id uuid references auth.users (id) on delete set null,
  reviewed_at timestamptz,
  rejection_reason public.rejection_reason,
  rejection_details text,

  campaign_id text,
  campaign_name text,
  sequencer_lead_id text,
  sent_at timestamptz,

  generation_time_ms integer,
  tokens_used integer,
  prompt_tokens integer,
  completion_tokens integer,
  cached_tokens integer,
  cost_usd numeric(12, 6),
  agent_version text,               -- engine
  template_version text,
  context_hash text,
  provenance jsonb not null default '{}',

  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index idx_emails_review_status on public.emails_generated (review_status);
create index idx_emails_client_review on public.emails_generated (client_id, review_status, quality_score);
create index idx_emails_created_at on public.emails_generated (created_at desc);
create index idx_emails_campaign on public.emails_generated (campaign_id);

create trigger update_emails_updated_at
  before update on public.emails_generated
  for each row execute function public.update_updated_at_column();

-- ============================================================
-- review_analytics: one row per client and day.
-- ============================================================
create table public.review_analytics (
  id uuid primary key default gen_random_uuid(),
  date date not null,
  client_id uuid references public.clients (id) on delete cascade,

  total_generated integer not null default 0,
  total_approved integer not null default 0,
  total_edited integer not null default 0,
  total_rejected integer not null default 0,

  approval_rate numeric(5, 2),
  edit_rate numeric(5, 2),
  rejection_rate numeric(5, 2),

  avg_review_time_seconds integer,
  avg_quality_score numeric(5, 2),

  -- [{"reason": "wrong_persona", "count": 8, "percentage": 44}, ...]
  rejection_reasons_breakdown jsonb not null default '[]',

  created_at timestamptz not null default now(),

  unique (date, client_id)
);

create index idx_analytics_date on public.review_analytics (date desc);
create index idx_analytics_client on public.review_analytics (client_id);
