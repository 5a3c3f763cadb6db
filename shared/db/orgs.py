"""Organisations and membership queries."""

from __future__ import annotations

from shared.db import fetch_one

ORGANISATION_COLUMNS = "id, name, industry, website, description, billing_email, created_at, updated_at"


async def member_role(conn, organisation_id, user_id) -> str | None:
    """The user's org_users role in the organisation, or None if not a member."""
    row = await fetch_one(
        conn, "select role from public.org_users where organisation_id = %s and user_id = %s",
        (organisation_id, user_id),
    )
    return row["role"] if row else None


async def insert_organisation(conn, values: dict) -> dict:
    return await fetch_one(
        conn,
        f"""insert into public.organisations (name, industry, website, description, billing_email)
            values (%(name)s, %(industry)s, %(website)s, %(description)s, %(billing_email)s)
            returning {ORGANISATION_COLUMNS}""",
        values,
    )


async def add_member(conn, organisation_id, user_id, role: str) -> None:
    await conn.execute(
        "insert into public.org_users (organisation_id, user_id, role) values (%s, %s, %s)",
        (organisation_id, user_id, role),
    )


async def grant_app_role(conn, user_id, role: str) -> None:
    """Give the user an app role once (user_roles has no unique constraint)."""
    await conn.execute(
        """insert into public.user_roles (user_id, role)
           select %(user)s, %(role)s::public.app_role
           where not exists (select 1 from public.user_roles where user_id = %(user)s and role = %(role)s::public.app_role)""",
        {"user": user_id, "role": role},
    )
