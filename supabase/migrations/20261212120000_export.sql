-- Export (issue 12): approved emails reach a sequencer (Smartlead,
-- Instantly) or a CSV file once and only once.
--
-- automation_settings gains the client's export destination (the daily
-- export at 14:00 Europe/Paris runs for the clients that set one), the
-- per-domain daily cap, and the full phase's "export auto-approved emails
-- at once" choice. export_exclusions is the client's do-not-contact list.
-- exports (the ledger) gains the address it sent, so an address reaches a
-- campaign at most once whatever email carried it, and the campaign's name.
-- The Slack webhook URL is a secret: it lives in client_notifications,
-- which only the service reads.

alter table public.automation_settings
  add column export_destination public.export_destination,
  add column export_campaign_id text check (export_campaign_id is null or btrim(export_campaign_id) <> ''),
  add column export_campaign_name text,
  add column export_csv_format text check (export_csv_format in ('smartlead', 'instantly', 'lemlist')),
  add column export_at_once boolean not null default false,
  add column domain_daily_cap integer not null default 3 check (domain_daily_cap between 1 and 10000);

-- ============================================================
-- export_exclusions: existing customers and do-not-contact entries. kind
-- 'domain' excludes every address at the domain or one of its subdomains;
-- 'email' one address. Values are stored lower-case.
-- ============================================================
create table public.export_exclusions (
  client_id uuid not null references public.clients (id) on delete cascade,
  kind text not null check (kind in ('domain', 'email')),
  value text not null check (value = lower(value) and btrim(value) = value and value <> '' and length(value) <= 320),
  note text,
  created_at timestamptz not null default now(),
  primary key (client_id, kind, value)
);

-- ============================================================
-- exports: the ledger. A row is written (status pending) before the call
-- that sends its email, and confirmed (sent, with the sequencer's lead id)
-- after; a pending row found by the next run is reconciled against the
-- campaign's leads before anything is sent again.
-- ============================================================
alter table public.exports
  add column address text check (address is null or address = lower(address)),
  add column domain text,
  add column campaign_name text,
  add column run_id uuid;

-- Never twice the same address in a campaign.
create unique index idx_exports_campaign_address on public.exports (destination, campaign_id, address)
  where campaign_id is not null and address is not null;
-- The per-domain daily cap: what went (or is going) to a domain lately.
create index idx_exports_client_domain on public.exports (client_id, domain, created_at)
  where status <> 'failed';

-- ============================================================
-- client_notifications: where a client's notifications go. The service's
-- only: a webhook URL lets anyone post to the channel.
-- ============================================================
create table public.client_notifications (
  client_id uuid primary key references public.clients (id) on delete cascade,
  slack_webhook_url text check (slack_webhook_url is null or slack_webhook_url ~ '^https?://'),
  review_url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create trigger update_client_notifications_updated_at
  before update on public.client_notifications
  for each row execute function public.update_updated_at_column();

-- ============================================================
-- batch_notifications: the upload batches whose "batch generated"
-- notification went (at most once each). The service's only.
-- ============================================================
create table public.batch_notifications (
  batch_id uuid primary key,
  client_id uuid references public.clients (id) on delete cascade,
  notified_at timestamptz not null default now()
);

alter table public.batch_notifications enable row level security;
alter table public.export_exclusions enable row level security;
alter table public.client_notifications enable row level security;

create policy "members read exclusions" on public.export_exclusions
  for select to authenticated using (private.is_client_member(client_id));
create policy "owners add exclusions" on public.export_exclusions
  for insert to authenticated with check (private.is_client_owner(client_id));
create policy "owners remove exclusions" on public.export_exclusions
  for delete to authenticated using (private.is_client_owner(client_id));

revoke all on table public.export_exclusions, public.client_notifications, public.batch_notifications from anon;
revoke all on table public.client_notifications, public.batch_notifications from authenticated;
grant select, insert, delete on table public.export_exclusions to authenticated;
grant all on table public.export_exclusions, public.client_notifications, public.batch_notifications to service_role;
