-- The dashboard's phase 2 and 3 figures (issue 12).
--
-- variable: the template variable a rejection is about (competitor_name for
-- a wrong competitor…), named by the reviewer; null when not named. The
-- dashboard groups rejections by reason and variable to show recurring
-- patterns.
--
-- automation_outcome: what the client's phase decided for the email when it
-- was stored (emails_generated.automation_outcome), copied when the decision
-- is made. The random sample's rejection rate reads it from the decision, so
-- a sampled email rejected then regenerated (the email row is deleted,
-- email_id becomes null) still counts in the sample.
alter table public.review_decisions
  add column variable text check (variable ~ '^[a-z][a-z0-9_]{0,63}$'),
  add column automation_outcome text check (automation_outcome in ('auto_approved', 'held', 'review', 'sampled'));

alter table public.review_decisions
  add constraint review_decisions_variable_on_reject check (variable is null or action = 'reject');

-- Decisions made before this migration: their email's outcome, when the
-- email is still there.
update public.review_decisions r
   set automation_outcome = e.automation_outcome
  from public.emails_generated e
 where e.id = r.email_id and e.automation_outcome is not null;

-- The dashboard's decision indexes carry the new columns, so its grouped
-- read stays an index-only scan.
drop index if exists public.idx_review_decisions_client;
create index idx_review_decisions_client on public.review_decisions (client_id, decided_at)
  include (action, reason, time_to_decision_ms, quality_score, variable, automation_outcome) where undone_at is null;
drop index if exists public.idx_review_decisions_decided;
create index idx_review_decisions_decided on public.review_decisions (decided_at)
  include (client_id, action, reason, time_to_decision_ms, quality_score, variable, automation_outcome) where undone_at is null;
