-- 007_shortlist_ranking_indexes.sql
--
-- An index for the shortlist's ranking statement (shared/db/shortlist.py),
-- which scores a role's applicants inside PostgreSQL and leaves out those
-- whose profile is paused. Without it EXPLAIN ANALYZE showed every candidate
-- profile read to find the paused ones; this partial index holds only the
-- paused profiles, so the filter is an index-only scan of a few pages
-- (docs/performance/ai.md, shortlist section).
--
-- Not added, though the plans for small roles in large tables would use them:
-- covering indexes with candidate_skills.skill_name or employment_history.
-- job_title. Those columns are unbounded text written by the frontend, and a
-- btree entry is limited to 2,704 bytes: one long skill name or job title
-- would make the frontend's insert fail (and an existing one, the migration).
--
-- Safe on Supabase, where the table exists with its own indexes: only an
-- index on a uuid column is added (no table rewrite, no change to columns,
-- policies or grants, so RLS and the frontend are untouched), only when no
-- index with the same definition exists under any name, and `if not exists`
-- makes a second run a no-op. The runner wraps this file in one transaction,
-- so no CONCURRENTLY: CREATE INDEX blocks writes to candidate_profiles (not
-- reads) while it builds, well under a second for 100,000 profiles. For a
-- much larger table, build it by hand first with CREATE INDEX CONCURRENTLY
-- under this name or another; this file then skips it.

do $$
begin
  if not exists (
    select 1 from pg_indexes
    where schemaname = 'public' and tablename = 'candidate_profiles'
      and substring(indexdef from ' USING .*$') = ' USING btree (user_id) WHERE (paused_at IS NOT NULL)'
  ) then
    create index if not exists candidate_profiles_paused_user_idx
      on public.candidate_profiles (user_id) where paused_at is not null;
  end if;
end
$$;
