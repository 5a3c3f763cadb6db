-- Interviews that may still have a recording (shared/db/recording_metadata.py,
-- MAY_HAVE_RECORDING_SQL), by id: the retention run pages through this index
-- (shared/db/retention.py), so a page costs the same however many interviews
-- there are, and interviews whose recordings are deleted leave it.
-- Safe on Supabase: public.interviews exists there; a plain CREATE INDEX (the
-- runner wraps each file in a transaction, which CONCURRENTLY cannot run in)
-- blocks writes to interviews only while it builds, well under a second for
-- 100,000 rows.
create index if not exists interviews_recording_pending_idx on public.interviews (id)
  where recording_deleted_at is null and (recording_url is not null or metadata ? 'recordings');
