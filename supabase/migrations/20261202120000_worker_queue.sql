-- Worker queue: retry back-off, and a wake-up for `kaleads serve` when
-- contacts become pending.
--
-- retry_at: a contact given back after a retryable failure (LLM outage, lost
-- database connection, deadline) is not claimed again before this time, so
-- its attempts are not spent in a few seconds of an outage.
alter table public.contacts_to_enrich add column retry_at timestamptz;

drop index if exists public.idx_contacts_pending;
create index idx_contacts_pending on public.contacts_to_enrich (created_at, line, id) where status = 'pending';

-- One notification per statement (an upload of 10,000 rows is one NOTIFY),
-- on channel kaleads_contacts, when a statement inserted rows or made rows
-- pending. Listeners (kaleads serve) then claim; polling remains the safety
-- net, so a lost notification only delays work.
create or replace function public.contacts_notify_insert()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform pg_notify('kaleads_contacts', 'pending');
  return null;
end;
$$;

create or replace function public.contacts_notify_pending()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if exists (select 1 from new_rows n join old_rows o on o.id = n.id
              where n.status = 'pending' and o.status <> 'pending') then
    perform pg_notify('kaleads_contacts', 'pending');
  end if;
  return null;
end;
$$;

create trigger contacts_notify_insert
  after insert on public.contacts_to_enrich
  for each statement execute function public.contacts_notify_insert();

create trigger contacts_notify_pending
  after update on public.contacts_to_enrich
  referencing old table as old_rows new table as new_rows
  for each statement execute function public.contacts_notify_pending();

-- claimed_by names the worker process holding an enriching contact, so a
-- worker whose claim reply was lost (the connection dropped after the
-- UPDATE committed) can find and give back its own orphaned claims.
alter table public.contacts_to_enrich add column claimed_by text;
