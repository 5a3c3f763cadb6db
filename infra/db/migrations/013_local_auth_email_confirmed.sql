-- 013_local_auth_email_confirmed.sql
--
-- Invitations go only to the candidate's confirmed sign-in address
-- (auth.users.email with email_confirmed_at set; docs/INVITATIONS.md): the
-- profile's email is the candidate's own free text, so anyone could set it to
-- a stranger's address and have Talenti mail them.
--
-- On Supabase, auth.users already has email_confirmed_at and belongs to
-- supabase_auth_admin: nothing is touched. Local and test databases have the
-- minimal auth.users of 001_supabase_schema.sql, which gets the column here.
--
-- Idempotent: the column is added only when missing.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'supabase_auth_admin')
     and not exists (select 1 from information_schema.columns
                      where table_schema = 'auth' and table_name = 'users'
                        and column_name = 'email_confirmed_at') then
    alter table auth.users add column email_confirmed_at timestamptz;
  end if;
end
$$;
