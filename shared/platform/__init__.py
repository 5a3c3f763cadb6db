"""What every feature uses: the HTTP edge (`@api`, errors, the OpenAPI document
and the API page), auth and membership, settings, logs, rate limits, the
database pool, migrations and the embedded PostgreSQL, the audit log, and the
composition root (wiring.py: only blueprints and the local host use it)."""
