-- 001_supabase_schema.sql
--
-- The production Supabase schema (docs: /work/shared/spec/SCHEMA.md),
-- reproduced for local and test databases. Every statement is guarded or
-- idempotent, so the same file is safe to run against the real Supabase
-- database, where all of this already exists, and safe to run twice.
-- The runner wraps this file in one transaction (no CONCURRENTLY here).
--
-- Sections:
--   1. Supabase pieces a plain PostgreSQL lacks (roles, schema auth,
--      auth.users, auth.uid(), auth.role()), created only when missing
--   2. Enums
--   3. Tables, constraints and indexes
--   4. SQL functions (security definer) and the updated_at trigger
--   5. Privileges for anon / authenticated / service_role
--   6. Row-level security and policies


-- ---------------------------------------------------------------------------
-- 1. Supabase shims
-- ---------------------------------------------------------------------------

-- Roles are cluster-wide: tolerate a concurrent creator (unique_violation).
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    begin
      create role anon nologin noinherit;
    exception when duplicate_object or unique_violation then null;
    end;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    begin
      create role authenticated nologin noinherit;
    exception when duplicate_object or unique_violation then null;
    end;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    begin
      create role service_role nologin noinherit bypassrls;
    exception when duplicate_object or unique_violation then null;
    end;
  end if;
end
$$;

-- Schema auth, a minimal auth.users and the claim helpers, only when missing
-- (on Supabase they exist and belong to supabase_auth_admin: never touched).
do $$
begin
  if not exists (select 1 from pg_namespace where nspname = 'auth') then
    create schema auth;
  end if;

  if to_regclass('auth.users') is null then
    create table auth.users (
      id                 uuid primary key,
      email              text,
      raw_user_meta_data jsonb,
      created_at         timestamptz default now(),
      deleted_at         timestamptz
    );
  end if;

  if not exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname = 'auth' and p.proname = 'uid') then
    -- As Supabase defines it.
    create function auth.uid() returns uuid
      language sql stable
    as $fn$
      select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $fn$;
  end if;

  if not exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname = 'auth' and p.proname = 'role') then
    create function auth.role() returns text
      language sql stable
    as $fn$
      select coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
      )::text
    $fn$;
  end if;

  -- Local databases only: Supabase already grants these (and its schema
  -- auth is not ours to grant on).
  if not exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
    grant usage on schema auth to anon, authenticated, service_role;
    grant execute on function auth.uid(), auth.role() to anon, authenticated, service_role;
    grant all on table auth.users to service_role;
  end if;
end
$$;


-- ---------------------------------------------------------------------------
-- 2. Enums
-- ---------------------------------------------------------------------------

do $$
begin
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'public' and t.typname = 'app_role') then
    create type public.app_role as enum ('org_admin', 'org_recruiter', 'org_viewer', 'candidate');
  end if;
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'public' and t.typname = 'interview_status') then
    create type public.interview_status as enum
      ('invited', 'scheduled', 'in_progress', 'completed', 'cancelled', 'expired');
  end if;
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'public' and t.typname = 'invitation_status') then
    create type public.invitation_status as enum
      ('pending', 'sent', 'delivered', 'opened', 'bounced', 'expired');
  end if;
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'public' and t.typname = 'job_role_status') then
    create type public.job_role_status as enum ('draft', 'active', 'paused', 'closed');
  end if;
end
$$;


-- ---------------------------------------------------------------------------
-- 3. Tables
-- ---------------------------------------------------------------------------

create table if not exists public.organisations (
  id                       uuid primary key default gen_random_uuid(),
  name                     text not null,
  description              text,
  industry                 text,
  website                  text,
  logo_url                 text,
  billing_email            text,
  billing_address          text,
  values_framework         jsonb,
  recording_retention_days integer,            -- null means 60
  created_at               timestamptz not null default now(),
  updated_at               timestamptz not null default now()
);

create table if not exists public.org_users (
  id              uuid primary key default gen_random_uuid(),
  organisation_id uuid not null references public.organisations(id) on delete cascade,
  user_id         uuid not null references auth.users(id) on delete cascade,
  -- values in use: admin, org_admin, recruiter, hiring_manager, viewer, member
  role            text not null default 'member',
  created_at      timestamptz not null default now(),
  unique (organisation_id, user_id)
);

