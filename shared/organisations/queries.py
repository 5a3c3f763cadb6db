"""Organisations' SQL (membership lookups: shared/platform/membership.py)."""

from __future__ import annotations

from typing import Any

from shared.platform.db import Conn, Id, Row, fetch_row, jsonb

ORGANISATION_COLUMNS = "id, name, industry, website, description, billing_email, created_at, updated_at"


# The organisation, its creator as admin, the creator's org_admin app role and the
# audit entry in one statement: one round trip, and a statement is atomic on its
# own (a failing insert, e.g. a user gone from auth.users, undoes them all), so no
# BEGIN/COMMIT is needed. The app role is granted once (user_roles has no unique
# constraint). The audit columns are audit.py's.
CREATE_ORGANISATION_SQL = f"""
with organisation as (
    insert into public.organisations (name, industry, website, description, billing_email)
    values (%(name)s, %(industry)s, %(website)s, %(description)s, %(billing_email)s)
    returning {ORGANISATION_COLUMNS}
), membership as (
    insert into public.org_users (organisation_id, user_id, role)
    select id, %(user_id)s::uuid, 'admin' from organisation
), app_role as (
    insert into public.user_roles (user_id, role)
    select %(user_id)s::uuid, 'org_admin'::public.app_role
    where not exists (select 1 from public.user_roles
                      where user_id = %(user_id)s::uuid and role = 'org_admin'::public.app_role)
), audit_entry as (
    insert into public.audit_log (user_id, organisation_id, action, entity_type, entity_id, new_values, ip_address)
    select %(user_id)s::uuid, id, 'organisation.created', 'organisation', id, %(new_values)s::jsonb,
           %(ip_address)s::text
      from organisation
)
select {ORGANISATION_COLUMNS} from organisation
"""


async def create_organisation(conn: Conn, values: dict[str, Any], user_id: Id, ip_address: str | None) -> Row:
    """Create the organisation with the caller as its admin (see CREATE_ORGANISATION_SQL).
    `conn` must be in autocommit mode or inside the caller's transaction."""
    params = {**values, "user_id": user_id, "new_values": jsonb(values), "ip_address": ip_address}
    return await fetch_row(conn, CREATE_ORGANISATION_SQL, params)
