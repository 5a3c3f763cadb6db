-- 010_ai_decision_log.sql
--
-- The AI decision log (issue 23, EU AI Act Art. 12 record-keeping): one row per
-- model call that concerns a candidate (interview turns, CV parsing, shortlist
-- ranking, scoring), written by the backend (shared/platform/decision_log.py).
--
-- It holds facts about the call, never its text: no prompt, no answer, only a
-- SHA-256 of the exact input sent, so a record can be matched to an input that
-- is kept elsewhere without this table holding it.
--
-- One row per candidate: a shortlist call about twenty applicants writes twenty
-- rows sharing one call_id (and the call's token counts and latency, which
-- belong to the call: sum them per call_id, not per row). A candidate's erasure
-- is then a plain delete of their rows (shared/retention/rules.py), and their
-- data export holds no one else's id.
--
-- No foreign keys: a log row outlives nothing it names (the retention rules
-- delete it with the candidate), and a write must not fail because an
-- interview was deleted while the model was answering.
--
-- Rows older than AI_DECISION_LOG_RETENTION_DAYS are purged by the retention
-- timer's housekeeping (occurred_at index).

create table if not exists app.ai_decisions (
    id              bigint generated always as identity primary key,
    call_id         uuid        not null,
    occurred_at     timestamptz not null default now(),
    purpose         text        not null,
    organisation_id uuid,
    candidate_id    uuid        not null,
    interview_id    uuid,
    model           text        not null,
    prompt_version  text        not null,
    rubric_version  text,
    input_sha256    text        not null check (input_sha256 ~ '^[0-9a-f]{64}$'),
    outcome         text        not null check (outcome in ('ok', 'repaired', 'refused', 'failed')),
    input_tokens    integer     check (input_tokens >= 0),
    output_tokens   integer     check (output_tokens >= 0),
    latency_ms      integer     not null check (latency_ms >= 0)
);

-- The report pages an organisation's rows newest first in log order (id; optionally one
-- interview's); erasure and the data export find a candidate's rows; housekeeping purges by age.
create index if not exists ai_decisions_org_idx on app.ai_decisions (organisation_id, id desc);
create index if not exists ai_decisions_interview_idx on app.ai_decisions (interview_id, id desc)
    where interview_id is not null;
create index if not exists ai_decisions_candidate_idx on app.ai_decisions (candidate_id);
create index if not exists ai_decisions_occurred_at_idx on app.ai_decisions (occurred_at);

-- Only the backend (the owner) reads and writes it: no policy, so PostgREST's roles see nothing.
alter table app.ai_decisions enable row level security;

comment on table app.ai_decisions is
    'AI decision log (EU AI Act Art. 12): one row per model call per candidate; never the text';
