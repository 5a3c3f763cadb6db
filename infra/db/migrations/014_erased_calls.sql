-- 014_erased_calls.sql
--
-- The calls of erased interviews, as SHA-256 hashes of their ACS call ids
-- (shared/calls/recording_metadata.py CALL_ID_HASH_SQL). Erasure (full
-- deletion and anonymising, shared/retention/rules.py) removes the interview's
-- link to its call; a recording event that arrives afterwards names a call no
-- interview knows. Its hash here says the call was erased, so the recording's
-- blobs are deleted on arrival (shared/calls/service.py), while a call that
-- was never linked (a reconnect, a bot) keeps its recording for a person to
-- resolve. A hash is not the call id, and no row names a person.
--
-- Rows older than 30 days are purged by the retention timer (recording events
-- arrive within hours of the call). In schema app, backend only; RLS enabled
-- with no policy so that a future grant cannot expose it.
--
-- Idempotent: create ... if not exists.

create schema if not exists app;

create table if not exists app.erased_calls (
    call_id_sha256 text        primary key,
    erased_at      timestamptz not null default now()
);

alter table app.erased_calls enable row level security;
