-- Calls (issue 5): ACS identities and processed ACS event ids.

-- A user's Azure Communication Services identity, created once and reused.
-- Deleting the Supabase user removes the mapping.
create table if not exists app.acs_identities (
    user_id               uuid        primary key references auth.users(id) on delete cascade,
    communication_user_id text        not null unique,
    created_at            timestamptz not null default now()
);

-- Event Grid delivers at least once: an event id is written here in the same
-- transaction as the interview change it causes, so a redelivery changes nothing.
create table if not exists app.processed_events (
    event_id     text        primary key,
    event_type   text        not null,
    interview_id uuid,
    processed_at timestamptz not null default now()
);
create index if not exists processed_events_processed_at_idx on app.processed_events (processed_at);

-- Events find their interview by the call ids stored in interviews.metadata.
create index if not exists interviews_server_call_id_idx on public.interviews ((metadata ->> 'serverCallId'));
create index if not exists interviews_correlation_id_idx on public.interviews ((metadata ->> 'correlationId'));