create table if not exists public.job_roles (
  id                  uuid primary key default gen_random_uuid(),
  organisation_id     uuid not null references public.organisations(id) on delete cascade,
  title               text not null,
  description         text,
  department          text,
  location            text,
  work_type           text,
  employment_type     text,
  industry            text,
  salary_range_min    integer,
  salary_range_max    integer,
  requirements        jsonb,   -- {skills, experience, qualifications, responsibilities, interviewQuestions}
  scoring_rubric      jsonb,   -- {"<dimension>": {"weight": 0.3, "label": "..."}}
  interview_structure jsonb,
  status              public.job_role_status not null default 'draft',
  created_by          uuid,
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now()
);

create table if not exists public.candidate_profiles (
  id                  uuid primary key default gen_random_uuid(),
  user_id             uuid not null unique references auth.users(id) on delete cascade,
  first_name          text,
  last_name           text,
  email               text,
  phone               text,
  suburb              text,
  state               text,
  postcode            text,
  country             text,
  linkedin_url        text,
  portfolio_url       text,
  cv_file_path        text,
  cv_uploaded_at      timestamptz,
  availability        text,
  work_mode           text,
  work_rights         text,
  gpa_wam             numeric,
  profile_visibility  text,
  visibility_settings jsonb,
  paused_at           timestamptz,
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now()
);

create table if not exists public.candidate_skills (
  id                uuid primary key default gen_random_uuid(),
  user_id           uuid not null references auth.users(id) on delete cascade,
  skill_name        text not null,
  skill_type        text not null check (skill_type in ('hard', 'soft')),
  proficiency_level text,
  created_at        timestamptz not null default now()
);

create table if not exists public.education (
  id             uuid primary key default gen_random_uuid(),
  user_id        uuid not null references auth.users(id) on delete cascade,
  institution    text not null,
  degree         text not null,
  field_of_study text,
  start_date     date,
  end_date       date,
  is_current     boolean default false,
  created_at     timestamptz not null default now()
);

create table if not exists public.employment_history (
  id           uuid primary key default gen_random_uuid(),
  user_id      uuid not null references auth.users(id) on delete cascade,
  company_name text not null,
  job_title    text not null,
  description  text,
  start_date   date not null,
  end_date     date,
  is_current   boolean default false,
  created_at   timestamptz not null default now()
);

-- Aggregate reporting only; never used to evaluate a candidate, never sent to a model.
create table if not exists public.candidate_dei (
  id                uuid primary key default gen_random_uuid(),
  user_id           uuid not null unique references auth.users(id) on delete cascade,
  gender            text,
  ethnicity         text,
  disability_status text,
  veteran_status    text,
  created_at        timestamptz not null default now()
);

create table if not exists public.applications (
  id           uuid primary key default gen_random_uuid(),
  job_role_id  uuid not null references public.job_roles(id) on delete cascade,
  candidate_id uuid not null references auth.users(id) on delete cascade,
  -- applied, screening, invited, interviewing, interviewed, shortlisted, rejected, hired
  status       text not null default 'applied',
  match_score  integer check (match_score between 0 and 100),
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now()
);

create table if not exists public.interviews (
  id                   uuid primary key default gen_random_uuid(),
  application_id       uuid not null references public.applications(id) on delete cascade,
  status               public.interview_status not null default 'invited',
  started_at           timestamptz,
  ended_at             timestamptz,
  duration_seconds     integer,
  recording_url        text,
  recording_deleted_at timestamptz,
  anti_cheat_signals   jsonb,
  metadata             jsonb,   -- serverCallId, correlationId, lastEventAt, ...
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now()
);

create table if not exists public.transcript_segments (
  id            uuid primary key default gen_random_uuid(),
  interview_id  uuid not null references public.interviews(id) on delete cascade,
  -- 'ai' or 'candidate'; older rows may say 'interviewer'
  speaker       text not null check (speaker in ('ai', 'candidate', 'interviewer')),
  content       text not null,
  start_time_ms integer not null,
  end_time_ms   integer,
  confidence    numeric,
  created_at    timestamptz not null default now()
);

create table if not exists public.interview_scores (
  id                    uuid primary key default gen_random_uuid(),
  interview_id          uuid not null unique references public.interviews(id) on delete cascade,
  overall_score         integer check (overall_score between 0 and 100),
  narrative_summary     text,
  candidate_feedback    text,
  anti_cheat_risk_level text check (anti_cheat_risk_level in ('low', 'medium', 'high')),
  scored_by             text,   -- 'ai' or a user id
  model_version         text,
  prompt_version        text,
  rubric_version        text,
  human_override        boolean default false,
  human_override_by     uuid,
  human_override_reason text,
  created_at            timestamptz not null default now(),
  updated_at            timestamptz not null default now()
);

