-- Automation phases: what the client's rollout phase decided for each email
-- when it was stored (shared/automation). auto_approved emails are stored
-- approved, with no reviewer; held ones carry the hard gates that held them;
-- sampled ones were drawn for the full phase's random review sample.
alter table public.emails_generated
  add column automation_outcome text
    check (automation_outcome in ('auto_approved', 'held', 'review', 'sampled')),
  add column automation_reason text;

create index idx_emails_automation on public.emails_generated (client_id, automation_outcome, created_at)
  where automation_outcome is not null;
