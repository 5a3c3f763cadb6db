-- 012_ai_usage.sql
--
-- AI usage and budgets per organisation (issue 24; shared/platform/ai_usage.py,
-- docs/AI.md "Usage and budgets").
--
-- app.ai_usage: one row per model call of every feature (interviewer turns
-- including practice, CV parsing, requirements extraction, shortlist, scoring):
-- who pays (the organisation; null for a practice interview, a candidate's own
-- CV parse or a requirements extraction outside an organisation), the caller
-- when known, purpose, model, the provider's token counts and the estimated
-- cost in USD from the AI_PRICES table at the time of the call (a later price
-- change does not rewrite history). Never text, never a candidate id: user_id
-- is the caller (a candidate for practice and CV parsing, a recruiter
-- otherwise); erasure sets it null and keeps the spend (shared/retention/rules.py).
--
-- app.ai_budgets: an organisation's monthly limit (overrides
-- AI_ORG_MONTHLY_BUDGET_USD; null limit = unlimited for that organisation).
--
-- app.ai_budget_months: one row per organisation and UTC month: what has been
-- spent (settled calls) and what is reserved by calls in flight. A call reserves
-- its worst case with one conditional update (spent + reserved + worst <= limit),
-- so concurrent calls cannot together pass the limit; it settles (reserved -=
-- worst, spent += actual) when it ends, whatever the outcome.
--
-- In schema app, written and read by the backend only; RLS enabled with no
-- policy so that a future grant cannot expose them by accident.
--
-- Idempotent: create ... if not exists.

create schema if not exists app;

create table if not exists app.ai_usage (
    id              bigint generated always as identity primary key,
    occurred_at     timestamptz   not null default now(),
    organisation_id uuid          references public.organisations(id) on delete set null,
    user_id         uuid          references auth.users(id) on delete set null,
    purpose         text          not null,
    model           text          not null,
    outcome         text          not null check (outcome in ('ok', 'repaired', 'refused', 'failed')),
    input_tokens    integer       not null default 0 check (input_tokens >= 0),
    output_tokens   integer       not null default 0 check (output_tokens >= 0),
    estimated_cost  numeric(14,6) not null default 0 check (estimated_cost >= 0)
);

-- The report reads an organisation's rows by time.
create index if not exists ai_usage_organisation_idx on app.ai_usage (organisation_id, occurred_at);
-- Erasure finds a user's rows.
create index if not exists ai_usage_user_idx on app.ai_usage (user_id) where user_id is not null;

create table if not exists app.ai_budgets (
    organisation_id   uuid primary key references public.organisations(id) on delete cascade,
    monthly_limit_usd numeric(14,6) check (monthly_limit_usd >= 0),
    updated_at        timestamptz not null default now()
);

create table if not exists app.ai_budget_months (
    organisation_id uuid          not null references public.organisations(id) on delete cascade,
    month           date          not null,  -- the first day of the UTC month
    spent           numeric(14,6) not null default 0 check (spent >= 0),
    reserved        numeric(14,6) not null default 0 check (reserved >= 0),
    primary key (organisation_id, month)
);

alter table app.ai_usage enable row level security;
alter table app.ai_budgets enable row level security;
alter table app.ai_budget_months enable row level security;