create table if not exists public.score_dimensions (
  id           uuid primary key default gen_random_uuid(),
  interview_id uuid not null references public.interviews(id) on delete cascade,
  dimension    text not null,
  score        numeric not null check (score >= 0 and score <= 10),
  weight       numeric check (weight >= 0 and weight <= 1),
  evidence     text,
  cited_quotes jsonb,   -- array of strings
  created_at   timestamptz not null default now()
);

create table if not exists public.invitations (
  id             uuid primary key default gen_random_uuid(),
  application_id uuid not null references public.applications(id) on delete cascade,
  token          text not null unique,
  status         public.invitation_status not null default 'pending',
  email_template text,
  expires_at     timestamptz not null,
  sent_at        timestamptz,
  opened_at      timestamptz,
  created_at     timestamptz not null default now()
);

create table if not exists public.practice_interviews (
  id               uuid primary key default gen_random_uuid(),
  user_id          uuid not null references auth.users(id) on delete cascade,
  sample_role_type text not null,
  status           text not null default 'pending',
  started_at       timestamptz,
  ended_at         timestamptz,
  duration_seconds integer,
  feedback         jsonb,
  created_at       timestamptz not null default now()
);

create table if not exists public.user_roles (
  id         uuid primary key default gen_random_uuid(),
  user_id    uuid not null references auth.users(id) on delete cascade,
  role       public.app_role not null,
  created_at timestamptz not null default now()
);

create table if not exists public.audit_log (
  id              uuid primary key default gen_random_uuid(),
  user_id         uuid references auth.users(id) on delete set null,
  organisation_id uuid references public.organisations(id) on delete set null,
  action          text not null,
  entity_type     text not null,
  entity_id       uuid,
  old_values      jsonb,
  new_values      jsonb,
  ip_address      text,
  created_at      timestamptz not null default now()
);

create table if not exists public.data_deletion_requests (
  id           uuid primary key default gen_random_uuid(),
  user_id      uuid not null references auth.users(id) on delete cascade,
  request_type text not null default 'full_deletion'
               check (request_type in ('full_deletion', 'recording_only', 'anonymize')),
  status       text not null default 'pending'
               check (status in ('pending', 'processing', 'completed', 'failed')),
  reason       text,
  notes        text,
  requested_at timestamptz not null default now(),
  processed_at timestamptz,
  processed_by text,
  created_at   timestamptz not null default now()
);


-- Indexes on the columns SCHEMA.md marks "indexed" (the unique ones come with
-- their constraints). Each is created only when no index on the table starts
-- with that column yet, so production's own indexes, whatever their names,
-- are never duplicated.
do $$
declare
  ix record;
begin
  for ix in
    select * from (values
      ('job_roles', 'organisation_id'),
      ('candidate_skills', 'user_id'),
      ('education', 'user_id'),
      ('employment_history', 'user_id'),
      ('applications', 'job_role_id'),
      ('applications', 'candidate_id'),
      ('interviews', 'application_id'),
      ('transcript_segments', 'interview_id'),
      ('transcript_segments', 'start_time_ms'),
      ('score_dimensions', 'interview_id'),
      ('invitations', 'application_id'),
      ('user_roles', 'user_id'),
      ('audit_log', 'organisation_id'),
      ('audit_log', 'created_at')
    ) as v(tbl, col)
  loop
    if not exists (
      select 1 from pg_index i
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
      where i.indrelid = format('public.%I', ix.tbl)::regclass and a.attname = ix.col
    ) then
      execute format('create index if not exists %I on public.%I (%I)',
                     'idx_' || ix.tbl || '_' || ix.col, ix.tbl, ix.col);
    end if;
  end loop;
end
$$;


-- ---------------------------------------------------------------------------
-- 4. Functions and triggers
-- ---------------------------------------------------------------------------

create or replace function public.user_belongs_to_org(_org_id uuid, _user_id uuid)
returns boolean
language sql stable security definer
set search_path = public
as $$
  select exists (
    select 1 from public.org_users
    where organisation_id = _org_id and user_id = _user_id
  )
$$;

