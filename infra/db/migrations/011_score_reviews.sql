-- 011_score_reviews.sql
--
-- Human review of AI scores (issue 23; docs/SCORING.md "Human review"): every
-- review a person makes of an interview's score, kept as history. A review
-- either confirms the score as it stands or overrides it; an override also
-- updates public.interview_scores (human_override, overall_score, reason,
-- human_override_by), where the trigger of 009_human_overrides.sql sets
-- scored_by to the reviewer and writes the audit entry. A confirmation is
-- audited by the backend ('interview_score.review_confirmed').
--
-- The latest review being a confirmation is what keeps a confirmed score from
-- the AI's rescoring (shared/scoring/queries.py UPSERT_AI_SCORE_SQL): the fact
-- is derived from this table, so there is no flag to drift out of step.
--
-- In schema app: written and read by the backend only (POST /api/ai/score/
-- {interviewId}/review, the status route, the candidate's data export), never
-- through Supabase's REST API. RLS is enabled with no policy all the same, so
-- that a future grant cannot expose it by accident.
--
-- previous_score and new_score are both stored: the audit question "what did
-- the model say, and what did the person make of it" is answered by one row.
-- reviewer_id is set null when the reviewer's account goes (the decision stays
-- part of the record); the candidate's erasure deletes the rows with the
-- interview (cascade, and shared/retention/rules.py), anonymisation clears the
-- reason (it may describe the person).
--
-- Idempotent: create ... if not exists.

create schema if not exists app;

create table if not exists app.score_reviews (
    id              uuid        primary key default gen_random_uuid(),
    interview_id    uuid        not null references public.interviews(id) on delete cascade,
    organisation_id uuid        references public.organisations(id) on delete set null,
    reviewer_id     uuid        references auth.users(id) on delete set null,
    decision        text        not null check (decision in ('confirm', 'override')),
    previous_score  integer     check (previous_score between 0 and 100),
    new_score       integer     check (new_score between 0 and 100),
    reason          text,
    created_at      timestamptz not null default now()
);

-- The latest review of an interview is read on every AI upsert and status read.
create index if not exists score_reviews_interview_idx on app.score_reviews (interview_id, created_at desc, id desc);

alter table app.score_reviews enable row level security;
