-- Rate-limit counters live for a minute and are cheap to lose: a crash that
-- empties them only resets the current windows. UNLOGGED spares every
-- rate-limited request a WAL write and flush of its own (a second commit beside
-- the endpoint's). Supabase allows unlogged tables; they are not replicated to
-- read replicas, which never read these counters. A rewrite of a small table.
alter table app.rate_limit_counters set unlogged;