create or replace function public.user_org_role(_org_id uuid, _user_id uuid)
returns text
language sql stable security definer
set search_path = public
as $$
  select role from public.org_users
  where organisation_id = _org_id and user_id = _user_id
  limit 1
$$;

-- The user's first membership (oldest; id breaks ties).
create or replace function public.get_user_org_id(_user_id uuid)
returns uuid
language sql stable security definer
set search_path = public
as $$
  select organisation_id from public.org_users
  where user_id = _user_id
  order by created_at, id
  limit 1
$$;

create or replace function public.has_role(_role public.app_role, _user_id uuid)
returns boolean
language sql stable security definer
set search_path = public
as $$
  select exists (
    select 1 from public.user_roles
    where user_id = _user_id and role = _role
  )
$$;

create or replace function public.set_updated_at()
returns trigger
language plpgsql
set search_path = public
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

-- One updated_at trigger per table, unless the table already has one
-- (production may keep its own, e.g. update_updated_at_column()).
do $$
declare
  t text;
begin
  foreach t in array array['organisations', 'job_roles', 'candidate_profiles',
                           'applications', 'interviews', 'interview_scores'] loop
    if not exists (
      select 1 from pg_trigger tg join pg_proc p on p.oid = tg.tgfoid
      where tg.tgrelid = format('public.%I', t)::regclass
        and not tg.tgisinternal
        and (tg.tgname = 'set_updated_at' or p.proname ilike '%updated_at%')
    ) then
      execute format('create trigger set_updated_at before update on public.%I '
                     'for each row execute function public.set_updated_at()', t);
    end if;
  end loop;
end
$$;


-- ---------------------------------------------------------------------------
-- 5. Privileges (as Supabase grants them; RLS decides what anon and
--    authenticated actually see)
-- ---------------------------------------------------------------------------

grant usage on schema public to anon, authenticated, service_role;

grant select, insert, update, delete on table
  public.organisations, public.org_users, public.job_roles, public.candidate_profiles,
  public.candidate_skills, public.education, public.employment_history, public.candidate_dei,
  public.applications, public.interviews, public.transcript_segments, public.interview_scores,
  public.score_dimensions, public.invitations, public.practice_interviews, public.user_roles,
  public.audit_log, public.data_deletion_requests
  to anon, authenticated;

grant all on table
  public.organisations, public.org_users, public.job_roles, public.candidate_profiles,
  public.candidate_skills, public.education, public.employment_history, public.candidate_dei,
  public.applications, public.interviews, public.transcript_segments, public.interview_scores,
  public.score_dimensions, public.invitations, public.practice_interviews, public.user_roles,
  public.audit_log, public.data_deletion_requests
  to service_role;

grant execute on function
  public.user_belongs_to_org(uuid, uuid), public.user_org_role(uuid, uuid),
  public.get_user_org_id(uuid), public.has_role(public.app_role, uuid)
  to anon, authenticated, service_role;

alter default privileges in schema public
  grant select, insert, update, delete on tables to anon, authenticated;
alter default privileges in schema public grant all on tables to service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant execute on functions to anon, authenticated, service_role;


-- ---------------------------------------------------------------------------
-- 6. Row-level security
--
-- "system"/"service" operations have no policy: only service_role (which
-- bypasses RLS) and the database owner may do them. user_roles has RLS and
-- no policy (read it through has_role()).
-- ---------------------------------------------------------------------------

alter table public.organisations          enable row level security;
alter table public.org_users              enable row level security;
alter table public.job_roles              enable row level security;
alter table public.candidate_profiles     enable row level security;
alter table public.candidate_skills       enable row level security;
alter table public.education              enable row level security;
alter table public.employment_history     enable row level security;
alter table public.candidate_dei          enable row level security;
alter table public.applications           enable row level security;
alter table public.interviews             enable row level security;
alter table public.transcript_segments    enable row level security;
alter table public.interview_scores       enable row level security;
alter table public.score_dimensions       enable row level security;
alter table public.invitations            enable row level security;
alter table public.practice_interviews    enable row level security;
alter table public.user_roles             enable row level security;
alter table public.audit_log              enable row level security;
alter table public.data_deletion_requests enable row level security;

