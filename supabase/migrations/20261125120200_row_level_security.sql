-- Row Level Security: a signed-in user (role authenticated, auth.uid())
-- sees and changes only the rows of the clients they are a member of
-- (client_members); owners also manage the client's settings, files,
-- templates, members and API keys. anon sees nothing. service_role (the
-- server's key) and the table owner (the Go store's connection) bypass RLS.

create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

-- security definer: the membership lookup must not itself be filtered by
-- the policies of client_members.
create or replace function private.is_client_member(cid uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.client_members m
     where m.client_id = cid and m.user_id = (select auth.uid())
  );
$$;

create or replace function private.is_client_owner(cid uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.client_members m
     where m.client_id = cid and m.user_id = (select auth.uid()) and m.role = 'owner'
  );
$$;

revoke all on function private.is_client_member(uuid) from public;
revoke all on function private.is_client_owner(uuid) from public;
grant execute on function private.is_client_member(uuid) to authenticated, service_role;
grant execute on function private.is_client_owner(uuid) to authenticated, service_role;

alter table public.clients enable row level security;
alter table public.templates enable row level security;
alter table public.contacts_to_enrich enable row level security;
alter table public.emails_generated enable row level security;
alter table public.review_analytics enable row level security;
alter table public.client_members enable row level security;
alter table public.client_context_files enable row level security;
alter table public.agent_cache enable row level security;
alter table public.agent_runs enable row level security;
alter table public.api_keys enable row level security;
alter table public.automation_settings enable row level security;
alter table public.exports enable row level security;

-- clients
create policy "members read their clients" on public.clients
  for select to authenticated using (private.is_client_member(id));
create policy "owners update their clients" on public.clients
  for update to authenticated
  using (private.is_client_owner(id)) with check (private.is_client_owner(id));

-- client_members
create policy "members read their client's members" on public.client_members
  for select to authenticated
  using (user_id = (select auth.uid()) or private.is_client_member(client_id));
create policy "owners add members" on public.client_members
  for insert to authenticated with check (private.is_client_owner(client_id));
create policy "owners change members" on public.client_members
  for update to authenticated
  using (private.is_client_owner(client_id)) with check (private.is_client_owner(client_id));
create policy "owners remove members" on public.client_members
  for delete to authenticated using (private.is_client_owner(client_id));

-- client_context_files
create policy "members read context files" on public.client_context_files
  for select to authenticated using (private.is_client_member(client_id));
create policy "owners add context files" on public.client_context_files
  for insert to authenticated with check (private.is_client_owner(client_id));
create policy "owners change context files" on public.client_context_files
  for update to authenticated
  using (private.is_client_owner(client_id)) with check (private.is_client_owner(client_id));
create policy "owners remove context files" on public.client_context_files
  for delete to authenticated using (private.is_client_owner(client_id));

-- templates
create policy "members read templates" on public.templates
  for select to authenticated using (private.is_client_member(client_id));
create policy "owners add templates" on public.templates
  for insert to authenticated with check (private.is_client_owner(client_id));
create policy "owners change templates" on public.templates
  for update to authenticated
  using (private.is_client_owner(client_id)) with check (private.is_client_owner(client_id));
create policy "owners remove templates" on public.templates
  for delete to authenticated using (private.is_client_owner(client_id));

-- contacts_to_enrich
create policy "members read contacts" on public.contacts_to_enrich
  for select to authenticated using (private.is_client_member(client_id));
create policy "members add contacts" on public.contacts_to_enrich
  for insert to authenticated with check (private.is_client_member(client_id));
create policy "members change contacts" on public.contacts_to_enrich
  for update to authenticated
  using (private.is_client_member(client_id)) with check (private.is_client_member(client_id));
create policy "members remove contacts" on public.contacts_to_enrich
  for delete to authenticated using (private.is_client_member(client_id));

-- emails_generated: written by the service, reviewed by members.
create policy "members read emails" on public.emails_generated
  for select to authenticated using (private.is_client_member(client_id));
create policy "members review emails" on public.emails_generated
  for update to authenticated
  using (private.is_client_member(client_id)) with check (private.is_client_member(client_id));

-- review_analytics, agent_runs, exports: read-only for members.
create policy "members read analytics" on public.review_analytics
  for select to authenticated using (private.is_client_member(client_id));
create policy "members read agent runs" on public.agent_runs
  for select to authenticated using (private.is_client_member(client_id));
create policy "members read exports" on public.exports
  for select to authenticated using (private.is_client_member(client_id));

-- api_keys: owners only.
create policy "owners read api keys" on public.api_keys
  for select to authenticated using (private.is_client_owner(client_id));
create policy "owners add api keys" on public.api_keys
  for insert to authenticated with check (private.is_client_owner(client_id));
create policy "owners revoke api keys" on public.api_keys
  for update to authenticated
  using (private.is_client_owner(client_id)) with check (private.is_client_owner(client_id));
create policy "owners remove api keys" on public.api_keys
  for delete to authenticated using (private.is_client_owner(client_id));

-- automation_settings
create policy "members read automation settings" on public.automation_settings
  for select to authenticated using (private.is_client_member(client_id));
create policy "owners add automation settings" on public.automation_settings
  for insert to authenticated with check (private.is_client_owner(client_id));
create policy "owners change automation settings" on public.automation_settings
  for update to authenticated
  using (private.is_client_owner(client_id)) with check (private.is_client_owner(client_id));

-- agent_cache: no policy, the service only.

-- Grants. Supabase's default privileges give anon everything on new tables;
-- anon has no business here at all.
revoke all on table
  public.clients, public.templates, public.contacts_to_enrich, public.emails_generated,
  public.review_analytics, public.client_members, public.client_context_files,
  public.agent_cache, public.agent_runs, public.api_keys, public.automation_settings,
  public.exports
  from anon;

revoke all on table public.agent_cache from authenticated;

grant select, insert, update, delete on table
  public.clients, public.templates, public.contacts_to_enrich, public.emails_generated,
  public.review_analytics, public.client_members, public.client_context_files,
  public.agent_runs, public.api_keys, public.automation_settings, public.exports
  to authenticated;

grant all on table
  public.clients, public.templates, public.contacts_to_enrich, public.emails_generated,
  public.review_analytics, public.client_members, public.client_context_files,
  public.agent_cache, public.agent_runs, public.api_keys, public.automation_settings,
  public.exports
  to service_role;

grant usage on schema public to anon, authenticated, service_role;
