-- 009_human_overrides.sql
--
-- Human score overrides are stored as human, with their reviewer, and audited
-- (docs/SCORING.md, "Human overrides").
--
-- Recruiters (org admins) override an AI score from the frontend by updating
-- public.interview_scores through Supabase (PostgREST, under the RLS policy
-- "org admins can update scores"): those writes never pass through the
-- backend, so the rule lives here, in a trigger on the table.
--
-- An override event is: a row becoming an override (INSERT with
-- human_override true, or UPDATE with human_override going false/null -> true),
-- an overridden row's overall_score changing, or a signed-in user (auth.uid()
-- not null) changing overall_score at all (a person's score is a human score
-- even if the frontend forgot the flag: the row becomes an override). For an
-- event the reviewer is auth.uid() when a user is calling (their JWT: the
-- request body cannot name someone else), otherwise (the backend or the
-- service role, no JWT subject) new.human_override_by; with neither the write
-- fails (check_violation). The row gets human_override_by = scored_by =
-- the reviewer, and public.audit_log one 'interview_score.human_override' row.
--
-- A withdrawal (human_override true -> false) is audited as
-- 'interview_score.human_override_withdrawn' with auth.uid() or the old
-- reviewer; scored_by stays as it is until the next AI rescore sets 'ai'.
--
-- For a signed-in user scored_by and human_override_by are written by this
-- trigger only: on any other update they keep their old values, so an admin
-- cannot relabel an overridden score as the model's, nor name another reviewer.
--
-- Every other change (retention's anonymisation, the AI upsert, which skips
-- overridden rows, a backend update of other columns) passes untouched and
-- unaudited.
--
-- audit_log.entity_id is the interview id (interview_scores has one row per
-- interview, and the API and the frontend address scores by interview).
--
-- security definer: the audit row is written whatever the caller may insert
-- into audit_log (RLS lets nobody but the owner write it), and the
-- organisation is read whatever the caller may see. search_path is fixed, as
-- for the functions of 001_supabase_schema.sql.
--
-- The audit entries hold scores, flags and ids, never the reason's text: the
-- audit log outlives a candidate's erasure (shared/retention/rules.py), and a
-- reviewer's reason may describe the person.
--
-- Idempotent: create or replace, and the trigger is dropped and recreated.

create or replace function public.interview_score_human_override()
returns trigger
language plpgsql
security definer
set search_path = public
as $$
declare
  caller      uuid := auth.uid();
  was_human   boolean := tg_op = 'UPDATE' and coalesce(old.human_override, false);
  is_human    boolean := coalesce(new.human_override, false);
  reviewer    uuid;
  org_id      uuid;
  old_values  jsonb;
  new_values  jsonb;
  audit_action text;
begin
  -- A signed-in user's score change is a human override, flagged or not.
  if caller is not null and tg_op = 'UPDATE' and not is_human and not was_human
     and new.overall_score is distinct from old.overall_score then
    new.human_override := true;
    is_human := true;
  end if;

  -- The trigger's own columns, for signed-in users: kept unless an event below sets them.
  if caller is not null and tg_op = 'UPDATE' then
    new.scored_by := old.scored_by;
    new.human_override_by := old.human_override_by;
  end if;

  if is_human and (not was_human or new.overall_score is distinct from old.overall_score) then
    -- The row becomes an override, or an override's score changes.
    reviewer := coalesce(caller, new.human_override_by);
    if reviewer is null then
      raise exception 'a human override names its reviewer (human_override_by) for interview %',
        new.interview_id
        using errcode = 'check_violation';
    end if;
    new.human_override_by := reviewer;
    new.scored_by := reviewer::text;
    if tg_op = 'UPDATE' then
      old_values := jsonb_build_object('overall_score', old.overall_score, 'scored_by', old.scored_by,
                                       'human_override', old.human_override);
    end if;
    audit_action := 'interview_score.human_override';
    new_values := jsonb_build_object('overall_score', new.overall_score, 'scored_by', new.scored_by,
                                     'human_override', true, 'reason_given', new.human_override_reason is not null);

  elsif was_human and not is_human then
    -- The override is withdrawn; scored_by stays until the next AI rescore.
    reviewer := coalesce(caller, old.human_override_by);
    audit_action := 'interview_score.human_override_withdrawn';
    old_values := jsonb_build_object('overall_score', old.overall_score, 'scored_by', old.scored_by,
                                     'human_override', old.human_override,
                                     'reason_given', old.human_override_reason is not null);
    new_values := jsonb_build_object('overall_score', new.overall_score, 'scored_by', new.scored_by,
                                     'human_override', new.human_override,
                                     'reason_given', new.human_override_reason is not null);
  end if;

  -- One audit entry per event, with the interview's organisation (read only for an event).
  if audit_action is not null then
    select jr.organisation_id into org_id
      from public.interviews i
      join public.applications a on a.id = i.application_id
      join public.job_roles jr on jr.id = a.job_role_id
     where i.id = new.interview_id;
    insert into public.audit_log (user_id, organisation_id, action, entity_type, entity_id, old_values, new_values)
    values (reviewer, org_id, audit_action, 'interview_score', new.interview_id, old_values, new_values);
  end if;

  return new;
end
$$;

drop trigger if exists interview_score_human_override on public.interview_scores;
create trigger interview_score_human_override
  before insert or update on public.interview_scores
  for each row execute function public.interview_score_human_override();