-- Policies are created only on tables that have no policy yet (checked once,
-- before any is created here): on Supabase every table already carries its
-- own policies, under names of their own, and adding ours beside them would
-- widen access (permissive policies are OR-ed).
do $$
declare
  p record;
  has_policies constant text[] := array(
    select distinct tablename::text from pg_policies where schemaname = 'public');
  -- Reusable predicates (%s = the row's expression it is about).
  admins     constant text := $q$public.user_org_role(%s, auth.uid()) in ('admin', 'org_admin')$q$;
  recruiters constant text := $q$public.user_org_role(%s, auth.uid()) in ('admin', 'org_admin', 'recruiter', 'hiring_manager')$q$;
  -- (applications) the caller belongs to the organisation of the job role
  -- (not via app_org: a policy on applications must not query applications)
  job_org    constant text := $q$exists (select 1 from public.job_roles jr
                                   where jr.id = applications.job_role_id
                                     and public.user_belongs_to_org(jr.organisation_id, auth.uid()))$q$;
  -- the caller belongs to the organisation of application %s
  app_org    constant text := $q$exists (select 1 from public.applications a
                                   join public.job_roles jr on jr.id = a.job_role_id
                                   where a.id = %s
                                     and public.user_belongs_to_org(jr.organisation_id, auth.uid()))$q$;
  -- the caller recruits for the organisation of application %s
  app_recr   constant text := $q$exists (select 1 from public.applications a
                                   join public.job_roles jr on jr.id = a.job_role_id
                                   where a.id = %s
                                     and public.user_org_role(jr.organisation_id, auth.uid()) in ('admin', 'org_admin', 'recruiter', 'hiring_manager'))$q$;
  -- the caller is the candidate of application %s
  app_own    constant text := $q$exists (select 1 from public.applications a
                                   where a.id = %s and a.candidate_id = auth.uid())$q$;
  -- interview %s belongs to the caller's own application
  iv_own     constant text := $q$exists (select 1 from public.interviews i
                                   join public.applications a on a.id = i.application_id
                                   where i.id = %s and a.candidate_id = auth.uid())$q$;
  -- interview %s belongs to an application in the caller's organisation
  iv_org     constant text := $q$exists (select 1 from public.interviews i
                                   join public.applications a on a.id = i.application_id
                                   join public.job_roles jr on jr.id = a.job_role_id
                                   where i.id = %s
                                     and public.user_belongs_to_org(jr.organisation_id, auth.uid()))$q$;
  iv_admin   constant text := $q$exists (select 1 from public.interviews i
                                   join public.applications a on a.id = i.application_id
                                   join public.job_roles jr on jr.id = a.job_role_id
                                   where i.id = %s
                                     and public.user_org_role(jr.organisation_id, auth.uid()) in ('admin', 'org_admin'))$q$;
  -- candidate %s applied to a role of an organisation the caller belongs to
  applied_to constant text := $q$exists (select 1 from public.applications a
                                   join public.job_roles jr on jr.id = a.job_role_id
                                   where a.candidate_id = %s
                                     and public.user_belongs_to_org(jr.organisation_id, auth.uid()))$q$;
begin
  for p in
    select * from (values
      -- organisations
      ('organisations', 'org members can view their organisation', 'select',
         'public.user_belongs_to_org(id, auth.uid())', null),
      ('organisations', 'org admins can update their organisation', 'update',
         format(admins, 'id'), format(admins, 'id')),
      -- org_users
      ('org_users', 'org members can view memberships', 'select',
         'public.user_belongs_to_org(organisation_id, auth.uid())', null),
      ('org_users', 'org admins can update memberships', 'update',
         format(admins, 'organisation_id'), format(admins, 'organisation_id')),
      ('org_users', 'org admins can delete memberships', 'delete',
         format(admins, 'organisation_id'), null),
      -- job_roles (the "anyone for active roles" policy is created below, for anon too)
      ('job_roles', 'org members can view job roles', 'select',
         'public.user_belongs_to_org(organisation_id, auth.uid())', null),
      ('job_roles', 'org recruiters can create job roles', 'insert',
         null, format(recruiters, 'organisation_id')),
      ('job_roles', 'org recruiters can update job roles', 'update',
         format(recruiters, 'organisation_id'), format(recruiters, 'organisation_id')),
      ('job_roles', 'org admins can delete job roles', 'delete',
         format(admins, 'organisation_id'), null),
      -- candidate_dei: own only
      ('candidate_dei', 'own dei: select', 'select', 'user_id = auth.uid()', null),
      ('candidate_dei', 'own dei: insert', 'insert', null, 'user_id = auth.uid()'),
      ('candidate_dei', 'own dei: update', 'update', 'user_id = auth.uid()', 'user_id = auth.uid()'),
      ('candidate_dei', 'own dei: delete', 'delete', 'user_id = auth.uid()', null),
      -- applications
      ('applications', 'candidates can view own applications', 'select',
         'candidate_id = auth.uid()', null),
      ('applications', 'org members can view applications', 'select',
         job_org, null),
      ('applications', 'candidates can apply', 'insert',
         null, 'candidate_id = auth.uid()'),
      ('applications', 'org members can update applications', 'update', job_org, job_org),
      -- interviews
      ('interviews', 'candidates can view own interviews', 'select',
         format(app_own, 'interviews.application_id'), null),
      ('interviews', 'org members can view interviews', 'select',
         format(app_org, 'interviews.application_id'), null),
      -- transcript_segments
      ('transcript_segments', 'candidates can view own transcripts', 'select',
         format(iv_own, 'transcript_segments.interview_id'), null),
      ('transcript_segments', 'org members can view transcripts', 'select',
         format(iv_org, 'transcript_segments.interview_id'), null),
      -- interview_scores
      ('interview_scores', 'candidates can view own scores', 'select',
         format(iv_own, 'interview_scores.interview_id'), null),
      ('interview_scores', 'org members can view scores', 'select',
         format(iv_org, 'interview_scores.interview_id'), null),
      ('interview_scores', 'org admins can update scores', 'update',
         format(iv_admin, 'interview_scores.interview_id'),
         format(iv_admin, 'interview_scores.interview_id')),
      -- score_dimensions
      ('score_dimensions', 'candidates can view own score dimensions', 'select',
         format(iv_own, 'score_dimensions.interview_id'), null),
      ('score_dimensions', 'org members can view score dimensions', 'select',
         format(iv_org, 'score_dimensions.interview_id'), null),
      -- invitations
      ('invitations', 'org members can view invitations', 'select',
         format(app_org, 'invitations.application_id'), null),
      ('invitations', 'org recruiters can create invitations', 'insert',
         null, format(app_recr, 'invitations.application_id')),
      ('invitations', 'org recruiters can update invitations', 'update',
         format(app_recr, 'invitations.application_id'),
         format(app_recr, 'invitations.application_id')),
      -- practice_interviews: own only
      ('practice_interviews', 'own practice: select', 'select', 'user_id = auth.uid()', null),
      ('practice_interviews', 'own practice: insert', 'insert', null, 'user_id = auth.uid()'),
      ('practice_interviews', 'own practice: update', 'update', 'user_id = auth.uid()', 'user_id = auth.uid()'),
      ('practice_interviews', 'own practice: delete', 'delete', 'user_id = auth.uid()', null),
      -- audit_log
      ('audit_log', 'org admins can view audit log', 'select',
         format(admins, 'organisation_id'), null),
      -- data_deletion_requests
      ('data_deletion_requests', 'own deletion requests: select', 'select', 'user_id = auth.uid()', null),
      ('data_deletion_requests', 'own deletion requests: insert', 'insert', null, 'user_id = auth.uid()')
    ) as v(tbl, name, cmd, using_expr, check_expr)
    union all
    -- candidate_profiles, candidate_skills, education, employment_history:
    -- own (all four commands), and orgs the candidate applied to (select)
    select t, 'own: ' || c, c,
           case when c <> 'insert' then 'user_id = auth.uid()' end,
           case when c in ('insert', 'update') then 'user_id = auth.uid()' end
    from unnest(array['candidate_profiles', 'candidate_skills', 'education', 'employment_history']) t,
         unnest(array['select', 'insert', 'update', 'delete']) c
    union all
    select t, 'orgs the candidate applied to can view', 'select',
           format(applied_to, t || '.user_id'), null
    from unnest(array['candidate_profiles', 'candidate_skills', 'education', 'employment_history']) t
  loop
    if not p.tbl = any(has_policies) then
      execute format('create policy %I on public.%I for %s to authenticated', p.name, p.tbl, p.cmd)
        || coalesce(' using (' || p.using_expr || ')', '')
        || coalesce(' with check (' || p.check_expr || ')', '');
    end if;
  end loop;

  if not 'job_roles' = any(has_policies) then
    create policy "anyone can view active job roles" on public.job_roles
      for select to anon, authenticated
      using (status = 'active');
  end if;
end
$$;
