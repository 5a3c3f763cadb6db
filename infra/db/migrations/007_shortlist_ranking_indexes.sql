-- 007_shortlist_ranking_indexes.sql
--
-- Indexes for the shortlist's ranking statement (shared/db/shortlist.py), which
-- scores a role's applicants inside PostgreSQL. What EXPLAIN ANALYZE showed
-- without them (docs/performance/ai.md, shortlist section):
--   * paused profiles were found by reading every candidate profile; a partial
--     index holds only the paused ones (a handful of pages, index-only);
--   * an applicant's skills and positions were read from the heap, or the whole
--     tables were scanned when the role is a small part of them; these two
--     cover every column the ranking reads, so the lookups are index-only, and
--     the skill index also returns names in the order the answer shows them.
--
-- Safe on Supabase, where the tables exist with their own indexes: only
-- indexes are added (no table rewrite, no change to columns, policies or
-- grants, so RLS and the frontend are untouched), each only when no index
-- with the same definition exists under any name, and `if not exists` makes
-- a second run a no-op. The runner wraps this file in one transaction, so no
-- CONCURRENTLY: each CREATE INDEX blocks writes to its table (not reads) while
-- it builds, well under a second for 100,000 rows. For much larger tables,
-- build them by hand first with CREATE INDEX CONCURRENTLY under these names or
-- others; this file then skips them.

do $$
declare
  ix record;
begin
  for ix in
    select * from (values
      ('candidate_profiles_paused_user_idx', 'candidate_profiles',
       'USING btree (user_id) WHERE (paused_at IS NOT NULL)'),
      ('candidate_skills_user_skill_idx', 'candidate_skills',
       'USING btree (user_id, skill_name)'),
      ('employment_history_user_ranking_idx', 'employment_history',
       'USING btree (user_id) INCLUDE (start_date, end_date, is_current, job_title)')
    ) as v(name, tbl, def)
  loop
    if not exists (
      select 1 from pg_indexes
      where schemaname = 'public' and tablename = ix.tbl
        and substring(indexdef from ' USING .*$') = ' ' || ix.def
    ) then
      execute format('create index if not exists %I on public.%I %s', ix.name, ix.tbl, ix.def);
    end if;
  end loop;
end
$$;
