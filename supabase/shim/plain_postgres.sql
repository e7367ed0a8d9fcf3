-- What the Supabase platform provides and the migrations rely on, for plain
-- PostgreSQL (local development, tests, CI). Never part of the migrations:
-- `kaleads migrate` runs it only on a database without auth.uid(), and
-- scripts/supabase-push-check.sh loads it before `supabase db push`.
-- Idempotent; safe to run concurrently from several test databases (roles
-- are cluster-wide).

do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    begin
      execute format('create role %I nologin noinherit', r)
        || case when r = 'service_role' then ' bypassrls' else '' end;
    exception when duplicate_object or unique_violation then
      null;
    end;
  end loop;
  -- Supabase's service_role bypasses Row Level Security.
  if not (select rolbypassrls from pg_roles where rolname = 'service_role') then
    alter role service_role bypassrls;
  end if;
end;
$$;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text unique,
  raw_user_meta_data jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- The columns of Supabase Auth's auth.users the store reads and writes
-- (store.CreateUser, Authenticate): a bcrypt hash in encrypted_password, as
-- GoTrue keeps it. Added separately so a database made with an older shim
-- gets them too (store.Migrate reloads the shim when they are missing).
alter table auth.users
  add column if not exists instance_id uuid,
  add column if not exists aud varchar(255),
  add column if not exists role varchar(255),
  add column if not exists encrypted_password varchar(255),
  add column if not exists email_confirmed_at timestamptz,
  add column if not exists confirmation_token varchar(255),
  add column if not exists recovery_token varchar(255),
  add column if not exists email_change_token_new varchar(255),
  add column if not exists email_change varchar(255),
  add column if not exists last_sign_in_at timestamptz,
  add column if not exists raw_app_meta_data jsonb,
  add column if not exists banned_until timestamptz,
  add column if not exists deleted_at timestamptz;

-- Supabase's definitions: the claims of the request's JWT, set by PostgREST
-- as the transaction-local setting request.jwt.claims.
create or replace function auth.jwt()
returns jsonb
language sql
stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

create or replace function auth.uid()
returns uuid
language sql
stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role()
returns text
language sql
stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role() to anon, authenticated, service_role;
