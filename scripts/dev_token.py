"""Print a bearer token for local development: `make token [USER_ID=<uuid>]`.

Creates the user in the local database's auth.users (as Supabase Auth would)
and signs an HS256 access token with the development JWT secret.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid


async def main(user_id: uuid.UUID) -> str:
    import jwt

    from shared.platform.config import get_settings
    from shared.platform.wiring import Services

    settings = get_settings()
    if settings.is_production:
        raise SystemExit("refusing to mint tokens in production")
    services = Services(settings)
    try:
        await services.db.execute(
            "insert into auth.users (id, email) values (%s, %s) on conflict do nothing",
            (user_id, f"dev-{user_id.hex[:8]}@talenti.local"),
        )
    finally:
        await services.close()
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "aud": "authenticated",
        "role": "authenticated",
        "iss": settings.jwt_issuer,
        "iat": now,
        "exp": now + 12 * 3600,
    }
    return jwt.encode(claims, settings.SUPABASE_JWT_SECRET, algorithm="HS256")


if __name__ == "__main__":
    from devhost.__main__ import load_local_settings

    load_local_settings()
    user = uuid.UUID(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else uuid.uuid4()
    print(asyncio.run(main(user)))
