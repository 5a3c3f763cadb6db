"""The peer for bench_peer: a plain FastAPI app on uvicorn, built the way the
migration checklist's guide builds one (app/main.py, a JWT dependency, a
pydantic body model, a psycopg pool), serving the same two requests as the
function app:

- GET /api/health: one `select 1` on the pool;
- POST /api/organisations: the same HS256 Supabase token check (signature,
  exp with leeway, aud, iss, sub a UUID), a body model with the same limits,
  the same rate-limit statement (user and client-address keys, imported from
  the app), then the creation.

The creation comes in two forms (`--creation`):
- `transaction` (the plain peer, the default): what the former edge function
  did and a plain app writes, one transaction of four inserts: BEGIN, the
  organisation, the creator's org_users row, the org_admin app role (once),
  the audit entry, COMMIT. Same tables, same values, same result as the app.
- `one-statement`: the app's own single statement (imported from the app),
  so the two differ only in framework and host.

Development only: never deployed. Run: python -m benchmarks.peer_app --port N
[--creation transaction|one-statement] (settings from DATABASE_URL,
SUPABASE_JWT_SECRET, SUPABASE_JWT_ISSUER).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import uuid
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

import jwt
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from shared.organisations.queries import CREATE_ORGANISATION_SQL
from shared.platform.rate_limit import _CHECK_SQL as RATE_LIMIT_SQL

ORGANISATIONS_LIMIT = (1_000_000, 60)  # as the benchmark configures the app: counted, never hit
CREATIONS = ("transaction", "one-statement")

# The plain peer's creation: four statements in one transaction, in the order
# the former edge function ran them; the audit columns and values are the app's.
TRANSACTION_SQL = (
    """insert into public.organisations (name, industry, website, description, billing_email)
       values (%(name)s, %(industry)s, %(website)s, %(description)s, %(billing_email)s)
       returning id, name, industry, website, description, billing_email, created_at, updated_at""",
    "insert into public.org_users (organisation_id, user_id, role) values (%(org)s, %(user_id)s, 'admin')",
    """insert into public.user_roles (user_id, role) select %(user_id)s, 'org_admin'::public.app_role
       where not exists (select 1 from public.user_roles
                         where user_id = %(user_id)s and role = 'org_admin'::public.app_role)""",
    """insert into public.audit_log (user_id, organisation_id, action, entity_type, entity_id, new_values, ip_address)
       values (%(user_id)s, %(org)s, 'organisation.created', 'organisation', %(org)s, %(new_values)s::jsonb,
               %(ip_address)s)""",
)

_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def _email(value: str | None) -> str | None:
    if value is not None and not _EMAIL.match(value):
        raise ValueError("must be a valid email address")
    return value


def _http_url(value: str | None) -> str | None:
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL")
    return value


class CreateOrganisation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    industry: Annotated[str | None, StringConstraints(max_length=200)] = None
    website: Annotated[str | None, StringConstraints(max_length=2048), AfterValidator(_http_url)] = None
    description: Annotated[str | None, StringConstraints(max_length=5000)] = None
    billing_email: Annotated[str | None, AfterValidator(_email)] = None


class Organisation(BaseModel):
    id: uuid.UUID
    name: str
    industry: str | None
    website: str | None
    description: str | None
    billing_email: str | None
    created_at: datetime
    updated_at: datetime


class OrganisationResponse(BaseModel):
    organisation: Organisation


async def create_in_transaction(conn, params: dict) -> dict:
    """BEGIN, the four inserts, COMMIT: six round trips."""
    async with conn.transaction():
        organisation = await (await conn.execute(TRANSACTION_SQL[0], params)).fetchone()
        params = {**params, "org": organisation["id"]}
        for statement in TRANSACTION_SQL[1:]:
            await conn.execute(statement, params)
    return organisation


async def create_in_one_statement(conn, params: dict) -> dict:
    return await (await conn.execute(CREATE_ORGANISATION_SQL, params)).fetchone()


def create_app(
    database_url: str, jwt_secret: str, issuer: str, pool_max: int = 10, creation: str = "transaction"
) -> FastAPI:
    if creation not in CREATIONS:
        raise ValueError(f"creation must be one of {CREATIONS}")
    create = create_in_transaction if creation == "transaction" else create_in_one_statement
    state: dict = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        pool = AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=pool_max,
            open=False,
            timeout=15,
            kwargs={"prepare_threshold": None, "row_factory": dict_row, "autocommit": True},
        )
        await pool.open(wait=True)
        state["pool"] = pool
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    bearer = HTTPBearer(auto_error=False)

    def current_user(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> uuid.UUID:
        if credentials is None:
            raise HTTPException(401, "Missing bearer token")
        try:
            claims = jwt.decode(
                credentials.credentials,
                jwt_secret,
                algorithms=["HS256"],
                audience="authenticated",
                issuer=issuer,
                leeway=30,
                options={"require": ["exp", "sub", "aud"]},
            )
            return uuid.UUID(claims["sub"])
        except (jwt.PyJWTError, ValueError):
            raise HTTPException(401, "Invalid token") from None

    @app.get("/api/health")
    async def health():
        async with state["pool"].connection() as conn:
            await (await conn.execute("select 1 as ok")).fetchone()
        return {"status": "ok", "version": "peer", "database": "ok"}

    @app.post("/api/organisations", response_model=OrganisationResponse)
    async def organisations(body: CreateOrganisation, request: Request, user_id: uuid.UUID = Depends(current_user)):
        count, seconds = ORGANISATIONS_LIMIT
        ip = request.client.host if request.client else "unknown"
        keys = [f"organisations|user:{user_id}", f"organisations|ip:{ip}"]
        values = body.model_dump()
        async with state["pool"].connection() as conn:
            rows = await (await conn.execute(RATE_LIMIT_SQL, {"keys": keys, "seconds": seconds})).fetchall()
            if any(row["count"] > count for row in rows):
                return JSONResponse({"error": "Rate limit exceeded"}, 429)
            row = await create(
                conn, {**values, "user_id": user_id, "ip_address": ip, "new_values": json.dumps(values, default=str)}
            )
        return {"organisation": row}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=7072)
    parser.add_argument("--creation", choices=CREATIONS, default="transaction")
    args = parser.parse_args()
    app = create_app(
        os.environ["DATABASE_URL"],
        os.environ["SUPABASE_JWT_SECRET"],
        os.environ["SUPABASE_JWT_ISSUER"],
        int(os.environ.get("DB_POOL_MAX", "10")),
        args.creation,
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
