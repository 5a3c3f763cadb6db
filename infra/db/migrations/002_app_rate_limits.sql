-- The app's own tables live in schema "app", outside what Supabase's REST API
-- exposes to the frontend (public), so no RLS policy is needed to hide them.
create schema if not exists app;
revoke all on schema app from public;

-- Fixed-window request counters shared by every instance of the app.
-- One row per (key, window); a check is one upsert that returns the new count.
create table if not exists app.rate_limit_counters (
    key          text        not null,
    window_start timestamptz not null,
    count        integer     not null,
    primary key (key, window_start)
);
create index if not exists rate_limit_counters_window_idx on app.rate_limit_counters (window_start);
